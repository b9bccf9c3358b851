import pickle

import numpy as np
import torch

from retrieval.encoders.log_mel import LogMelTransform, MelConfig


def test_log_mel_shape_and_finite() -> None:
    config = MelConfig()
    transform = pickle.loads(pickle.dumps(LogMelTransform(config)))
    rng = np.random.default_rng(0)
    for n in (800, 16_000, 32_000, 50_000):
        feats = transform(rng.standard_normal(n).astype(np.float32))
        assert feats.shape == (config.n_mels, config.n_frames)
        assert feats.dtype == torch.float32
        assert torch.isfinite(feats).all()


def test_log_mel_is_gain_invariant() -> None:
    wave = np.random.default_rng(1).standard_normal(12_000).astype(np.float32)
    transform = LogMelTransform()
    torch.testing.assert_close(transform(wave), transform(0.1 * wave), atol=1e-3, rtol=1e-3)

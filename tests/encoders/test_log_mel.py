import pickle
from pathlib import Path

import numpy as np
import torch

from retrieval.encoders.log_mel import LogMelTransform, MelConfig, log_mel, place_in_window
from retrieval.media.audio import load_audio
from retrieval.train.log_mel import LogMel


def test_log_mel_shape_and_finite() -> None:
    config = MelConfig()
    transform = pickle.loads(pickle.dumps(LogMelTransform(config)))
    rng = np.random.default_rng(0)
    for n in (800, 16_000, 32_000, 50_000):
        feats = transform(rng.standard_normal(n).astype(np.float32))
        assert feats.shape == (config.n_mels, config.n_frames)
        assert feats.dtype == np.float32
        assert np.isfinite(feats).all()


def test_log_mel_is_gain_invariant() -> None:
    wave = np.random.default_rng(1).standard_normal(12_000).astype(np.float32)
    transform = LogMelTransform()
    np.testing.assert_allclose(transform(wave), transform(0.1 * wave), atol=1e-3, rtol=1e-3)


def test_numpy_features_equal_the_training_features_on_real_recordings(fsdd_dir: Path) -> None:
    """Inference (numpy) and training (torch, batched) compute the same log-mels, padding spans included."""
    config = MelConfig()
    placed = [
        place_in_window(load_audio(path, config.sample_rate), config.window_samples)
        for path in sorted(fsdd_dir.glob("*.wav"))[:12]
    ]
    waves = np.stack([wave for wave, _, _ in placed])
    spans = np.array([[start, end] for _, start, end in placed])
    assert (spans[:, 0] > 0).any(), "some recordings must be shorter than the window, so padding is tested"
    expected = LogMel(config)(torch.from_numpy(waves), torch.from_numpy(spans)).numpy()
    np.testing.assert_allclose(log_mel(waves, spans, config), expected, atol=2e-4, rtol=0)

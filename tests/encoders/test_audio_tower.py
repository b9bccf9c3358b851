"""The shipped audio tower: normalised vectors, and a held-out speaker's digit recognised zero-shot."""

from pathlib import Path

import numpy as np
import torch

from retrieval.encoders.audio import load_audio_tower
from retrieval.encoders.audio_config import TowerConfig, audio_tower_config, has_shipped_audio_tower
from retrieval.encoders.minilm import encode_minilm
from retrieval.media.audio import load_audio
from retrieval.query.prompts import AUDIO_TEMPLATES
from retrieval.query.zeroshot import build_classifier

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def test_shipped_tower_outputs_normalised_vectors() -> None:
    assert has_shipped_audio_tower()
    tower = load_audio_tower()
    mels = torch.randn(3, tower.config.mel.n_mels, tower.config.mel.n_frames)
    with torch.inference_mode():
        out = tower(mels)
    assert out.shape == (3, 384)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))


def test_shipped_config_with_removed_settings_still_loads() -> None:
    """The shipped config.json still records `per_mel_mean: false`, a setting since removed."""
    config = audio_tower_config()
    assert config == TowerConfig()


def test_heldout_speaker_says_seven(data_dir: Path) -> None:
    tower = load_audio_tower()
    transform = tower.transform()
    recordings = data_dir / "fsdd" / "recordings"
    feats = torch.from_numpy(
        np.stack([transform(load_audio(recordings / f"7_yweweler_{i}.wav")) for i in range(0, 50, 10)])
    )
    with torch.inference_mode():
        vectors = tower(feats).numpy()
    classifier = build_classifier(encode_minilm, DIGIT_WORDS, AUDIO_TEMPLATES)
    predictions = np.argmax(vectors @ classifier.T, axis=1)
    assert (predictions == 7).sum() >= 4

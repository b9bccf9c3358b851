from pathlib import Path

import pytest
import torch

from retrieval.media.audio import load_audio
from recipes.audio.evaluate import embed_waves, zero_shot_classifier
from recipes.audio.prompts import DIGIT_WORDS
from retrieval.encoders.audio import has_shipped_audio_tower, load_audio_tower

pytestmark = pytest.mark.skipif(not has_shipped_audio_tower(), reason="no shipped audio weights")


def test_shipped_tower_outputs_normalised_vectors() -> None:
    tower = load_audio_tower()
    mels = torch.randn(3, tower.config.mel.n_mels, tower.config.mel.n_frames)
    with torch.inference_mode():
        out = tower(mels)
    assert out.shape == (3, 384)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))


def test_heldout_speaker_says_seven(fsdd_dir: Path) -> None:
    tower = load_audio_tower()
    waves = [load_audio(fsdd_dir / f"7_yweweler_{i}.wav") for i in range(0, 50, 10)]
    predictions = (embed_waves(tower, waves) @ zero_shot_classifier(DIGIT_WORDS).T).argmax(axis=1)
    assert (predictions == 7).sum() >= 4

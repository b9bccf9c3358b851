"""Validation metrics of the audio tower: zero-shot digit accuracy and text->audio recall@1.

python -m recipes.audio.evaluate --data ../shared/data [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from recipes.args import default_data_dir
from recipes.audio.data import FSDD_HOLDOUT_SPEAKER, Clip, asterisk_clips, fsdd_clips
from recipes.audio.prompts import DIGIT_WORDS
from retrieval.encoders.audio import AudioTower, load_audio_tower
from retrieval.encoders.base import normalize
from retrieval.encoders.minilm import encode_minilm
from retrieval.media.audio import load_audio
from retrieval.query.prompts import AUDIO_TEMPLATES
from retrieval.query.zeroshot import build_classifier

log = logging.getLogger(__name__)


def embed_waves(tower: AudioTower, waves: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Full-window inference path (centred, padded log-mels) -> (N, dim) normalised vectors."""
    transform = tower.transform()
    was_training = tower.training
    tower.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(waves), batch_size):
            feats = torch.from_numpy(np.stack([transform(w) for w in waves[i : i + batch_size]]))
            out.append(tower(feats).numpy())
    tower.train(was_training)
    return normalize(np.concatenate(out)) if out else np.zeros((0, tower.config.dim), np.float32)


def digit_classifier() -> np.ndarray:
    """(10, 384) zero-shot classifier of the digit words in the raw MiniLM space the tower is trained into."""
    return build_classifier(encode_minilm, DIGIT_WORDS, AUDIO_TEMPLATES)


def digit_accuracy(audio_vectors: np.ndarray, digits: Sequence[int]) -> float:
    """Share of clips whose argmax cosine over the zero-shot digit classifier is their digit."""
    predictions = (audio_vectors @ digit_classifier().T).argmax(axis=1)
    return float((predictions == np.asarray(digits)).mean())


def text_to_audio_recall_at_1(text_vectors: np.ndarray, audio_vectors: np.ndarray, keys: Sequence[str]) -> float:
    """Share of queries whose top audio hit has the query's key (same words); query i belongs to clip i."""
    top = (text_vectors @ audio_vectors.T).argmax(axis=1)
    keys_arr = np.asarray(keys)
    return float((keys_arr[top] == keys_arr).mean())


def heldout_metrics(
    tower: AudioTower,
    fsdd: Sequence[Clip],
    fsdd_waves: Sequence[np.ndarray],
    asterisk: Sequence[Clip],
    asterisk_waves: Sequence[np.ndarray],
    asterisk_text: np.ndarray,
    speaker: str,
) -> dict[str, float]:
    """Zero-shot digit accuracy on the held-out FSDD `speaker` and text->audio R@1 on the held-out Asterisk
    prompts (`asterisk_text`: the MiniLM vectors of their transcripts)."""
    fsdd_vec = embed_waves(tower, fsdd_waves)
    asterisk_vec = embed_waves(tower, asterisk_waves)
    return {
        f"fsdd_{speaker}_zero_shot_acc": digit_accuracy(fsdd_vec, [DIGIT_WORDS.index(c.key) for c in fsdd]),
        "asterisk_heldout_t2a_r1": text_to_audio_recall_at_1(asterisk_text, asterisk_vec, [c.key for c in asterisk]),
    }


def evaluate_tower(tower: AudioTower, data_root: Path, speaker: str = FSDD_HOLDOUT_SPEAKER) -> dict[str, float]:
    """Both validation metrics of `tower` on the held-out clips under `data_root`."""
    fsdd = [c for c in fsdd_clips(data_root, speaker) if c.split == "val"]
    asterisk = [c for c in asterisk_clips(data_root) if c.split == "val"]
    sr = tower.config.mel.sample_rate
    fsdd_waves = [load_audio(c.path, sr) for c in fsdd]
    asterisk_waves = [load_audio(c.path, sr) for c in asterisk]
    text = encode_minilm([c.captions[0] for c in asterisk])
    return heldout_metrics(tower, fsdd, fsdd_waves, asterisk, asterisk_waves, text, speaker)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipes.audio.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="shared data folder")
    parser.add_argument("--model", type=Path, default=None, help="weights folder (default: shipped)")
    parser.add_argument("--holdout-speaker", default=FSDD_HOLDOUT_SPEAKER, help="FSDD speaker never trained on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info(json.dumps(evaluate_tower(load_audio_tower(args.model), args.data, args.holdout_speaker)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

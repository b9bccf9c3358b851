"""Validation metrics for the audio tower: zero-shot digit accuracy and text->audio recall@1."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from retrieval.media.audio import load_audio
from recipes.audio.prompts import DIGIT_WORDS
from retrieval.query.prompts import AUDIO_TEMPLATES
from retrieval.encoders.audio import AudioTower, load_audio_tower
from retrieval.encoders.base import normalize
from retrieval.encoders.minilm import encode_minilm

log = logging.getLogger(__name__)


def embed_waves(tower: AudioTower, waves: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Full-window inference path (centred, padded log-mels) -> (N, dim) normalised vectors."""
    transform = tower.transform()
    was_training = tower.training
    tower.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(waves), batch_size):
            feats = torch.stack([transform(w) for w in waves[i : i + batch_size]])
            out.append(tower(feats).numpy())
    tower.train(was_training)
    return normalize(np.concatenate(out)) if out else np.zeros((0, tower.config.dim), np.float32)


def zero_shot_classifier(labels: Sequence[str], templates: Sequence[str] = AUDIO_TEMPLATES) -> np.ndarray:
    """(len(labels), 384): per label, the renormalised mean of MiniLM(template.format(label))."""
    texts = [t.format(label) for label in labels for t in templates]
    vectors = encode_minilm(texts).reshape(len(labels), len(templates), -1).mean(axis=1)
    return normalize(vectors)


def digit_accuracy(audio_vectors: np.ndarray, digits: Sequence[int]) -> float:
    """Share of clips whose argmax cosine over the zero-shot digit classifier is their digit."""
    predictions = (audio_vectors @ zero_shot_classifier(DIGIT_WORDS).T).argmax(axis=1)
    return float((predictions == np.asarray(digits)).mean())


def text_to_audio_recall_at_1(text_vectors: np.ndarray, audio_vectors: np.ndarray, keys: Sequence[str]) -> float:
    """Share of queries whose top audio hit has the query's key (same words); query i belongs to clip i."""
    top = (text_vectors @ audio_vectors.T).argmax(axis=1)
    keys_arr = np.asarray(keys)
    return float((keys_arr[top] == keys_arr).mean())


def evaluate_tower(tower: AudioTower, data_root: Path) -> dict[str, float]:
    """Both validation metrics of `tower` on the held-out clips under `data_root`."""
    from recipes.audio.data import asterisk_clips, fsdd_clips

    fsdd = [c for c in fsdd_clips(data_root) if c.split == "val"]
    asterisk = [c for c in asterisk_clips(data_root) if c.split == "val"]
    sr = tower.config.mel.sample_rate
    fsdd_vec = embed_waves(tower, [load_audio(c.path, sr) for c in fsdd])
    asterisk_vec = embed_waves(tower, [load_audio(c.path, sr) for c in asterisk])
    text_vec = encode_minilm([c.captions[0] for c in asterisk])
    return {
        "fsdd_yweweler_zero_shot_acc": digit_accuracy(fsdd_vec, [DIGIT_WORDS.index(c.key) for c in fsdd]),
        "asterisk_heldout_t2a_r1": text_to_audio_recall_at_1(text_vec, asterisk_vec, [c.key for c in asterisk]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Validation metrics of an audio tower.")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", type=Path, default=None, help="weights folder (default: shipped)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info(json.dumps(evaluate_tower(load_audio_tower(args.model), args.data)))


if __name__ == "__main__":
    main()

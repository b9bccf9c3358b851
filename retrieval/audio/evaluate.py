"""Validation metrics for the audio tower: zero-shot digit accuracy and text->audio recall@1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from retrieval.audio.prompts import AUDIO_TEMPLATES, DIGIT_WORDS
from retrieval.audio.tower import AudioTower
from retrieval.encoders.base import normalize
from retrieval.encoders.minilm import encode_minilm


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

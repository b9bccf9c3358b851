"""Zero-shot classification: labels x prompt templates -> classifier matrix -> probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.errors import MmsearchError
from retrieval.prompts import IMAGE_TEMPLATES, fill_templates
from retrieval.types import ClassScore, Vectors

if TYPE_CHECKING:
    from retrieval.encoders.base import Encoder


def build_classifier(encoder: "Encoder", labels: Sequence[str], templates: Sequence[str] | None = None) -> Vectors:
    """(C, dim) normalised class vectors: the mean text vector of each cleaned label over the templates."""
    templates = list(templates) if templates else list(IMAGE_TEMPLATES)
    bad = [t for t in templates if "{}" not in t]
    if bad:
        raise MmsearchError(f"prompt template(s) without a '{{}}' placeholder: {bad}")
    if not labels:
        raise MmsearchError("zero-shot classification needs at least one label")
    texts = [text for label in labels for text in fill_templates(label, templates)]
    vectors = encoder.encode_texts(texts).reshape(len(labels), len(templates), -1)
    return normalize(vectors.mean(axis=1))


def probabilities(vectors: np.ndarray, classifier: np.ndarray, logit_scale: float) -> np.ndarray:
    """(N, C) softmax of logit_scale * cosine similarity."""
    logits = logit_scale * (np.asarray(vectors, dtype=np.float64) @ np.asarray(classifier, dtype=np.float64).T)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def classify(
    vectors: np.ndarray,
    classifier: np.ndarray,
    logit_scale: float,
    top_k: int = 5,
    labels: Sequence[str] | None = None,
) -> list[list[ClassScore]]:
    """For each vector, its `top_k` classes by probability (labels default to class indices)."""
    names = list(labels) if labels is not None else [str(i) for i in range(len(classifier))]
    if len(names) != len(classifier):
        raise MmsearchError(f"{len(names)} labels for a classifier of {len(classifier)} classes")
    cosine = np.asarray(vectors) @ np.asarray(classifier).T
    probs = probabilities(vectors, classifier, logit_scale)
    k = max(1, min(top_k, len(names)))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [
        [ClassScore(names[c], float(probs[n, c]), float(cosine[n, c])) for c in row]
        for n, row in enumerate(order)
    ]

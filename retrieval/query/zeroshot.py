"""Zero-shot classification of any modality: labels x prompt templates -> classifier -> probabilities.

`classify_inputs` takes files, folders, PIL images or arrays; the pieces under it work on vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.errors import MmsearchError
from retrieval.media.scan import resolve_roots, scan
from retrieval.query.embed import display_name, embed_inputs, input_modality
from retrieval.query.prompts import AUDIO_TEMPLATES, IMAGE_TEMPLATES, fill_templates
from retrieval.types import ClassScore, Modality, Vectors

if TYPE_CHECKING:
    from retrieval.encoders.base import Encoder


TextEncoder = Callable[[list[str]], np.ndarray]
"""texts -> (N, dim) text vectors: `Encoder.encode_texts`, or raw MiniLM while a model is trained."""


def build_classifier(
    encode_texts: TextEncoder, labels: Sequence[str], templates: Sequence[str] | None = None
) -> Vectors:
    """(C, dim) normalised class vectors: the mean text vector of each cleaned label over the templates."""
    templates = list(templates) if templates else list(IMAGE_TEMPLATES)
    bad = [t for t in templates if "{}" not in t]
    if bad:
        raise MmsearchError(f"prompt template(s) without a '{{}}' placeholder: {bad}")
    if not labels:
        raise MmsearchError("zero-shot classification needs at least one label")
    texts = [text for label in labels for text in fill_templates(label, templates)]
    vectors = encode_texts(texts).reshape(len(labels), len(templates), -1)
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
    return [[ClassScore(names[c], float(probs[n, c]), float(cosine[n, c])) for c in row] for n, row in enumerate(order)]


@dataclass(frozen=True)
class Classification:
    """Top labels of one input; `label` is None when the best probability is under the threshold."""

    source: str
    modality: Modality
    label: str | None
    scores: list[ClassScore] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "modality": self.modality,
            "label": self.label,
            "scores": [
                {"label": s.label, "probability": round(s.probability, 6), "score": round(s.score, 6)}
                for s in self.scores
            ],
        }


def default_templates(modality: Modality) -> list[str]:
    """The prompt ensemble for a modality."""
    return list(AUDIO_TEMPLATES if modality == "audio" else IMAGE_TEMPLATES)


def expand_inputs(items: Sequence[object], encoder: "Encoder") -> list[object]:
    """Folders become the supported files under them; other inputs pass through."""
    modalities = encoder.media_modalities()
    out: list[object] = []
    for item in items:
        if isinstance(item, (str, Path)):
            root = resolve_roots([item])[0]
            if root.is_dir():
                out.extend(Path(f.path) for f in scan([root], modalities))
            else:
                out.append(root)
        else:
            out.append(item)
    if not out:
        raise MmsearchError("nothing to classify: no supported files found")
    return out


def classify_inputs(
    encoder: "Encoder",
    items: Sequence[object],
    labels: Sequence[str],
    templates: Sequence[str] | None = None,
    top_k: int = 5,
    threshold: float | None = None,
) -> list[Classification]:
    """Classify each input among `labels` with per-modality prompt ensembles (or `templates`)."""
    labels = [label.strip() for label in labels if label.strip()]
    if len(labels) < 2:
        raise MmsearchError("give at least two labels")
    inputs = expand_inputs(items, encoder)
    modalities = [input_modality(item) for item in inputs]
    results: list[Classification | None] = [None] * len(inputs)
    for modality in sorted(set(modalities)):
        if not encoder.supports(modality):
            raise MmsearchError(f"model {encoder.model_id!r} cannot classify {modality}")
        chosen = [n for n, m in enumerate(modalities) if m == modality]
        classifier = build_classifier(encoder.encode_texts, labels, templates or default_templates(modality))
        vectors = embed_inputs(encoder, [inputs[n] for n in chosen])
        ranked = classify(vectors, classifier, encoder.logit_scale, top_k, labels)
        for n, scores in zip(chosen, ranked):
            best = scores[0]
            label = best.label if threshold is None or best.probability >= threshold else None
            results[n] = Classification(display_name(inputs[n]), modality, label, scores)
    return [r for r in results if r is not None]

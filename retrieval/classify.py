"""Zero-shot classification of image and audio files, folders, PIL images or arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.encoders.base import Encoder
from retrieval.embed import display_name, embed_inputs, input_modality
from retrieval.errors import MmsearchError
from retrieval.scan import resolve_roots, scan
from retrieval.types import ClassScore, Modality
from retrieval.zeroshot import build_classifier, classify


@dataclass(frozen=True)
class Classification:
    """Top labels of one input; `label` is None when the best probability is under the threshold."""

    source: str
    modality: Modality
    label: str | None
    scores: list[ClassScore] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"source": self.source, "modality": self.modality, "label": self.label,
                "scores": [{"label": s.label, "probability": round(s.probability, 6), "score": round(s.score, 6)}
                           for s in self.scores]}


def default_templates(modality: Modality) -> list[str]:
    """The prompt ensemble for a modality."""
    if modality == "audio":
        from retrieval.audio.prompts import AUDIO_TEMPLATES

        return list(AUDIO_TEMPLATES)
    from retrieval.prompts import IMAGE_TEMPLATES

    return list(IMAGE_TEMPLATES)


def expand_inputs(items: Sequence[object], encoder: Encoder) -> list[object]:
    """Folders become the supported files under them; other inputs pass through."""
    modalities = frozenset(m for m in ("image", "audio") if encoder.supports(m))
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
    encoder: Encoder,
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
        classifier = build_classifier(encoder, labels, templates or default_templates(modality))
        vectors = embed_inputs(encoder, [inputs[n] for n in chosen])
        ranked = classify(vectors, classifier, encoder.logit_scale, top_k, labels)
        for n, scores in zip(chosen, ranked):
            best = scores[0]
            label = best.label if threshold is None or best.probability >= threshold else None
            results[n] = Classification(display_name(inputs[n]), modality, label, scores)
    return [r for r in results if r is not None]

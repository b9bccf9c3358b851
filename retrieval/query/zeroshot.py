"""Zero-shot classification of any modality: labels x prompt templates -> classifier -> probabilities.

`classify_inputs` takes files, folders, PIL images or arrays; the pieces under it work on vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.encoders.language import ENGLISH, check_lang, detect_language, uses_minilm
from retrieval.encoders.phrase_memory import is_short
from retrieval.errors import MmsearchError
from retrieval.media.scan import resolve_roots, scan
from retrieval.query.embed import display_name, embed_inputs, embed_video_shots, input_modality
from retrieval.query.prompts import AUDIO_TEMPLATES, IMAGE_TEMPLATES, clean_label, fill_templates
from retrieval.speech.evidence import speech_evidence
from retrieval.types import ClassScore, Modality, Vectors

if TYPE_CHECKING:
    from retrieval.encoders.base import Encoder


BARE = ("{}",)
"""The label alone, as its only prompt."""

TextEncoder = Callable[[list[str]], np.ndarray]
"""texts -> (N, dim) text vectors: `Encoder.encode_texts`, or raw MiniLM while a model is trained."""


class LanguageTextEncoder(Protocol):
    """texts, their language -> (N, dim) text vectors (`Encoder.encode_texts_in`)."""

    def __call__(self, texts: list[str], lang: str | None) -> np.ndarray: ...


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


def label_classifier(
    encoder: "Encoder",
    labels: Sequence[str],
    templates: Sequence[str] | None = None,
    lang: str | None = None,
    modality: Modality = "image",
) -> Vectors:
    """`build_classifier` with each label's prompts read in the label's own language (see `language_classifier`)."""
    return language_classifier(encoder.encode_texts_in, encoder.dim, labels, templates, lang, modality)


def language_classifier(
    encode_in: "LanguageTextEncoder",
    dim: int,
    labels: Sequence[str],
    templates: Sequence[str] | None = None,
    lang: str | None = None,
    modality: Modality = "image",
) -> Vectors:
    """(C, dim) class vectors, each label's prompts encoded in the label's language (`encode_in(texts, lang)`):
    detected from the label alone, so "猫" under "a photo of a {}." still goes to the multilingual tower, or
    `lang` for all. Without `templates`, the modality's English ensemble is used, except that a short label in
    another language is read bare: wrapped in English it becomes a sentence the multilingual tower maps worse
    than the word itself, which the phrase memory carries across (measured in benchmarks/multilingual.py)."""
    code = check_lang(lang)
    codes = [code or detect_language(clean_label(label)) for label in labels]
    ensemble = list(templates) if templates else default_templates(modality)

    def prompts(n: int) -> tuple[str, ...]:
        bare = not templates and not uses_minilm(codes[n]) and is_short(clean_label(labels[n]))
        return BARE if bare else tuple(ensemble)

    groups = [(codes[n], prompts(n)) for n in range(len(labels))]
    classifier = np.zeros((len(labels), dim), dtype=np.float32)
    for group in sorted(set(groups), key=str):
        chosen = [n for n, g in enumerate(groups) if g == group]
        encode = partial(encode_in, lang=group[0] or ENGLISH)
        classifier[chosen] = build_classifier(encode, [labels[n] for n in chosen], group[1])
    return classifier


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
    evidence: np.ndarray | None = None,
) -> list[list[ClassScore]]:
    """For each vector, its `top_k` classes by probability (labels default to class indices); `evidence`,
    (C,) probabilities from another source (a clip's transcript), multiplies them (a product of experts)."""
    names = list(labels) if labels is not None else [str(i) for i in range(len(classifier))]
    if len(names) != len(classifier):
        raise MmsearchError(f"{len(names)} labels for a classifier of {len(classifier)} classes")
    cosine = np.asarray(vectors) @ np.asarray(classifier).T
    probs = probabilities(vectors, classifier, logit_scale)
    if evidence is not None:
        probs = probs * evidence
        probs /= probs.sum(axis=1, keepdims=True)
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
    start_s: float | None = None
    """A video shot's span (classified per shot unless the whole clip was asked for)."""
    end_s: float | None = None

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
            **({"start_s": self.start_s, "end_s": self.end_s} if self.start_s is not None else {}),
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
    lang: str | None = None,
    whole: bool = False,
) -> list[Classification]:
    """Classify each input among `labels` (in any language, see `label_classifier`) with per-modality prompt
    ensembles (or `templates`); a video gives one result per shot, in time order, or one for the clip (`whole`)."""
    labels = [label.strip() for label in labels if label.strip()]
    if len(labels) < 2:
        raise MmsearchError("give at least two labels")
    inputs = expand_inputs(items, encoder)
    modalities = [input_modality(item) for item in inputs]
    results: list[list[Classification]] = [[] for _ in inputs]
    for modality in sorted(set(modalities)):
        if not encoder.supports(modality):
            raise MmsearchError(f"model {encoder.model_id!r} cannot classify {modality}")
        chosen = [n for n, m in enumerate(modalities) if m == modality]
        classifier = label_classifier(encoder, labels, templates, lang, modality)
        heard = speech_evidence(encoder, {n: inputs[n] for n in chosen}, labels) if modality == "audio" else {}
        groups: list[tuple[int, Sequence[tuple[float | None, float | None]], Vectors]]
        if modality == "video" and not whole:
            groups = [(n, *embed_video_shots(encoder, Path(str(inputs[n])))) for n in chosen]
        else:
            vectors = embed_inputs(encoder, [inputs[n] for n in chosen])
            groups = [(n, [(None, None)], vectors[m : m + 1]) for m, n in enumerate(chosen)]
        for n, spans, group_vectors in groups:
            ranked = classify(group_vectors, classifier, encoder.logit_scale, top_k, labels, heard.get(n))
            for (start, end), scores in zip(spans, ranked):
                best = scores[0]
                label = best.label if threshold is None or best.probability >= threshold else None
                results[n].append(Classification(display_name(inputs[n]), modality, label, scores, start, end))
    return [r for per_input in results for r in per_input]

"""Evaluation runs over CSV datasets: caption retrieval and zero-shot classification."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import MmsearchError
from retrieval.evaluation.metrics import image_to_text_recall, text_to_image_recall, topk_accuracy
from retrieval.media.text import read_rows
from retrieval.query.embed import embed_inputs, input_modality
from retrieval.query.prompts import EXCLUDED_LABELS
from retrieval.query.zeroshot import build_classifier, default_templates, probabilities
from retrieval.types import Vectors

if TYPE_CHECKING:
    from retrieval.encoders.base import Encoder

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)."""


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    rows = read_rows(path, columns)
    if not rows:
        raise MmsearchError(f"{path} has no rows")
    return rows


def encode_files(
    encoder: "Encoder", paths: Sequence[Path], batch_size: int = 32, progress: Progress | None = None
) -> Vectors:
    """Decode `paths` by extension (images, audio) and embed them with `encoder`, in batches, keeping order."""
    out: list[np.ndarray] = []
    for start in range(0, len(paths), batch_size):
        out.append(embed_inputs(encoder, list(paths[start : start + batch_size])))
        if progress:
            progress("encode", min(start + batch_size, len(paths)), len(paths))
    return np.concatenate(out) if out else np.zeros((0, encoder.dim), dtype=np.float32)


def eval_retrieval(captions_csv: Path, encoder: "Encoder", progress: Progress | None = None) -> dict[str, Any]:
    """Text->image and image->text recall@1/5/10 over an `image,caption` CSV."""
    rows = _read_rows(captions_csv, ("image", "caption"))
    names = sorted({row["image"] for row in rows})
    index = {name: i for i, name in enumerate(names)}
    image_vectors = encode_files(encoder, [captions_csv.parent / n for n in names], progress=progress)
    text_vectors = encoder.encode_texts([row["caption"] for row in rows])
    text_image = np.array([index[row["image"]] for row in rows])
    return {
        "model": encoder.model_id,
        "n_images": len(names),
        "n_texts": len(rows),
        "t2i": text_to_image_recall(text_vectors, image_vectors, text_image),
        "i2t": image_to_text_recall(text_vectors, image_vectors, text_image),
    }


def eval_zeroshot(
    labels_csv: Path,
    encoder: "Encoder",
    templates: list[str] | None = None,
    split: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Zero-shot top-1/top-5 accuracy over a `path,label` CSV; classes are its distinct labels.

    `split` keeps only rows whose `split` column equals it; BACKGROUND_Google rows are skipped.
    """
    rows = _read_rows(labels_csv, ("path", "label") + (("split",) if split else ()))
    rows = [r for r in rows if r["label"] not in EXCLUDED_LABELS and (split is None or r.get("split") == split)]
    if not rows:
        raise MmsearchError(f"{labels_csv} has no rows to classify" + (f" in split {split!r}" if split else ""))
    classes = sorted({r["label"] for r in rows})
    index = {label: i for i, label in enumerate(classes)}
    paths = [labels_csv.parent / r["path"] for r in rows]
    templates = templates or default_templates(input_modality(paths[0]))
    classifier = build_classifier(encoder.encode_texts, classes, templates)
    vectors = encode_files(encoder, paths, progress=progress)
    probs = probabilities(vectors, classifier, encoder.logit_scale)
    accuracy = topk_accuracy(probs, np.array([index[r["label"]] for r in rows]), ks=(1, 5))
    return {"model": encoder.model_id, "n": len(rows), "classes": len(classes), **accuracy}

"""Training pairs from a captions CSV (`image,caption`) or a labels CSV (`path,label`) plus templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import MmsearchError
from retrieval.media.text import read_rows
from retrieval.query.prompts import EXCLUDED_LABELS, TRAIN_TEMPLATES, fill_templates


@dataclass(frozen=True)
class PairSet:
    """Images, texts and which texts describe which images.

    `text_image[j]` is the image of text j for captions; for labels it is -1 and `text_group[j]`
    names the class. `image_group[i]` is the positive group of image i: an image and a text
    are a positive pair when their groups are equal.
    """

    images: list[Path]
    texts: list[str]
    image_group: np.ndarray
    text_group: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, image_index: Sequence[int] | np.ndarray) -> "PairSet":
        """The images at `image_index` and only the texts of their groups."""
        index = np.asarray(image_index, dtype=np.int64)
        groups = self.image_group[index]
        keep = np.flatnonzero(np.isin(self.text_group, groups))
        return PairSet(
            [self.images[i] for i in index],
            [self.texts[j] for j in keep],
            groups.copy(),
            self.text_group[keep].copy(),
        )

    def text_targets(self) -> list[list[int]]:
        """For each text, the indices of its positive images."""
        by_group: dict[int, list[int]] = {}
        for i, g in enumerate(self.image_group.tolist()):
            by_group.setdefault(g, []).append(i)
        return [by_group.get(g, []) for g in self.text_group.tolist()]


def _read_csv(path: Path, columns: tuple[str, str]) -> list[tuple[str, str]]:
    return [(row[columns[0]], row[columns[1]]) for row in read_rows(path, columns)]


def read_captions(captions_csv: Path) -> PairSet:
    """Pairs from an `image,caption` CSV (paths relative to its folder); images sorted by path."""
    rows = _read_csv(captions_csv, ("image", "caption"))
    if not rows:
        raise MmsearchError(f"{captions_csv} has no rows")
    names = sorted({image for image, _ in rows})
    index = {name: i for i, name in enumerate(names)}
    return PairSet(
        [captions_csv.parent / name for name in names],
        [caption for _, caption in rows],
        np.arange(len(names), dtype=np.int64),
        np.array([index[image] for image, _ in rows], dtype=np.int64),
    )


def read_labels(
    labels_csv: Path,
    split: str | None = None,
    templates: Sequence[str] = TRAIN_TEMPLATES,
    group_offset: int = 0,
) -> tuple[PairSet, list[str]]:
    """Pairs from a `path,label[,split]` CSV: each label becomes one text per template.

    Returns the pairs (groups = class index + `group_offset`) and the sorted class labels.
    """
    rows = [
        (row["path"], row["label"])
        for row in read_rows(labels_csv, ("path", "label"))
        if row["label"] not in EXCLUDED_LABELS and (split is None or row.get("split") == split)
    ]
    if not rows:
        raise MmsearchError(f"{labels_csv} has no usable rows" + (f" in split {split!r}" if split else ""))
    classes = sorted({label for _, label in rows})
    index = {label: i + group_offset for i, label in enumerate(classes)}
    texts = [text for label in classes for text in fill_templates(label, list(templates))]
    text_group = [index[label] for label in classes for _ in templates]
    return (
        PairSet(
            [labels_csv.parent / p for p, _ in rows],
            texts,
            np.array([index[label] for _, label in rows], dtype=np.int64),
            np.array(text_group, dtype=np.int64),
        ),
        classes,
    )


def split_last(pairs: PairSet, n_val: int) -> tuple[PairSet, PairSet]:
    """(train, validation): the last `n_val` images (in the set's image order) are validation."""
    if not 0 < n_val < len(pairs):
        raise MmsearchError(f"cannot hold out {n_val} of {len(pairs)} images for validation")
    cut = len(pairs) - n_val
    return pairs.subset(range(cut)), pairs.subset(range(cut, len(pairs)))


def merge(*sets: PairSet) -> PairSet:
    """Concatenate pair sets whose groups are already disjoint."""
    return PairSet(
        [p for s in sets for p in s.images],
        [t for s in sets for t in s.texts],
        np.concatenate([s.image_group for s in sets]),
        np.concatenate([s.text_group for s in sets]),
    )

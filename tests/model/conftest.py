"""Fixtures of the model tests: small real subsets and one shared encoder."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import write_csv


@pytest.fixture(scope="session")
def lite_encoder():
    from retrieval.encoders.lite import LiteEncoder

    return LiteEncoder()


@pytest.fixture(scope="session")
def captions_subset(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Captions CSV of the first 12 Flickr images (absolute image paths)."""
    with (data_dir / "flickr8k_800" / "captions.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    images = sorted({r["image"] for r in rows})[:12]
    keep = [[str(data_dir / "flickr8k_800" / r["image"]), r["caption"]] for r in rows if r["image"] in images]
    return write_csv(tmp_path_factory.mktemp("captions") / "captions.csv", ["image", "caption"], keep)


@pytest.fixture(scope="session")
def labels_subset(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Labels CSV of 3 Caltech test images in each of 4 classes (absolute paths)."""
    with (data_dir / "caltech101" / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    keep: list[list[str]] = []
    for label in ("airplanes", "dolphin", "pizza", "Faces_easy"):
        picked = [r for r in rows if r["label"] == label and r["split"] == "test"][:3]
        keep += [[str(data_dir / "caltech101" / r["path"]), r["label"], r["split"]] for r in picked]
    return write_csv(tmp_path_factory.mktemp("labels") / "labels.csv", ["path", "label", "split"], keep)

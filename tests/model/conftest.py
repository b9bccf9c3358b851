"""Fixtures of the model tests: the shared data folder, small real subsets, one shared encoder."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """`$MMSEARCH_DATA`, else `../shared/data` next to the repository."""
    return Path(os.environ.get("MMSEARCH_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data() -> Path:
    folder = shared_data_dir()
    if not (folder / "flickr8k_800" / "captions.csv").is_file():
        pytest.skip(f"shared data not found in {folder} (set MMSEARCH_DATA)")
    return folder


@pytest.fixture(scope="session")
def lite_encoder():
    from retrieval.encoders.lite import LiteEncoder

    return LiteEncoder()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def captions_subset(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Captions CSV of the first 12 Flickr images (absolute image paths)."""
    with (data / "flickr8k_800" / "captions.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    images = sorted({r["image"] for r in rows})[:12]
    keep = [[str(data / "flickr8k_800" / r["image"]), r["caption"]] for r in rows if r["image"] in images]
    return write_csv(tmp_path_factory.mktemp("captions") / "captions.csv", ["image", "caption"], keep)


@pytest.fixture(scope="session")
def labels_subset(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Labels CSV of 3 Caltech test images in each of 4 classes (absolute paths)."""
    with (data / "caltech101" / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    keep: list[list[str]] = []
    for label in ("airplanes", "dolphin", "pizza", "Faces_easy"):
        picked = [r for r in rows if r["label"] == label and r["split"] == "test"][:3]
        keep += [[str(data / "caltech101" / r["path"]), r["label"], r["split"]] for r in picked]
    return write_csv(tmp_path_factory.mktemp("labels") / "labels.csv", ["path", "label", "split"], keep)

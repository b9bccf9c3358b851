"""Fixtures of the evaluation tests: small real captions and labels files."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.media.text import read_rows
from tests.conftest import write_csv
from tests.train.conftest import captions_subset

__all__ = ["captions_subset", "labels_subset"]


@pytest.fixture(scope="session")
def labels_subset(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Labels CSV of 3 Caltech test images in each of 4 classes (absolute paths)."""
    rows = read_rows(data_dir / "caltech101" / "labels.csv", ("path", "label", "split"))
    keep: list[list[str]] = []
    for label in ("airplanes", "dolphin", "pizza", "Faces_easy"):
        picked = [r for r in rows if r["label"] == label and r["split"] == "test"][:3]
        keep += [[str(data_dir / "caltech101" / r["path"]), r["label"], r["split"]] for r in picked]
    return write_csv(tmp_path_factory.mktemp("labels") / "labels.csv", ["path", "label", "split"], keep)

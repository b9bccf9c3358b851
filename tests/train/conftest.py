"""Fixtures of the training tests: a small real captions file."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.media.text import read_rows
from tests.conftest import write_csv


@pytest.fixture(scope="session")
def captions_subset(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Captions CSV of the first 12 Flickr images (absolute image paths)."""
    rows = read_rows(data_dir / "flickr8k_800" / "captions.csv", ("image", "caption"))
    images = sorted({r["image"] for r in rows})[:12]
    keep = [[str(data_dir / "flickr8k_800" / r["image"]), r["caption"]] for r in rows if r["image"] in images]
    return write_csv(tmp_path_factory.mktemp("captions") / "captions.csv", ["image", "caption"], keep)

"""Fixtures for the audio tests: the shared data folder and a few FSDD clips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """`$MMSEARCH_DATA`, else ../shared/data next to the repository; skips when absent."""
    root = Path(os.environ.get("MMSEARCH_DATA", REPO.parent / "shared" / "data"))
    if not (root / "fsdd" / "labels.csv").is_file():
        pytest.skip(f"shared data not found at {root}")
    return root


@pytest.fixture(scope="session")
def fsdd_dir(data_root: Path) -> Path:
    return data_root / "fsdd" / "recordings"

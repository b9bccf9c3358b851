"""Command-line arguments every recipe takes: where the data is, where the weights go, where to cache."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA_ENV = "MMSEARCH_DATA"


def default_data_dir() -> Path:
    """`$MMSEARCH_DATA`, else ../shared/data beside the repository."""
    return Path(os.environ.get(DATA_ENV) or REPO.parent / "shared" / "data")


def add_paths(parser: argparse.ArgumentParser, name: str) -> None:
    """Add --data, --out (default: the shipped retrieval/models/`name`) and --cache (default: .cache/`name`)."""
    data_help = f"shared data folder (default: ${DATA_ENV} or ../shared/data)"
    parser.add_argument("--data", type=Path, default=default_data_dir(), help=data_help)
    shipped = REPO / "retrieval" / "models" / name
    parser.add_argument("--out", type=Path, default=shipped, help="output weights folder (default: the shipped one)")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / name, help="feature and waveform cache folder")

"""Read CSV files whose required columns are known, with one clear error when they are not there."""

from __future__ import annotations

import csv
from pathlib import Path

from retrieval.errors import MmsearchError


def read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of `path` as dicts; MmsearchError when the file is unreadable or lacks one of `columns`."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise MmsearchError(f"{path} lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise MmsearchError(f"cannot read {path}: {err}") from err

"""Text files: captions to index (CSV with a `text` or `caption` column, or .txt, one per line) and CSV rows."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import MediaDecodeError, MmsearchError

TEXT_COLUMNS = ("text", "caption")
REF_COLUMNS = ("id", "image")


@dataclass(frozen=True)
class TextItem:
    """One text to index: its position in the file, the text, and an optional external reference."""

    part: int
    text: str
    ref: str | None = None


def read_text_items(path: Path) -> list[TextItem]:
    """Text items of `path`; identical texts are kept once. Raises MediaDecodeError on unreadable files."""
    try:
        if path.suffix.lower() == ".csv":
            items = _read_csv(path)
        elif path.suffix.lower() == ".txt":
            lines = path.read_text(encoding="utf-8").splitlines()
            items = [TextItem(n, line.strip()) for n, line in enumerate(lines) if line.strip()]
        else:
            raise MediaDecodeError(f"{path}: captions must be a .csv or .txt file")
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise MediaDecodeError(f"{path}: cannot read captions ({err})") from err
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.text not in seen:
            seen.add(item.text)
            unique.append(item)
    return unique


def _read_csv(path: Path) -> list[TextItem]:
    rows = _csv_rows(path)
    fields = [f.strip().lower() for f in rows.fields]
    text_col = next((c for c in TEXT_COLUMNS if c in fields), None)
    if text_col is None:
        raise MediaDecodeError(f"{path}: no 'text' or 'caption' column (found: {', '.join(fields) or 'none'})")
    ref_col = next((c for c in REF_COLUMNS if c in fields), None)
    original = dict(zip(fields, rows.fields))
    return [
        TextItem(n, row[original[text_col]].strip(), row[original[ref_col]] if ref_col else None)
        for n, row in enumerate(rows)
        if (row.get(original[text_col]) or "").strip()
    ]


class Rows(list[dict[str, str]]):
    """The rows of a CSV file as dicts, and `fields`, the header they are keyed by."""

    def __init__(self, rows: list[dict[str, str]], fields: list[str]) -> None:
        super().__init__(rows)
        self.fields = fields


def _csv_rows(path: Path) -> Rows:
    """Every row of `path` (the one place a CSV file is parsed); lets OSError, UnicodeDecodeError and csv.Error
    through for the caller to word."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return Rows(list(reader), list(reader.fieldnames or []))


def read_rows(path: Path, columns: tuple[str, ...] = ()) -> Rows:
    """Rows of `path` as dicts; MmsearchError when the file is unreadable or lacks one of `columns`."""
    try:
        rows = _csv_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise MmsearchError(f"cannot read {path}: {err}") from err
    missing = [c for c in columns if c not in rows.fields]
    if missing:
        raise MmsearchError(f"{path} lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    return rows

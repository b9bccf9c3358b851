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
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        text_col = next((c for c in TEXT_COLUMNS if c in fields), None)
        if text_col is None:
            raise MediaDecodeError(f"{path}: no 'text' or 'caption' column (found: {', '.join(fields) or 'none'})")
        ref_col = next((c for c in REF_COLUMNS if c in fields), None)
        original = dict(zip(fields, reader.fieldnames or []))
        return [
            TextItem(n, row[original[text_col]].strip(), row[original[ref_col]] if ref_col else None)
            for n, row in enumerate(reader)
            if (row.get(original[text_col]) or "").strip()
        ]


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

"""The page's filters (folder, file type, date range) as one SQL predicate AND'ed with the user's `where`.

Every string the user gave is written as a SQL string literal with its single quotes doubled;
numbers are formatted by Python. The library still parses and validates the whole predicate.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta

DATE_EXPR = "coalesce(taken_at, make_timestamp(CAST(mtime * 1000000 AS BIGINT)))"
"""What the date range compares: a photo's capture time (its camera's clock), else the file's mtime (UTC)."""

_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")


class FilterValueError(ValueError):
    """A filter value the page or an API client sent is malformed."""


@dataclass(frozen=True)
class Filters:
    """Filters of one search request (all optional)."""

    where: str | None = None
    folder: str | None = None
    file_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def sql_literal(value: str) -> str:
    """`value` as a SQL string literal: quotes doubled, control characters refused."""
    if any(ord(ch) < 32 for ch in value):
        raise FilterValueError("filter values may not contain control characters")
    return "'" + value.replace("'", "''") + "'"


def build_where(filters: Filters) -> str | None:
    """One predicate for `filters`, or None when there is nothing to filter on."""
    parts = [f"({filters.where})"] if filters.where and filters.where.strip() else []
    if filters.folder and filters.folder.strip():
        parts.append(_folder_clause(filters.folder.strip()))
    if filters.file_type and filters.file_type.strip():
        parts.append(_type_clause(filters.file_type))
    if filters.date_from:
        parts.append(f"{DATE_EXPR} >= {_timestamp(filters.date_from)}")
    if filters.date_to:
        parts.append(f"{DATE_EXPR} < {_timestamp(filters.date_to + timedelta(days=1))}")
    return " AND ".join(parts) or None


def _folder_clause(folder: str) -> str:
    """An absolute folder (as given, or with its links resolved) is a path prefix; a bare name matches that
    folder anywhere in the path."""
    name = folder.strip("/")
    if folder.startswith("/"):
        real = os.path.realpath(folder).strip("/")  # files are stored by real path (see media.scan)
        prefixes = sorted({"/" + n + "/" if n else "/" for n in (name, real)})
        return "(" + " OR ".join(f"starts_with(path, {sql_literal(p)})" for p in prefixes) + ")"
    return f"contains(path, {sql_literal('/' + name + '/')})"


def _type_clause(file_type: str) -> str:
    extensions = [e.strip().lower().lstrip(".") for e in file_type.split(",") if e.strip()]
    bad = [e for e in extensions if not _EXTENSION.match(e)]
    if bad or not extensions:
        raise FilterValueError(f"file type must be extensions like 'jpg' or 'jpg,png', not {file_type!r}")
    alternatives = " OR ".join(f"ends_with(lower(path), {sql_literal('.' + e)})" for e in extensions)
    return f"({alternatives})"


def _timestamp(day: date) -> str:
    return f"TIMESTAMP '{day.isoformat()} 00:00:00'"

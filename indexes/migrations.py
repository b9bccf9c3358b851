"""Catalog schema versions and the ordered steps between them (one place, like rclip's `ensure_version`).

A step runs inside one transaction, so a catalog is either wholly at its old version or wholly at
the next; the catalog keeps a copy of the old file until the migration commits.
"""

from __future__ import annotations

import duckdb

from indexes import faults

SCHEMA_VERSION = 3

STEPS: dict[int, tuple[str, ...]] = {
    1: (  # -> 2: what photo users filter on (EXIF); the never-written `label` column goes
        "ALTER TABLE items ADD COLUMN taken_at TIMESTAMP",
        "ALTER TABLE items ADD COLUMN taken_offset VARCHAR",
        "ALTER TABLE items ADD COLUMN camera_make VARCHAR",
        "ALTER TABLE items ADD COLUMN camera_model VARCHAR",
        "ALTER TABLE items ADD COLUMN gps_lat DOUBLE",
        "ALTER TABLE items ADD COLUMN gps_lon DOUBLE",
        "ALTER TABLE items DROP COLUMN label",
    ),
    2: (  # -> 3: an item's kind, since one file can hold items of several (audio windows and transcripts),
        # a transcript's language, and what audio and video files are
        "ALTER TABLE items ADD COLUMN kind VARCHAR",
        "UPDATE items SET kind = CASE modality WHEN 'audio' THEN 'window' WHEN 'text' THEN 'caption' ELSE modality END",
        "ALTER TABLE items ADD COLUMN language VARCHAR",
        "ALTER TABLE items ADD COLUMN duration_s DOUBLE",
        "ALTER TABLE items ADD COLUMN fps DOUBLE",
        "ALTER TABLE items ADD COLUMN codec VARCHAR",
        "ALTER TABLE items ADD COLUMN rotation INTEGER",
    ),
}
"""Version -> the statements that take a catalog from it to the next version."""


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version a catalog records, or None when it has no metadata yet."""
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except duckdb.CatalogException:
        return None
    return int(row[0]) if row else None


def migrate(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Inside a transaction on `con`: apply every step from `version` up to SCHEMA_VERSION."""
    for step in range(version, SCHEMA_VERSION):
        for statement in STEPS[step]:
            con.execute(statement)
            faults.reach("migrate")
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])

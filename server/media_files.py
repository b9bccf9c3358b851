"""Which file an item may be served from: its stored path, if that is a regular file and no symlink leads elsewhere."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from retrieval.errors import ItemNotFoundError

SERVED_MODALITIES = frozenset({"image", "audio", "video"})
"""Text items live in a captions file; their media is their `text` field, so no file is served for them."""


def media_path(row: dict[str, Any]) -> Path:
    """The item's file, or ItemNotFoundError when it is missing, not a regular file, or reached through a symlink.

    The stored path is absolute; `os.path.realpath` must give it back unchanged, so a symlink planted
    in an indexed folder (pointing anywhere) is never followed.
    """
    path = str(row["path"])
    if row["modality"] not in SERVED_MODALITIES:
        raise ItemNotFoundError(f"item {row['id']} is {row['modality']}; it has no media file")
    try:
        if os.path.realpath(path) != path or not stat.S_ISREG(os.lstat(path).st_mode):
            raise ItemNotFoundError(f"item {row['id']}: its file is not a regular file at the indexed path")
    except OSError:
        raise ItemNotFoundError(f"item {row['id']}: its file is gone") from None
    return Path(path)

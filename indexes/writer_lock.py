"""One writer per index: an advisory lock file in the index folder, held by an indexing run or a removal.

DuckDB's own lock is taken per connection, so two indexing runs would interleave their batches
(and both insert a file neither had seen at its start). Holding this lock for the whole run makes
a second writer stop at once with one line naming the process that writes; readers never take it.
It is a POSIX record lock (`lockf`), owned by the process alone: decode workers forked from an
indexing run do not inherit it, so a killed run's lock goes with it even while its orphaned
workers are still winding down.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from indexes.errors import IndexLockedError

LOCK_FILE = "writer.lock"
_held: dict[Path, int] = {}
"""Lock files this process holds, with how deeply (an indexing run also removes vanished files)."""


@contextlib.contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Hold the writer lock of the index in `folder`; raise IndexLockedError if another process holds it."""
    lock = Path(folder) / LOCK_FILE
    if lock in _held:
        _held[lock] += 1
        try:
            yield
        finally:
            _held[lock] -= 1
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise IndexLockedError(
                f"another mmsearch (pid {holder}) is writing to the index at {lock.parent}; run this again when it ends"
            ) from err
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[lock] = 1
        try:
            yield
        finally:
            del _held[lock]
    finally:
        os.close(fd)

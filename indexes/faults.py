"""Fault injection for the reliability suite: `MMSEARCH_FAULT=<point>:<n>` SIGKILLs this process at the
n-th time it reaches the named point (docs/reliability.md lists the points); unset, `reach` does nothing.

Points: `commit` (inside a catalog transaction, its writes done, before COMMIT), `migrate` (after each
statement of a schema migration, before its COMMIT), `write:<file name>` (an atomic write whose temp
file is written and fsynced, before the rename onto the target, e.g. `write:vectors.faiss`).
"""

from __future__ import annotations

import os
import signal

ENV = "MMSEARCH_FAULT"
_reached: dict[str, int] = {}


def reach(point: str) -> None:
    """Count one arrival at `point`; kill the process with SIGKILL if $MMSEARCH_FAULT names this arrival."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, _, nth = spec.rpartition(":")
    if name != point:
        return
    _reached[point] = _reached.get(point, 0) + 1
    if _reached[point] == int(nth):
        os.kill(os.getpid(), signal.SIGKILL)

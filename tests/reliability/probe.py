"""Imported before `mmsearch` in a test subprocess: append the path of every file the encode stage
embeds to $MMSEARCH_PROBE, one line per file, flushed as soon as its batch is encoded.

This is how the kill tests count work: a file listed by a killed run and again by the next run
was embedded twice (production code is untouched; the probe wraps one function from outside).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from retrieval.ingest import run

_encode_files = run.encode_files


def _probed(encoder: Any, files: Sequence[Any], batch_size: int) -> Any:
    vectors = _encode_files(encoder, files, batch_size)
    with open(os.environ["MMSEARCH_PROBE"], "a", encoding="utf-8") as log:
        log.write("".join(f"{f.facts.path}\n" for f in files))
    return vectors


run.encode_files = _probed

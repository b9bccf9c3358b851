"""Index text items (captions CSV or .txt files) next to media, so image->text search works."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexes.catalog import Catalog, NewItem
from retrieval.encoders.base import Encoder
from retrieval.errors import MediaDecodeError, MmsearchError
from retrieval.ingest.run import IndexReport
from retrieval.media.text import read_text_items

log = logging.getLogger(__name__)


def index_caption_files(
    catalog: Catalog, encoder: Encoder, files: Sequence[Path], report: IndexReport, batch_size: int = 256
) -> None:
    """(Re-)index each captions file whose size or mtime changed; all its rows are replaced at once."""
    stored = catalog.stored_files([str(f) for f in files])
    for path in files:
        stat = path.stat()
        known = stored.get(str(path))
        if known and known.size == stat.st_size and known.mtime == stat.st_mtime:
            report.unchanged += 1
            continue
        try:
            texts = read_text_items(path)
        except MediaDecodeError as err:
            report.skipped += 1
            report.failures.append((str(path), str(err)))
            log.warning("skipped %s", err)
            continue
        vectors = np.concatenate(
            [encoder.encode_texts([t.text for t in texts[i:i + batch_size]]) for i in range(0, len(texts), batch_size)]
        ) if texts else np.zeros((0, encoder.dim), dtype=np.float32)
        items = [
            NewItem(path=str(path), modality="text", content_hash=hashlib.sha256(t.text.encode()).hexdigest(),
                    size=stat.st_size, mtime=stat.st_mtime, part=t.part, text=t.text, ref=t.ref)
            for t in texts
        ]
        with catalog.transaction() as con:
            catalog.delete(con, [str(path)])
            catalog.insert(con, items, vectors, encoder.model_id)
        report.items += len(items)
        if known:
            report.changed += 1
        else:
            report.new += 1


def caption_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Absolute captions files; raises MmsearchError for missing ones."""
    resolved = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if not path.is_file():
            raise MmsearchError(f"captions file not found: {raw}")
        resolved.append(path)
    return resolved

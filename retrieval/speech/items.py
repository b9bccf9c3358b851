"""Transcript segments -> catalog items of an audio file: the text to embed and each row's fields."""

from __future__ import annotations

from typing import Any

from retrieval.speech.normalize import search_text
from retrieval.speech.transcriber import Segment


def transcript_items(segments: list[Segment], ref: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(texts for the text tower, catalog fields) of the segments of the file at `ref` (the rows keep that
    file's path, modality and content hash, so re-indexing or removing the file replaces them too)."""
    texts = [search_text(s.text, s.language) or s.text for s in segments]
    fields = [
        {
            "kind": "transcript",
            "text": s.text,
            "start_s": s.start_s,
            "end_s": s.end_s,
            "language": s.language,
            "ref": ref,
        }
        for s in segments
    ]
    return texts, fields

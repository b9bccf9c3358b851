"""Short clips packed into shared Whisper windows, and the decoded words split back per clip.

Whisper encodes 30 s whatever it is given, so a 0.4 s clip costs as much as 30 s of speech. `pack` lays the
speech spans ("pieces") of several clips end to end, `GAP_S` of silence between them, into windows of at most
`WINDOW_S`; after decoding with word timestamps, `Layout.owner` gives each word to the piece its end falls in
(Whisper's word timestamps let a word start where the word before it ended, across the pause between two
pieces; its end is where it was said), and `Layout.clip_span` moves times back to the piece's own clip.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
WINDOW_S = 30.0
"""Whisper encodes 30 s at a time; a decoded span is never longer."""
GAP_S = 1.0
"""Silence between two pieces in a window: Whisper ends a sentence at such a pause, and a word timestamp
that is off by less than half of it still lands in its own piece."""
PACK_MAX = 16
"""Pieces per window at most (a window of 16 FSDD digits is about 30 s)."""


@dataclass(frozen=True)
class Piece:
    """A speech span of one clip: the clip's index and its sample range in that clip."""

    clip: int
    start: int
    end: int


@dataclass(frozen=True)
class Layout:
    """Windows laid back to back in `samples`: each window's sample range, and where each piece starts."""

    samples: np.ndarray
    windows: list[tuple[int, int]]
    pieces: list[Piece]
    at: list[int]
    """The sample of `samples` where each piece starts (increasing)."""

    def owner(self, seconds: float) -> int | None:
        """The index of the piece a time of `samples` belongs to (within the piece or less than half a gap
        from it); None in the silence between pieces."""
        position = seconds * SAMPLE_RATE
        half_gap = GAP_S * SAMPLE_RATE / 2
        k = bisect.bisect_right(self.at, position + half_gap) - 1
        if k < 0:
            return None
        piece = self.pieces[k]
        return k if position < self.at[k] + (piece.end - piece.start) + half_gap else None

    def clip_span(self, k: int, start: float, end: float) -> tuple[float, float]:
        """A span of `samples` as a span of piece k's own clip, kept within the piece; the whole piece when
        nothing of the span is left inside it (its words' timestamps fell in the pause after it)."""
        piece = self.pieces[k]

        def local(seconds: float) -> float:
            at = piece.start + seconds * SAMPLE_RATE - self.at[k]
            return int(min(max(at, piece.start), piece.end) * 1000 / SAMPLE_RATE) / 1000  # ms, never past the end

        first, last = local(start), local(end)
        return (first, last) if first < last else (piece.start / SAMPLE_RATE, piece.end / SAMPLE_RATE)


def pack(waves: list[np.ndarray], pieces: list[Piece], per_window: int = PACK_MAX) -> Layout:
    """Pieces in order, at most `per_window` to a window of at most `WINDOW_S`, with `GAP_S` of silence between
    two pieces and between two windows (so no word of a window's last piece is read as the next window's)."""
    gap = np.zeros(round(GAP_S * SAMPLE_RATE), np.float32)
    limit = round(WINDOW_S * SAMPLE_RATE) - SAMPLE_RATE // 10
    parts: list[np.ndarray] = []
    windows: list[tuple[int, int]] = []
    at: list[int] = []
    position = count = 0
    for piece in pieces:
        size = piece.end - piece.start
        if parts:
            parts.append(gap)
            position += len(gap)
        if not windows or count == per_window or position + size - windows[-1][0] > limit:
            windows.append((position, position))
            count = 0
        at.append(position)
        parts.append(waves[piece.clip][piece.start : piece.end])
        position += size
        windows[-1] = (windows[-1][0], position)
        count += 1
    samples = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
    return Layout(samples, windows, list(pieces), at)

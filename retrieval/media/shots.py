"""Group a video's sampled frames into shots by how much the picture changes; no model code here.

A frame starts a new shot when its colour histogram (6 levels per channel, 216 bins, of its 64x64
thumbnail) differs from the previous sampled frame's by more than `CUT_DISTANCE` (half the L1
distance: 0 for the same colours, 1 for disjoint ones). Measured on the thumbnails of Caltech-101 test
photos panned by 12 % of their width within a shot (benchmarks/video.py, 2026-12-04): no pan went
over 0.20, and 1.8 % of 4,950 pairs of different photos stayed under 0.3. A grey-thumbnail difference
was tried too and cut panning shots apart (it rises with motion), and embedding each sampled frame to
compare vectors costs a model call per frame, several times what indexing one frame per shot does. A
shot longer than `MAX_SHOT_S` is split. Frames are consumed as they come; of the current shot's, only
those that may still be nearest its middle are held, and only the chosen one is converted to the
tower's size (older ones too once their decoded pictures pass `HELD_BYTES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from retrieval.media.video import SampledFrame

CUT_DISTANCE = 0.3
"""Histogram distance (0..1) from the previous sampled frame above which a new shot starts."""
LEVELS = 6
"""Histogram levels per colour channel."""
MAX_SHOT_S = 30.0
"""No shot spans more than this; longer static shots are cut into pieces."""
HELD_BYTES = 64 * 2**20
"""Decoded pictures a shot's frames may hold before the oldest are converted (22 MB for 30 s of 720p at a frame a
second, so all of it; 5 pictures at 4K)."""


@dataclass(frozen=True)
class VideoShot:
    """A span of a video and the sampled frame nearest its middle, which represents it."""

    start_s: float
    end_s: float
    time_s: float
    image: Image.Image


def pixel_histogram(pixels: np.ndarray) -> np.ndarray:
    """The normalised LEVELS**3-bin histogram of (H, W, 3) uint8 RGB `pixels`."""
    levels = pixels.astype(np.int32) * LEVELS // 256
    bins = (levels[..., 0] * LEVELS + levels[..., 1]) * LEVELS + levels[..., 2]
    return np.bincount(bins.reshape(-1), minlength=LEVELS**3) / bins.size


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of two normalised histograms: 0 (same colours) to 1 (disjoint)."""
    return 0.5 * float(np.abs(a - b).sum())


def group_shots(
    frames: Iterable[SampledFrame],
    duration_s: float,
    cut_distance: float = CUT_DISTANCE,
    max_shot_s: float = MAX_SHOT_S,
) -> Iterator[VideoShot]:
    """Shots covering [0, duration_s]: boundaries halfway between the last frame of one and the first of the next."""
    current: list[SampledFrame] = []
    start, previous = 0.0, None
    for frame in frames:
        histogram = pixel_histogram(frame.thumbnail)
        if current and previous is not None:
            cut = histogram_distance(histogram, previous) > cut_distance
            if cut or frame.time_s - start > max_shot_s:
                boundary = min((current[-1].time_s + frame.time_s) / 2, start + max_shot_s)
                yield _shot(current, start, boundary)
                start, current = boundary, []
        current.append(frame)
        _let_go(current, start)
        previous = histogram
    if current:
        yield _shot(current, start, max(current[-1].time_s, min(duration_s, start + max_shot_s)))


def _let_go(frames: list[SampledFrame], start_s: float) -> None:
    """Drop the frames of a shot begun at `start_s` that can no longer be the one nearest its middle (it ends at
    its last frame or later, so its middle is at least halfway there), then convert the oldest of the rest while
    their decoded pictures exceed HELD_BYTES."""
    lowest_middle = (start_s + frames[-1].time_s) / 2
    passed = [n for n, f in enumerate(frames) if f.time_s <= lowest_middle]
    if passed:
        del frames[: passed[-1]]
    held = sum(f.held_bytes for f in frames)
    for frame in frames:
        if held <= HELD_BYTES:
            break
        held -= frame.held_bytes
        frame.image  # noqa: B018 (converted now, so the decoded picture is let go)


def _shot(frames: list[SampledFrame], start_s: float, end_s: float) -> VideoShot:
    middle = (start_s + end_s) / 2
    chosen = min(frames, key=lambda f: abs(f.time_s - middle))
    return VideoShot(start_s, end_s, chosen.time_s, chosen.image)

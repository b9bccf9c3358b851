"""Cut a waveform into the fixed-length windows the audio tower embeds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AudioWindow:
    """One span of a file: start and end in seconds and its samples."""

    start_s: float
    end_s: float
    samples: np.ndarray


def split_windows(wave: np.ndarray, sr: int, window_s: float = 2.0, hop_s: float = 1.0) -> list[AudioWindow]:
    """Overlapping windows of `window_s` every `hop_s`; the last one ends at the end of the file.

    A file no longer than one window is a single (unpadded) window.
    """
    if window_s <= 0 or hop_s <= 0:
        raise ValueError("window_s and hop_s must be positive")
    window = max(1, round(window_s * sr))
    hop = max(1, round(hop_s * sr))
    n = int(wave.shape[0])
    if n <= window:
        return [AudioWindow(0.0, n / sr, wave)]
    starts = list(range(0, n - window + 1, hop))
    if starts[-1] + window < n:
        starts.append(n - window)
    return [AudioWindow(s / sr, (s + window) / sr, wave[s : s + window]) for s in starts]

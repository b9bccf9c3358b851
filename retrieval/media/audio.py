"""Audio files -> mono float32 waveforms at a fixed sample rate, and the windows the audio tower embeds.

Files are read and resampled block by block, so memory stays near the size of the 16 kHz mono
output even for hour-long multi-channel recordings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from retrieval.errors import MediaDecodeError

DEFAULT_SAMPLE_RATE = 16_000
SILENCE_PEAK = 1e-4
"""Files whose absolute peak stays below this (full scale = 1.0) count as silent."""
BLOCK_S = 10
"""Seconds of audio read and resampled at a time."""
MARGIN_S = 1
"""Seconds of context on each side of a block while resampling (absorbs the FFT's edge effects)."""


def load_audio(path: str | Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Read `path` (WAV, FLAC, OGG, MP3: whatever libsndfile reads) as mono float32 at `sample_rate`.

    Raises MediaDecodeError for missing, empty, corrupt, unsupported or silent files and for files
    whose header is cut off; a file cut short inside its sample data decodes to the samples present.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise MediaDecodeError(f"cannot decode audio {path}: empty file")
        with sf.SoundFile(str(path)) as handle:
            source_rate = int(handle.samplerate)
            blocks = _mono_blocks(handle, BLOCK_S * source_rate, path)
            # sized from the header; a file cut short fills only the start of it
            wave = np.empty(round(handle.frames * sample_rate / source_rate) + 1, dtype=np.float32)
            filled = 0
            for block in _resample_blocks(blocks, source_rate, sample_rate):
                wave[filled : filled + len(block)] = block
                filled += len(block)
            wave = wave[:filled]
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError, MemoryError) as err:
        raise MediaDecodeError(f"cannot decode audio {path}: {_reason(err)}") from err
    if wave.size == 0:
        raise MediaDecodeError(f"cannot decode audio {path}: no samples")
    if max(float(wave.max()), -float(wave.min())) < SILENCE_PEAK:  # no |wave| copy of a long file
        raise MediaDecodeError(f"cannot decode audio {path}: silent")
    return wave


def audio_blocks(path: str | Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Iterator[np.ndarray]:
    """The samples `load_audio` returns, read and yielded `BLOCK_S` seconds at a time (a long file is never
    held whole); a read error becomes one MediaDecodeError line."""
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            yield from _resample_blocks(_mono_blocks(handle, BLOCK_S * rate, Path(path)), rate, sample_rate)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError) as err:
        raise MediaDecodeError(f"cannot decode audio {path}: {_reason(err)}") from err


def _reason(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _mono_blocks(handle: sf.SoundFile, frames: int, path: Path) -> Iterator[np.ndarray]:
    """Consecutive mono blocks of `frames` samples (the last one shorter); non-finite samples raise."""
    while True:
        data = handle.read(frames, dtype="float32", always_2d=True)
        if data.shape[0] == 0:
            return
        mono = data.mean(axis=1)
        if not np.isfinite(mono).all():
            raise MediaDecodeError(f"cannot decode audio {path}: non-finite samples")
        yield mono


def _resample_blocks(blocks: Iterator[np.ndarray], source_rate: int, target_rate: int) -> Iterator[np.ndarray]:
    """Resample a stream of whole-second blocks (the last may be shorter), each with `MARGIN_S` of context."""
    if source_rate == target_rate:
        yield from blocks
        return
    margin = MARGIN_S * source_rate
    ratio = target_rate / source_rate
    before = np.zeros(0, np.float32)
    current: np.ndarray | None = None
    for following in blocks:
        if current is not None:
            segment = resample(np.concatenate([before, current, following[:margin]]), source_rate, target_rate)
            start = round(len(before) * ratio)
            yield segment[start : start + round(len(current) * ratio)]
            before = current[-margin:]
        current = following
    if current is not None:
        segment = resample(np.concatenate([before, current]), source_rate, target_rate)
        yield segment[round(len(before) * ratio) :]


def resample(wave: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling by truncating or zero-padding the real FFT spectrum."""
    wave = np.asarray(wave, dtype=np.float32)
    if source_rate == target_rate or wave.size == 0:
        return wave
    n_in = wave.shape[0]
    n_out = max(1, round(n_in * target_rate / source_rate))
    spectrum = np.fft.rfft(wave.astype(np.float64))
    n_bins = n_out // 2 + 1
    if n_bins <= spectrum.shape[0]:
        spectrum = spectrum[:n_bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(n_bins - spectrum.shape[0], dtype=spectrum.dtype)])
    out = np.fft.irfft(spectrum, n=n_out) * (n_out / n_in)
    return out.astype(np.float32)


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


def audio_windows(wave: np.ndarray, sr: int, window_s: float) -> list[AudioWindow]:
    """The windows an audio file is indexed and queried by: `window_s` long, overlapping by half."""
    return split_windows(wave, sr, window_s, window_s / 2)

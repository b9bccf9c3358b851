"""Decode an audio file into a mono float32 waveform at a fixed sample rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from retrieval.errors import MediaDecodeError

DEFAULT_SAMPLE_RATE = 16_000
SILENCE_PEAK = 1e-4
"""Files whose absolute peak stays below this (full scale = 1.0) count as silent."""


def load_audio(path: str | Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Read `path` (WAV, FLAC, OGG, MP3: whatever libsndfile reads) as mono float32 at `sample_rate`.

    Raises MediaDecodeError for missing, empty, corrupt, unsupported or silent files and for files
    whose header is cut off; a file cut short inside its sample data decodes to the samples present.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise MediaDecodeError(f"cannot decode audio {path}: empty file")
        data, source_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise MediaDecodeError(f"cannot decode audio {path}: {reason}") from err
    if data.size == 0:
        raise MediaDecodeError(f"cannot decode audio {path}: no samples")
    mono = data.mean(axis=1)
    if not np.isfinite(mono).all():
        raise MediaDecodeError(f"cannot decode audio {path}: non-finite samples")
    if float(np.abs(mono).max()) < SILENCE_PEAK:
        raise MediaDecodeError(f"cannot decode audio {path}: silent")
    return resample(mono, int(source_rate), sample_rate)


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

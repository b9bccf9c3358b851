"""Log-mel features in numpy: STFT, a triangular mel filterbank, per-utterance normalisation.

Inference computes them here, without torch; training computes the same features batched on its device
with `retrieval.train.log_mel.LogMel` (tested equal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def hz_to_mel(hz: float) -> float:
    """HTK mel scale."""
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, f_min: float, f_max: float) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) float32 triangular filters, evenly spaced on the mel scale."""
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=np.float32)
    mel_points = np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=np.float32)
    hz_points = 700.0 * (10.0 ** (mel_points / 2595.0) - 1.0)
    lower, center, upper = hz_points[:-2], hz_points[1:-1], hz_points[2:]
    rising = (fft_hz[:, None] - lower[None, :]) / (center - lower)[None, :]
    falling = (upper[None, :] - fft_hz[:, None]) / (upper - center)[None, :]
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)


def stft_window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of `win_length`, zero-padded on both sides to `n_fft` (as torch.stft pads it)."""
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win_length) / win_length)
    left = (n_fft - win_length) // 2
    return np.pad(hann, (left, n_fft - win_length - left)).astype(np.float32)


@dataclass(frozen=True)
class MelConfig:
    """Feature settings; stored in the tower's config.json so inference matches training."""

    sample_rate: int = 16_000
    n_mels: int = 64
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    f_min: float = 20.0
    f_max: float = 4_000.0
    """Capped at 4 kHz: the training speech is 8 kHz telephone-band audio."""
    window_s: float = 2.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MelConfig":
        """The settings stored in a config.json, ignoring keys of removed settings."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @property
    def window_samples(self) -> int:
        return round(self.window_s * self.sample_rate)

    @property
    def n_frames(self) -> int:
        return 1 + self.window_samples // self.hop_length

    def filterbank(self) -> np.ndarray:
        """This config's mel filterbank."""
        return mel_filterbank(self.n_fft, self.n_mels, self.sample_rate, self.f_min, self.f_max)


def span_mask(n_frames: int, hop_length: int, spans: np.ndarray) -> np.ndarray:
    """(B, n_frames) bool: the frames whose start lies inside each waveform's real-signal span (all of them
    when none does)."""
    frame_pos = np.arange(n_frames) * hop_length
    inside = (frame_pos[None, :] >= spans[:, :1]) & (frame_pos[None, :] < np.maximum(spans[:, 1:2], 1))
    return inside | (inside.sum(axis=1, keepdims=True) == 0)


def log_mel(waves: np.ndarray, spans: np.ndarray, config: MelConfig) -> np.ndarray:
    """Waveforms (B, N) with real-signal spans (B, 2) -> normalised float32 log-mels (B, n_mels, 1 + N // hop).

    Mean and standard deviation come from the frames inside each span only; frames outside it (padding)
    are set to the utterance's minimum, which reads as silence.
    """
    pad = config.n_fft // 2
    padded = np.pad(np.asarray(waves, dtype=np.float32), ((0, 0), (pad, pad)), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft, axis=1)[:, :: config.hop_length]
    spec = np.fft.rfft(frames * stft_window(config.win_length, config.n_fft), axis=-1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    mel = np.log(power @ config.filterbank() + np.float32(1e-6)).transpose(0, 2, 1)
    mask = span_mask(mel.shape[-1], config.hop_length, np.asarray(spans))[:, None, :]
    count = mask.sum(axis=(1, 2), keepdims=True) * mel.shape[1]
    mean = np.where(mask, mel, 0).sum(axis=(1, 2), keepdims=True) / count
    var = (np.where(mask, mel - mean, 0) ** 2).sum(axis=(1, 2), keepdims=True) / count
    normed = (mel - mean) / np.sqrt(var + 1e-5)
    floor = np.where(mask, normed, np.inf).min(axis=(1, 2), keepdims=True)
    return np.where(mask, normed, floor).astype(np.float32)


def place_in_window(wave: np.ndarray, window_samples: int, offset: int | None = None) -> tuple[np.ndarray, int, int]:
    """Pad (centred, or at `offset`) or centre-crop `wave` to `window_samples`; returns it and its span."""
    n = int(wave.shape[0])
    if n >= window_samples:
        start = (n - window_samples) // 2 if offset is None else offset
        return np.ascontiguousarray(wave[start : start + window_samples], dtype=np.float32), 0, window_samples
    if offset is None:
        offset = (window_samples - n) // 2
    out = np.zeros(window_samples, dtype=np.float32)
    out[offset : offset + n] = wave
    return out, offset, offset + n


class LogMelTransform:
    """Picklable `Encoder.audio_transform()`: mono float32 waveform -> (n_mels, n_frames) float32 array."""

    def __init__(self, config: MelConfig | None = None) -> None:
        self.config = config or MelConfig()

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        padded, start, end = place_in_window(np.asarray(wave, dtype=np.float32), self.config.window_samples)
        return log_mel(padded[None], np.array([[start, end]]), self.config)[0, :, : self.config.n_frames]

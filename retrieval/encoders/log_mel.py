"""Log-mel features in torch: STFT, a triangular mel filterbank, per-utterance normalisation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


def hz_to_mel(hz: float | torch.Tensor) -> float | torch.Tensor:
    """HTK mel scale."""
    if isinstance(hz, torch.Tensor):
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, f_min: float, f_max: float) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters, evenly spaced on the mel scale."""
    fft_hz = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    mel_points = torch.linspace(float(hz_to_mel(f_min)), float(hz_to_mel(f_max)), n_mels + 2)
    hz_points = 700.0 * (10.0 ** (mel_points / 2595.0) - 1.0)
    lower, center, upper = hz_points[:-2], hz_points[1:-1], hz_points[2:]
    rising = (fft_hz[:, None] - lower[None, :]) / (center - lower)[None, :]
    falling = (upper[None, :] - fft_hz[:, None]) / (upper - center)[None, :]
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


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


class LogMel(torch.nn.Module):
    """Batched waveforms (B, N) with real-signal spans -> normalised log-mels (B, n_mels, frames).

    Mean and standard deviation come from the frames inside each span only; frames outside it
    (padding) are set to the utterance's minimum, which reads as silence.
    """

    window: torch.Tensor
    filterbank: torch.Tensor

    def __init__(self, config: MelConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        fb = mel_filterbank(config.n_fft, config.n_mels, config.sample_rate, config.f_min, config.f_max)
        self.register_buffer("filterbank", fb, persistent=False)

    def forward(self, waves: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        spec = torch.stft(
            waves, cfg.n_fft, cfg.hop_length, cfg.win_length, self.window, center=True, return_complex=True
        )
        power = spec.real**2 + spec.imag**2
        mel = torch.log(torch.matmul(power.transpose(1, 2), self.filterbank) + 1e-6).transpose(1, 2)
        frame_pos = torch.arange(mel.shape[-1], device=waves.device) * cfg.hop_length
        inside = (frame_pos[None, :] >= spans[:, :1]) & (frame_pos[None, :] < spans[:, 1:2].clamp(min=1))
        inside = inside | (inside.sum(dim=1, keepdim=True) == 0)
        mask = inside[:, None, :].float()
        count = mask.sum(dim=(1, 2), keepdim=True) * mel.shape[1]
        mean = (mel * mask).sum(dim=(1, 2), keepdim=True) / count
        var = (((mel - mean) * mask) ** 2).sum(dim=(1, 2), keepdim=True) / count
        normed = (mel - mean) / torch.sqrt(var + 1e-5)
        floor = torch.where(mask.bool(), normed, torch.full_like(normed, float("inf"))).amin(dim=(1, 2), keepdim=True)
        return torch.where(mask.bool(), normed, floor.expand_as(normed))


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
    """Picklable `Encoder.audio_transform()`: mono float32 waveform -> (n_mels, n_frames) tensor."""

    def __init__(self, config: MelConfig | None = None) -> None:
        self.config = config or MelConfig()
        self._module: LogMel | None = None

    def __getstate__(self) -> dict:
        return {"config": self.config, "_module": None}

    def __call__(self, wave: np.ndarray) -> torch.Tensor:
        if self._module is None:
            self._module = LogMel(self.config)
        padded, start, end = place_in_window(np.asarray(wave, dtype=np.float32), self.config.window_samples)
        with torch.no_grad():
            feats = self._module(torch.from_numpy(padded)[None], torch.tensor([[start, end]]))
        return feats[0, :, : self.config.n_frames]

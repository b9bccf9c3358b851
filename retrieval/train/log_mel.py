"""Log-mel features batched in torch, on the training device: the same features as
`retrieval.encoders.log_mel.log_mel` (tested equal), which inference computes in numpy."""

from __future__ import annotations

import torch

from retrieval.encoders.log_mel import MelConfig, stft_window


class LogMel(torch.nn.Module):
    """Batched waveforms (B, N) with real-signal spans (B, 2) -> normalised log-mels (B, n_mels, frames)."""

    window: torch.Tensor
    filterbank: torch.Tensor

    def __init__(self, config: MelConfig) -> None:
        super().__init__()
        self.config = config
        window = stft_window(config.win_length, config.n_fft)
        self.register_buffer("window", torch.from_numpy(window), persistent=False)
        self.register_buffer("filterbank", torch.from_numpy(config.filterbank()), persistent=False)

    def forward(self, waves: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        spec = torch.stft(waves, cfg.n_fft, cfg.hop_length, window=self.window, center=True, return_complex=True)
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

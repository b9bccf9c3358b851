"""The audio tower: a small residual 1-D CNN over log-mel frames -> 384-d MiniLM-space vectors."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from indexes.atomic import atomic_path, atomic_write_text
from retrieval.encoders.audio_config import CONFIG_FILE, SHIPPED_DIR, WEIGHTS_FILE, TowerConfig
from retrieval.encoders.checksums import check_weights, record_weights
from retrieval.encoders.log_mel import LogMelTransform
from retrieval.errors import EncoderNotFoundError


class ResBlock(nn.Module):
    """Two same-width convolutions with batch norm and a skip connection."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = (kernel - 1) // 2 * dilation
        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation, bias=False),
            nn.BatchNorm1d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _down(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True)
    )


class AudioTower(nn.Module):
    """Log-mels (B, n_mels, frames) -> (B, dim) L2-normalised vectors in the raw MiniLM space.

    `sequence()` exposes the (B, C, frames / 4) frame features the pooled vector is built from.
    """

    def __init__(self, config: TowerConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or TowerConfig()
        c1, c2, c3 = config.channels
        d1, d2, d3 = config.dilations
        self.stem = nn.Sequential(
            nn.Conv1d(config.mel.n_mels, c1, 5, stride=2, padding=2, bias=False),
            nn.BatchNorm1d(c1),
            nn.ReLU(inplace=True),
        )
        self.body = nn.Sequential(
            ResBlock(c1, 5, d1, config.dropout),
            _down(c1, c2),
            ResBlock(c2, 3, d2, config.dropout),
            ResBlock(c2, 3, d3, config.dropout),
            nn.Conv1d(c2, c3, 1, bias=False),
            nn.BatchNorm1d(c3),
            nn.ReLU(inplace=True),
        )
        self.attention = nn.Conv1d(c3, 1, 1)
        self.head = nn.Sequential(
            nn.Linear(2 * c3, 256), nn.ReLU(inplace=True), nn.Dropout(config.dropout), nn.Linear(256, config.dim)
        )

    @property
    def out_channels(self) -> int:
        return self.config.channels[-1]

    def sequence(self, mels: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T) -> (B, C, ~T/4) frame features."""
        return self.body(self.stem(mels))

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        return self.pool_and_project(self.sequence(mels))

    def pool_and_project(self, seq: torch.Tensor) -> torch.Tensor:
        """Attention-weighted mean plus max over time, then the MLP head, then L2 normalisation."""
        weights = torch.softmax(self.attention(seq), dim=-1)
        pooled = torch.cat([(seq * weights).sum(dim=-1), seq.amax(dim=-1)], dim=1)
        return F.normalize(self.head(pooled), dim=-1)

    def transform(self) -> LogMelTransform:
        """The feature transform these weights were trained with."""
        return LogMelTransform(self.config.mel)


def save_audio_tower(tower: AudioTower, out_dir: str | Path, extra: dict | None = None) -> None:
    """Write model.safetensors and config.json (plus `extra` metadata) into `out_dir`."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    state = {k: v.detach().contiguous().cpu() for k, v in tower.state_dict().items()}
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp))
    record_weights(out / WEIGHTS_FILE)
    atomic_write_text(out / CONFIG_FILE, json.dumps({**tower.config.to_dict(), **(extra or {})}, indent=2) + "\n")


def load_audio_tower(path: str | Path | None = None) -> AudioTower:
    """Load a tower (eval mode, CPU) from `path` or the shipped `retrieval/models/audio/`."""
    from safetensors.torch import load_file

    folder = Path(path) if path is not None else SHIPPED_DIR
    check_weights(folder / WEIGHTS_FILE)
    try:
        config = TowerConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text()))
        tower = AudioTower(config)
        tower.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise EncoderNotFoundError(f"cannot load audio tower from {folder}: {err}") from err
    return tower.eval()

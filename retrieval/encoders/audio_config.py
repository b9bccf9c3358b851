"""The audio tower's settings and where its shipped weights live: what a model reads without building the
tower (nor importing torch)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from retrieval.encoders.log_mel import MelConfig
from retrieval.errors import EncoderNotFoundError

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "models" / "audio"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class TowerConfig:
    """Architecture and feature settings, saved as config.json next to the weights."""

    model_id: str = "audio-v2"
    dim: int = 384
    channels: tuple[int, ...] = (96, 144, 192)
    dilations: tuple[int, ...] = (1, 2, 4)
    dropout: float = 0.1
    mel: MelConfig = field(default_factory=MelConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TowerConfig":
        data = dict(data)
        mel = MelConfig.from_dict(data.pop("mel", {}))
        data["channels"] = tuple(data.get("channels", cls.channels))
        data["dilations"] = tuple(data.get("dilations", cls.dilations))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(mel=mel, **known)


def has_shipped_audio_tower() -> bool:
    """Whether the packaged weights and config are present."""
    return (SHIPPED_DIR / WEIGHTS_FILE).is_file() and (SHIPPED_DIR / CONFIG_FILE).is_file()


def audio_tower_config(path: str | Path | None = None) -> TowerConfig | None:
    """The config of the tower in `path` (default: shipped), or None when no weights are there."""
    folder = Path(path) if path is not None else SHIPPED_DIR
    if not ((folder / WEIGHTS_FILE).is_file() and (folder / CONFIG_FILE).is_file()):
        return None
    try:
        return TowerConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text()))
    except (OSError, ValueError, KeyError) as err:
        raise EncoderNotFoundError(f"cannot read audio tower config in {folder}: {err}") from err

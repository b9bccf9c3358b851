"""Model names -> encoders. Names are parsed in one place (`parse_model`).

Accepted names:
- ``lite``: the offline default (EfficientNet-Lite + MiniLM with our trained heads);
- a directory written by ``mmsearch finetune`` (holds ``config.json``; a lite or an OpenCLIP fine-tune);
- ``openclip:ARCH/TAG``: an OpenCLIP architecture with a pretrained tag (needs the hub or its cache);
- ``openclip:ARCH/PATH``: the same architecture with weights from a local checkpoint file;
- ``openclip:ARCH/random``: random init (tests, throughput runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retrieval.encoders.base import Encoder, pick_device
from retrieval.errors import EncoderNotFoundError

DEFAULT_MODEL = "lite"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model name."""

    family: str
    """'lite' or 'openclip'."""
    arch: str = ""
    tag: str = ""
    weights_dir: Path | None = None


def parse_model(name: str) -> ModelSpec:
    """Parse a model name (see the module docstring); raises EncoderNotFoundError."""
    name = name.strip()
    if not name:
        raise EncoderNotFoundError("empty model name")
    if name == DEFAULT_MODEL:
        return ModelSpec("lite")
    if name.startswith("openclip:"):
        arch, _, tag = name[len("openclip:") :].partition("/")
        if not arch or not tag:
            raise EncoderNotFoundError(
                f"OpenCLIP models are named openclip:ARCH/TAG or openclip:ARCH/FILE, not {name!r}"
            )
        return ModelSpec("openclip", arch=arch, tag=tag)
    folder = Path(name).expanduser()
    if (folder / "config.json").is_file():
        return _folder_spec(folder.resolve())
    raise EncoderNotFoundError(
        f"unknown model {name!r}: use 'lite', a folder made by `mmsearch finetune`, or openclip:ARCH/TAG|FILE"
    )


def _folder_spec(folder: Path) -> ModelSpec:
    """A fine-tune folder: OpenCLIP when its config says so, else lite."""
    from retrieval.encoders.openclip import read_tuned_config

    config = read_tuned_config(folder)
    if config.get("family") != "openclip":
        return ModelSpec("lite", weights_dir=folder)
    missing = [key for key in ("arch", "tag", "model_id", "weights") if key not in config]
    if missing:
        raise EncoderNotFoundError(f"{folder / 'config.json'} of an OpenCLIP fine-tune lacks {', '.join(missing)}")
    return ModelSpec("openclip", arch=str(config["arch"]), tag=str(config["tag"]), weights_dir=folder)


def model_id_of(name: str) -> str:
    """The model id a name resolves to, without loading any weights."""
    spec = parse_model(name)
    if spec.family == "openclip":
        from retrieval.encoders.openclip import openclip_model_id, read_tuned_config

        if spec.weights_dir is not None:
            return str(read_tuned_config(spec.weights_dir)["model_id"])
        return openclip_model_id(spec.arch, spec.tag)
    from retrieval.encoders.lite import LiteEncoder

    return LiteEncoder(weights_dir=spec.weights_dir).model_id


def load_encoder(name: str = DEFAULT_MODEL, device: str | None = None) -> Encoder:
    """Build the encoder a model name describes, on `device` (default: CUDA when present)."""
    spec = parse_model(name)
    device = device or pick_device()
    if spec.family == "openclip":
        from retrieval.encoders.openclip import OpenClipEncoder

        return OpenClipEncoder(spec.arch, spec.tag, device=device, tuned_dir=spec.weights_dir)
    from retrieval.encoders.lite import LiteEncoder

    return LiteEncoder(weights_dir=spec.weights_dir).to(device)

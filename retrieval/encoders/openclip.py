"""OpenCLIP models: a model name with a pretrained tag, a local checkpoint file, or random init."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.encoders.base import Encoder, ImageTransform
from retrieval.errors import EncoderNotFoundError, MissingDependencyError
from retrieval.types import Vectors

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

RANDOM_TAG = "random"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
TUNED_CONFIG = "config.json"
"""A fine-tuned OpenCLIP folder: config.json (family 'openclip', arch, tag, model_id, weights) + tuned tensors."""


def is_checkpoint_path(tag: str) -> bool:
    """Whether an OpenCLIP 'tag' is really a local checkpoint file."""
    return "/" in tag or tag.endswith(CHECKPOINT_SUFFIXES)


def openclip_model_id(arch: str, tag: str) -> str:
    """Stable model id; a local checkpoint is identified by its file name and size."""
    if is_checkpoint_path(tag):
        path = Path(tag).expanduser()
        size = path.stat().st_size if path.exists() else 0
        return f"openclip:{arch}/file:{path.name}:{size}"
    return f"openclip:{arch}/{tag}"


class OpenClipEncoder(Encoder):
    """Wraps an `open_clip` model and its matching preprocessing and tokenizer."""

    def __init__(self, arch: str, tag: str, device: str = "cpu", tuned_dir: Path | None = None) -> None:
        try:
            import open_clip
        except ImportError as err:
            raise MissingDependencyError("OpenCLIP models need open_clip: pip install open_clip_torch") from err
        if arch not in open_clip.list_models():
            raise EncoderNotFoundError(f"unknown OpenCLIP model {arch!r}; see open_clip.list_models()")
        self.arch, self.tag = arch, tag
        self.model_id = openclip_model_id(arch, tag)
        import torch

        checkpoint = None if tag == RANDOM_TAG else _checkpoint_path(open_clip, arch, tag)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # 'random' weights are the same in every process, so indexes stay queryable
            self.model, _, self._preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
        if checkpoint is not None:
            try:
                open_clip.load_checkpoint(self.model, str(checkpoint), weights_only=True)
            except Exception as err:
                raise EncoderNotFoundError(f"cannot load OpenCLIP checkpoint {checkpoint} into {arch}: {err}") from err
        if tuned_dir is not None:
            self.model_id = _load_tuned(self.model, tuned_dir)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.dim = (
            int(self.model.text_projection.shape[1])
            if hasattr(self.model, "text_projection")
            else int(self.model.visual.output_dim)
        )
        self.logit_scale = float(self.model.logit_scale.detach().exp())
        self.to(device)

    def image_transform(self) -> ImageTransform:
        return self._preprocess

    def to(self, device: str) -> "OpenClipEncoder":
        self.model.to(device)
        self.device = device
        return self

    def encode_image_batch(self, pixels: "torch.Tensor") -> Vectors:
        with self.inference():
            features = self.model.encode_image(pixels.to(self.device), normalize=True)
        return features.float().cpu().numpy()

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self.inference():
            tokens = self.tokenizer(list(texts)).to(self.device)
            features = self.model.encode_text(tokens, normalize=True)
        return features.float().cpu().numpy()


def read_tuned_config(folder: Path) -> dict:
    """The config.json of a fine-tuned OpenCLIP folder."""
    try:
        return json.loads((folder / TUNED_CONFIG).read_text())
    except (OSError, ValueError) as err:
        raise EncoderNotFoundError(f"cannot read {folder / TUNED_CONFIG}: {err}") from err


def _load_tuned(model: "torch.nn.Module", folder: Path) -> str:
    """Put the fine-tuned tensors of `folder` into `model`; returns the folder's model id."""
    from safetensors.torch import load_file

    config = read_tuned_config(folder)
    path = folder / str(config.get("weights"))
    try:
        state = load_file(str(path))
    except (OSError, ValueError, RuntimeError) as err:
        raise EncoderNotFoundError(f"cannot load fine-tuned OpenCLIP weights {path}: {err}") from err
    unknown = set(state) - set(model.state_dict())
    if unknown:
        raise EncoderNotFoundError(f"{path} does not fit {config.get('arch')}: unknown tensors {sorted(unknown)}")
    model.load_state_dict(state, strict=False)
    return str(config["model_id"])


def _checkpoint_path(open_clip: Any, arch: str, tag: str) -> Path:
    """The local file of a checkpoint: the given path, or the hub download of a pretrained tag."""
    if is_checkpoint_path(tag):
        path = Path(tag).expanduser()
        if not path.is_file():
            raise EncoderNotFoundError(f"OpenCLIP checkpoint not found: {path}")
        return path
    if tag not in open_clip.list_pretrained_tags_by_model(arch):
        raise EncoderNotFoundError(
            f"unknown pretrained tag {tag!r} for {arch}; known: {open_clip.list_pretrained_tags_by_model(arch)}"
        )
    try:
        with _cache_only_unless_hub_reachable():
            return Path(open_clip.download_pretrained(open_clip.get_pretrained_cfg(arch, tag)))
    except Exception as err:  # hub errors come in many types
        raise EncoderNotFoundError(
            f"cannot fetch OpenCLIP weights {arch}/{tag} (no network or hub unreachable). Download the "
            f"checkpoint on a connected machine and pass it as a file: --model openclip:{arch}/PATH/TO/"
            f"open_clip_model.safetensors"
        ) from err


@contextlib.contextmanager
def _cache_only_unless_hub_reachable(host: str = "huggingface.co") -> Iterator[None]:
    """Use only the local hub cache when the hub cannot be reached, instead of a minute of retries."""
    import huggingface_hub.constants as hub

    try:
        socket.create_connection((host, 443), timeout=3).close()
        reachable = True
    except OSError:
        reachable = False
    saved = hub.HF_HUB_OFFLINE
    hub.HF_HUB_OFFLINE = saved or not reachable
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = saved

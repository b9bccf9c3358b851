"""Training the last blocks of the image tower (fully or through LoRA) together with the lite heads.

The frozen trunk runs once per image (its activations are cached by `image_features(tail_blocks=N)`);
each training step only runs the tail: the last N blocks, the head convolution and the pooling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from retrieval.encoders.efficientnet import block_prefixes, tower_tail
from retrieval.encoders.lite import TOWER_PREFIX
from retrieval.encoders.lite_heads import LiteHeads
from retrieval.train.lora import add_lora, merge_lora

if TYPE_CHECKING:
    from timm.models.efficientnet import EfficientNet


class TailHeads(nn.Module):
    """Tower tail + lite heads with the heads' interface: `image_vectors` takes the tail's input activations."""

    def __init__(self, tail: nn.Module, heads: LiteHeads) -> None:
        super().__init__()
        self.tail = tail
        self.heads = heads

    @property
    def class_text(self) -> torch.Tensor:
        return self.heads.class_text

    @property
    def logit_scale(self) -> nn.Parameter:
        return self.heads.logit_scale

    def prior(self, logits: torch.Tensor) -> torch.Tensor:
        return self.heads.prior(logits)

    def text_vectors(self, raw: torch.Tensor) -> torch.Tensor:
        return self.heads.text_vectors(raw)

    def image_vectors(self, activations: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Image vectors from trunk activations; `logits` (the frozen tower's) are not needed here."""
        pooled, tuned_logits = self.tail(activations)
        return self.heads.image_vectors(pooled, tuned_logits)


def trainable_tail(tower: "EfficientNet", n_blocks: int, lora_rank: int = 0) -> nn.Module:
    """The tail of `tower` made trainable: every weight of the last `n_blocks` blocks and the head
    convolution, or only LoRA updates of their pointwise convolutions when `lora_rank` > 0."""
    tail = tower_tail(tower, n_blocks)
    if lora_rank > 0:
        return add_lora(tail, lora_rank)
    tail.requires_grad_(True)
    tail.classifier.requires_grad_(False)
    return tail


def tuned_tower_state(tower: "EfficientNet", tail: nn.Module | None, n_blocks: int) -> dict[str, torch.Tensor]:
    """Merge any LoRA updates of `tail` into `tower`; return the tensors of its last `n_blocks` blocks and head
    convolution, keyed `tower.<name>`."""
    if tail is not None:
        merge_lora(tail)
    prefixes = tuple(block_prefixes(tower, n_blocks))
    return {
        TOWER_PREFIX + key: value.detach().clone()
        for key, value in tower.state_dict().items()
        if key.startswith(prefixes)
    }

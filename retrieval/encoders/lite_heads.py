"""The trainable part of `lite`: ImageNet prior + residual image head, optional text adapter, temperature.

Kept apart from `lite.py` because it imports torch, which the CLI does not load until a model runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from retrieval.encoders.lite import LiteConfig


class LiteHeads(nn.Module):
    """Image vectors = prior (softmax over ImageNet classes @ their name embeddings) + a head on pooled features;
    text vectors = raw MiniLM vectors + an optional learned residual adapter."""

    class_text: torch.Tensor
    """(1000, dim) buffer: the MiniLM embeddings of the ImageNet class names."""

    def __init__(self, config: "LiteConfig", class_text: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("class_text", class_text.float().clone())
        self.prior_temperature = config.prior_temperature
        self.image_head = nn.Linear(config.feature_dim, config.dim)
        nn.init.zeros_(self.image_head.weight)
        nn.init.zeros_(self.image_head.bias)
        self.text_adapter = nn.Linear(config.dim, config.dim) if config.text_adapter else None
        if self.text_adapter is not None:
            nn.init.zeros_(self.text_adapter.weight)
            nn.init.zeros_(self.text_adapter.bias)
        self.dropout = nn.Dropout(config.feature_dropout)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(config.logit_scale)))

    def prior(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over ImageNet classes mapped onto their name embeddings (unnormalised)."""
        return F.softmax(logits.float() / self.prior_temperature, dim=-1) @ self.class_text

    def image_vectors(self, pooled: torch.Tensor, logits: torch.Tensor | None) -> torch.Tensor:
        """Normalised image vectors: prior + residual head."""
        if logits is None:
            raise ValueError("lite heads need the tower's ImageNet logits")
        return F.normalize(self.prior(logits) + self.image_head(self.dropout(pooled.float())), dim=-1)

    def text_vectors(self, raw: torch.Tensor) -> torch.Tensor:
        """Normalised adapted text vectors from raw MiniLM vectors."""
        raw = raw.float()
        if self.text_adapter is not None:
            raw = raw + self.text_adapter(raw)
        return F.normalize(raw, dim=-1)

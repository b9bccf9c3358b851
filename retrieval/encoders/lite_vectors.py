"""The lite heads at inference, in numpy: what turns tower outputs into vectors of the shared space.

`retrieval.encoders.lite_heads.LiteHeads` is the same computation as a torch module, for training; both read
the same weights file (tested equal), so an index run or a query on ONNX Runtime never imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.types import Vectors

if TYPE_CHECKING:
    from retrieval.encoders.lite import LiteConfig


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32."""
    shifted = np.asarray(logits, dtype=np.float32)
    shifted = np.exp(shifted - shifted.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class HeadArrays:
    """Image vectors = normalise(softmax(logits / T) @ class_text + pooled @ W.T + b); text vectors =
    normalise(raw + raw @ A.T + a) with the optional adapter (A, a), else normalise(raw)."""

    class_text: np.ndarray
    image_weight: np.ndarray
    image_bias: np.ndarray
    adapter_weight: np.ndarray | None
    adapter_bias: np.ndarray | None
    prior_temperature: float
    logit_scale: float

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], config: "LiteConfig") -> "HeadArrays":
        """From the tensors `LiteHeads.state_dict()` saves (as arrays)."""
        return cls(
            class_text=np.asarray(state["class_text"], dtype=np.float32),
            image_weight=np.asarray(state["image_head.weight"], dtype=np.float32),
            image_bias=np.asarray(state["image_head.bias"], dtype=np.float32),
            adapter_weight=state.get("text_adapter.weight"),
            adapter_bias=state.get("text_adapter.bias"),
            prior_temperature=config.prior_temperature,
            logit_scale=float(np.exp(state["logit_scale"])),
        )

    @classmethod
    def prior_only(cls, class_text: np.ndarray, config: "LiteConfig") -> "HeadArrays":
        """The untrained model: the ImageNet prior alone, raw text vectors."""
        weight = np.zeros((config.dim, config.feature_dim), dtype=np.float32)
        bias = np.zeros(config.dim, dtype=np.float32)
        return cls(class_text, weight, bias, None, None, config.prior_temperature, config.logit_scale)

    def image_vectors(self, pooled: np.ndarray, logits: np.ndarray) -> Vectors:
        """Normalised image vectors from the tower's pooled features (N, F) and ImageNet logits (N, 1000)."""
        prior = softmax(np.asarray(logits, dtype=np.float32) / self.prior_temperature) @ self.class_text
        return normalize(prior + np.asarray(pooled, dtype=np.float32) @ self.image_weight.T + self.image_bias)

    def text_vectors(self, raw: np.ndarray) -> Vectors:
        """Normalised adapted text vectors from raw MiniLM-space vectors (N, dim)."""
        raw = np.asarray(raw, dtype=np.float32)
        if self.adapter_weight is not None and self.adapter_bias is not None:
            raw = raw + raw @ self.adapter_weight.T + self.adapter_bias
        return normalize(raw)

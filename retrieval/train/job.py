"""`FinetuneJob`: what one base-model family hands to the shared fine-tuning run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.train.heads import Heads
from retrieval.train.loop import TrainData, ValData


@dataclass(frozen=True)
class FinetuneJob:
    """The trainable model (with the heads interface of `train_heads`), its cached data and how to save it."""

    model: Heads
    data: TrainData
    val: ValData
    distill_weight: float
    """Weight of the ImageNet-prior distillation (0 for models without that prior)."""
    save: Callable[[Path, dict[str, Any]], str]
    """save(out, extra) writes the model folder and returns its model id."""

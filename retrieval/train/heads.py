"""What the training loop trains: an `nn.Module` with the heads interface (lite heads, tower tail + lite heads,
OpenCLIP projections)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class Heads(Protocol):
    """Image and text vectors from cached features, a learned temperature, and the `nn.Module` calls training makes."""

    @property
    def logit_scale(self) -> torch.nn.Parameter: ...

    def image_vectors(self, inputs: torch.Tensor, logits: torch.Tensor | None) -> torch.Tensor:
        """Normalised image vectors from cached image inputs (and the frozen tower's ImageNet logits, if any)."""
        ...

    def text_vectors(self, raw: torch.Tensor) -> torch.Tensor:
        """Normalised text vectors from cached raw text vectors."""
        ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...

    def requires_grad_(self, requires_grad: bool = True) -> Any: ...

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, torch.nn.Parameter]]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any: ...


@runtime_checkable
class PriorHeads(Heads, Protocol):
    """Heads whose image vectors start from the ImageNet prior: what distillation needs."""

    @property
    def class_text(self) -> torch.Tensor: ...

    def prior(self, logits: torch.Tensor) -> torch.Tensor:
        """The (unnormalised) prior vectors of ImageNet logits."""
        ...

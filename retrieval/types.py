"""Small shared types: modalities, vector arrays and the result dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Modality = Literal["image", "text", "audio"]
MODALITIES: tuple[Modality, ...] = ("image", "text", "audio")

Vectors = npt.NDArray[np.float32]
"""float32 array of shape (n, dim); rows are L2-normalised."""


@dataclass(frozen=True)
class SearchHit:
    """One search result: the catalog row of an item and its similarity to the query."""

    rank: int
    score: float
    id: int
    path: str
    modality: Modality
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready dict: rank, score, path, id, then the other catalog fields."""
        row = asdict(self)
        extra = row.pop("fields")
        return {**row, **extra}


@dataclass(frozen=True)
class ClassScore:
    """One label of a zero-shot classification and its probability."""

    label: str
    probability: float
    score: float

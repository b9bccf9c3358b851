"""A minimal BERT encoder in plain torch (enough for MiniLM sentence embeddings).

Loading this instead of transformers/sentence-transformers keeps a text query's cold
start close to the cost of importing torch itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class BertConfig:
    """The fields of a Hugging Face BERT `config.json` this module uses."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def read(cls, path: Path) -> "BertConfig":
        """Parse `config.json`."""
        data = json.loads(path.read_text())
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


class _Layer(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        h = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out, self.attn_norm = nn.Linear(h, h), nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.up, self.down = nn.Linear(h, cfg.intermediate_size), nn.Linear(cfg.intermediate_size, h)
        self.out_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        split = lambda t: t.view(b, n, self.heads, h // self.heads).transpose(1, 2)  # noqa: E731
        attn = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=mask
        )
        x = self.attn_norm(x + self.attn_out(attn.transpose(1, 2).reshape(b, n, h)))
        return self.out_norm(x + self.down(F.gelu(self.up(x))))


class BertEncoder(nn.Module):
    """Token ids -> mean-pooled sentence vectors (not normalised)."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.norm(self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids)))
        mask = torch.zeros(attention.shape, dtype=x.dtype, device=x.device).masked_fill(attention == 0, -math.inf)
        mask = mask[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask)
        weights = attention.unsqueeze(-1).to(x.dtype)
        return (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


_RENAMES = {
    "embeddings.word_embeddings.": "word.",
    "embeddings.position_embeddings.": "position.",
    "embeddings.token_type_embeddings.": "token_type.",
    "embeddings.LayerNorm.": "norm.",
    "attention.self.query.": "query.",
    "attention.self.key.": "key.",
    "attention.self.value.": "value.",
    "attention.output.dense.": "attn_out.",
    "attention.output.LayerNorm.": "attn_norm.",
    "intermediate.dense.": "up.",
    "output.dense.": "down.",
    "output.LayerNorm.": "out_norm.",
    "encoder.layer.": "layers.",
}


def load_bert(model_dir: Path) -> BertEncoder:
    """BertEncoder with the weights of a Hugging Face BERT folder (config.json + model.safetensors)."""
    from safetensors.torch import load_file

    model = BertEncoder(BertConfig.read(model_dir / "config.json"))
    state = {}
    for key, tensor in load_file(str(model_dir / "model.safetensors")).items():
        if key.startswith("pooler.") or key.endswith("position_ids"):
            continue
        for old, new in _RENAMES.items():
            key = key.replace(old, new)
        state[key] = tensor
    model.load_state_dict(state, strict=True)
    return model.eval()

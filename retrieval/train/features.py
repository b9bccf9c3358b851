"""Frozen-feature cache: image tower outputs and raw MiniLM-space text vectors, computed once per input set."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from indexes.atomic import atomic_path
from retrieval.encoders.efficientnet import tower_spec, tower_transform
from retrieval.media.image import load_image
from retrieval.train.augment import AugmentTransform

if TYPE_CHECKING:
    from timm.models.efficientnet import EfficientNet

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)."""

CACHE_VERSION = "1"


@dataclass(frozen=True)
class ImageFeatures:
    """Frozen tower outputs for N images: pooled (N, 1280), ImageNet logits (N, 1000) and, when tower
    blocks are trained, the float16 activations entering them (N, C, H, W)."""

    pooled: np.ndarray
    logits: np.ndarray
    activations: np.ndarray | None = None


class _ImageFiles(Dataset["torch.Tensor"]):
    """Map-style dataset: path i -> transformed tensor (view 0: eval crop, else augmented)."""

    def __init__(self, paths: Sequence[Path], tower: str, view: int, seed: int) -> None:
        self.paths = list(paths)
        self.view = view
        self.eval_transform = tower_transform(tower)
        self.augment = AugmentTransform(tower_spec(tower).image_size, seed=seed * 1009 + view)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> "torch.Tensor":
        image = load_image(self.paths[i])
        return torch.from_numpy(self.eval_transform(image)) if self.view == 0 else self.augment(image, key=i)


def _key(*parts: Any) -> str:
    digest = hashlib.sha1("\x1f".join(str(p) for p in (CACHE_VERSION, *parts)).encode())
    return digest.hexdigest()[:16]


def image_features(
    paths: Sequence[Path],
    tower: str,
    cache_dir: Path | None,
    view: int = 0,
    seed: int = 0,
    batch_size: int = 32,
    progress: Progress | None = None,
    tail_blocks: int = 0,
    model: "EfficientNet | None" = None,
    model_key: str = "",
) -> ImageFeatures:
    """Tower features of `paths` under view `view` (0 = evaluation crop), cached in `cache_dir`.

    With `tail_blocks` > 0 the activations entering the tower's last `tail_blocks` blocks are kept too.
    `model` replaces the ImageNet tower `tower` (e.g. one with fine-tuned blocks); `model_key` must then
    name its weights for the cache.
    """
    from retrieval.encoders.efficientnet import load_tower, tower_tail, trunk_activations

    resolved = [str(Path(p).resolve()) for p in paths]
    tail_tag = f"-t{tail_blocks}" if tail_blocks else ""
    key = _key(model_key, *resolved) if model_key else _key(*resolved)
    cache = cache_dir / f"img-{tower}-v{view}-s{seed}{tail_tag}-{key}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        with np.load(cache) as data:
            return ImageFeatures(data["pooled"], data["logits"], data["activations"] if tail_blocks else None)
    model = model if model is not None else load_tower(tower)
    n_tail = tail_blocks or 1
    tail = tower_tail(model, n_tail)
    files = _ImageFiles(paths, tower, view, seed)
    loader: DataLoader[torch.Tensor] = DataLoader(files, batch_size=batch_size, num_workers=1)
    pooled, logits, activations = [], [], []
    with torch.inference_mode():
        for pixels in loader:
            trunk = trunk_activations(model, pixels, n_tail)
            p, lg = tail(trunk)
            pooled.append(p.numpy())
            logits.append(lg.numpy())
            if tail_blocks:
                activations.append(trunk.half().contiguous().numpy())
            if progress:
                progress(f"image features (view {view})", sum(len(x) for x in pooled), len(paths))
    features = ImageFeatures(
        np.concatenate(pooled).astype(np.float32),
        np.concatenate(logits).astype(np.float32),
        np.concatenate(activations) if tail_blocks else None,
    )
    if cache is not None:
        with atomic_path(cache) as tmp, open(tmp, "wb") as handle:
            if features.activations is None:
                np.savez(handle, pooled=features.pooled, logits=features.logits)
            else:
                np.savez(handle, pooled=features.pooled, logits=features.logits, activations=features.activations)
    return features


def text_features(texts: Sequence[str], cache_dir: Path | None, routed: bool = False) -> np.ndarray:
    """Raw normalised MiniLM-space vectors (N, 384) of `texts`, cached in `cache_dir`: MiniLM's own (the
    recipes' training targets), or with `routed` read like queries (`raw_text_vectors`: English through
    MiniLM, other languages through the multilingual tower; what `mmsearch finetune` trains on)."""
    from retrieval.encoders.minilm import encode_minilm
    from retrieval.encoders.multilingual import raw_text_vectors, tower_files

    identity = tower_files() if routed else []  # a rebuilt multilingual folder is never read through an old cache
    kind = "routed" if routed else "minilm"
    cache = cache_dir / f"txt-{kind}-{_key(*identity, *texts)}.npy" if cache_dir else None
    if cache is not None and cache.is_file():
        return np.load(cache)
    vectors = raw_text_vectors(list(texts)) if routed else encode_minilm(texts)
    if cache is not None:
        with atomic_path(cache) as tmp, open(tmp, "wb") as handle:
            np.save(handle, vectors)
    return vectors

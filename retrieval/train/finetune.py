"""`mmsearch finetune`: adapt a lite model's heads to the user's own image/text pairs or labels."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from retrieval.encoders.lite import LiteEncoder, save_heads, weights_digest
from retrieval.errors import MmsearchError
from retrieval.prompts import IMAGE_TEMPLATES, TRAIN_TEMPLATES
from retrieval.train.data import PairSet, read_captions, read_labels
from retrieval.train.features import Progress, image_features, text_features
from retrieval.train.loop import EpochStats, TrainData, TrainSettings, ValData, train_heads, validation_recall

log = logging.getLogger(__name__)

TRAIN_MODES = ("heads", "last-n-blocks", "lora")
WEIGHTS_FILE = "lite-ft.safetensors"


@dataclass(frozen=True)
class FinetuneSettings:
    """Options of one fine-tuning run (`pairs` xor `labels`)."""

    out: Path
    pairs: Path | None = None
    labels: Path | None = None
    base: str = "lite"
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    train: str = "heads"
    val_fraction: float = 0.2
    seed: int = 0
    resume: Path | None = None
    wise_ft: float | None = None
    cache_dir: Path | None = None


@dataclass(frozen=True)
class FinetuneReport:
    """What a fine-tuning run did and how validation recall moved."""

    out: Path
    model_id: str
    base_model_id: str
    n_train_images: int
    n_val_images: int
    before: dict[str, float]
    after: dict[str, float]
    got_worse: bool
    best_epoch: int
    epochs_run: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**self.__dict__, "out": str(self.out)}


def _check(settings: FinetuneSettings) -> None:
    if (settings.pairs is None) == (settings.labels is None):
        raise MmsearchError("give exactly one of --pairs CSV or --labels CSV")
    if settings.out.exists():
        raise MmsearchError(f"output {settings.out} already exists; choose a new folder (nothing was overwritten)")
    if settings.train not in TRAIN_MODES:
        raise MmsearchError(f"unknown --train {settings.train!r}; choose one of {', '.join(TRAIN_MODES)}")
    if settings.train != "heads":
        raise MmsearchError(
            f"--train {settings.train} is not supported yet on the lite model; use --train heads "
            "(the image and text towers stay frozen)"
        )
    if settings.base.startswith("openclip:"):
        raise MmsearchError("fine-tuning an OpenCLIP base is not supported yet; use --base lite or a lite fine-tune folder")
    if not 0 < settings.val_fraction < 1:
        raise MmsearchError("--val-fraction must be between 0 and 1")
    if settings.wise_ft is not None and not 0 <= settings.wise_ft <= 1:
        raise MmsearchError("--wise-ft must be between 0 and 1")
    if settings.epochs < 1 or settings.batch_size < 2 or settings.lr <= 0:
        raise MmsearchError("--epochs must be >= 1, --batch-size >= 2 and --lr > 0")


def _load_base(name: str) -> LiteEncoder:
    from retrieval.encoders.registry import load_encoder

    encoder = load_encoder(name, device="cpu")
    if not isinstance(encoder, LiteEncoder):
        raise MmsearchError(f"fine-tuning {name!r} is not supported yet; use --base lite or a lite fine-tune folder")
    return encoder


def _read(settings: FinetuneSettings) -> tuple[PairSet, PairSet]:
    """(train, validation) split by image at random (seeded)."""
    if settings.labels is not None:
        pairs, _ = read_labels(settings.labels, templates=TRAIN_TEMPLATES)
        val_pairs, _ = read_labels(settings.labels, templates=IMAGE_TEMPLATES[:1])
    else:
        pairs = val_pairs = read_captions(Path(str(settings.pairs)))
    n_val = max(1, int(round(len(pairs) * settings.val_fraction)))
    if len(pairs) - n_val < 2:
        raise MmsearchError(f"too few images ({len(pairs)}) to fine-tune with a validation split")
    order = np.random.default_rng(settings.seed).permutation(len(pairs))
    return pairs.subset(np.sort(order[n_val:])), val_pairs.subset(np.sort(order[:n_val]))


def _interpolate(start: dict[str, torch.Tensor], end: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """WiSE-FT: (1 - alpha) * start + alpha * end for every floating tensor."""
    return {k: torch.lerp(start[k], v, alpha) if v.is_floating_point() else v for k, v in end.items()}


def finetune(settings: FinetuneSettings, progress: Callable[[EpochStats], None] | None = None,
             feature_progress: Progress | None = None) -> FinetuneReport:
    """Train the heads of a lite base on the given data and write a new model folder to `settings.out`."""
    _check(settings)
    started = time.perf_counter()
    base = _load_base(settings.base)
    train_set, val_set = _read(settings)
    tower = base.config.image_tower
    train_feats = image_features(train_set.images, tower, settings.cache_dir, progress=feature_progress)
    val_feats = image_features(val_set.images, tower, settings.cache_dir, progress=feature_progress)
    data = TrainData(
        torch.from_numpy(train_feats.pooled[None]),
        torch.from_numpy(train_feats.logits[None]),
        torch.from_numpy(train_set.image_group),
        torch.from_numpy(text_features(train_set.texts, settings.cache_dir)),
        torch.from_numpy(train_set.text_group),
    )
    val = ValData(
        torch.from_numpy(val_feats.pooled),
        torch.from_numpy(val_feats.logits),
        torch.from_numpy(text_features(val_set.texts, settings.cache_dir)),
        val_set.text_targets(),
    )
    heads = copy.deepcopy(base.heads).float()
    if settings.resume is not None:
        try:
            heads.load_state_dict(_load_state(settings.resume))
        except RuntimeError as err:
            raise MmsearchError(f"checkpoint {settings.resume} does not fit base {settings.base!r}: {err}") from err
    start_state = copy.deepcopy(heads.state_dict())
    before = validation_recall(heads.eval(), val)
    train = TrainSettings(
        epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed
    )
    result = train_heads(heads, data, train, val, progress)
    if settings.wise_ft is not None:
        heads.load_state_dict(_interpolate(start_state, heads.state_dict(), settings.wise_ft))
    after = validation_recall(heads, val)
    model_id = f"{base.model_id.split('+ft-')[0]}+ft-{weights_digest(heads)}"
    config = replace(
        base.config,
        model_id=model_id,
        base_model_id=base.model_id,
        weights=WEIGHTS_FILE,
        logit_scale=float(heads.logit_scale.exp()),
        extra={"finetune": {"before": before, "after": after, "best_epoch": result.best_epoch}},
    )
    save_heads(settings.out, heads, config)
    got_worse = after.get("R@1", 0) + after.get("R@5", 0) < before.get("R@1", 0) + before.get("R@5", 0)
    if got_worse:
        log.warning("validation recall got worse after fine-tuning: %s -> %s", before, after)
    return FinetuneReport(
        settings.out, model_id, base.model_id, len(train_set), len(val_set), before, after, got_worse,
        result.best_epoch, len(result.history), round(time.perf_counter() - started, 1),
    )


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    """Heads tensors from a fine-tune folder or a safetensors file (for --resume)."""
    from safetensors.torch import load_file

    from retrieval.encoders.lite import LiteConfig

    file = path / str(LiteConfig.read(path).weights) if path.is_dir() else path
    try:
        return load_file(str(file))
    except (OSError, ValueError, RuntimeError) as err:
        raise MmsearchError(f"cannot resume from {path}: {err}") from err

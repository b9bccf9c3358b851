"""`mmsearch finetune`: adapt a lite or OpenCLIP model to the user's own image/text pairs or labels."""

from __future__ import annotations

import copy
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from retrieval.encoders.base import Encoder
from retrieval.encoders.lite import TOWER_PREFIX, LiteEncoder, save_heads, weights_digest
from retrieval.encoders.openclip import OpenClipEncoder
from retrieval.errors import MmsearchError
from retrieval.query.prompts import IMAGE_TEMPLATES, TRAIN_TEMPLATES
from retrieval.train.data import PairSet, read_captions, read_labels
from retrieval.train.features import Progress, image_features, text_features
from retrieval.train.heads import Heads
from retrieval.train.job import FinetuneJob
from retrieval.train.loop import EpochStats, TrainData, TrainSettings, ValData, train_heads, validation_recall
from retrieval.train.openclip_heads import openclip_job
from retrieval.train.tower_tuning import TailHeads, trainable_tail, tuned_tower_state

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
    blocks: int = 2
    """Tower blocks trained by `last-n-blocks` and `lora` (counted from the end, plus the head convolution)."""
    lora_rank: int = 8
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
    if settings.train != "heads" and (settings.blocks < 1 or settings.lora_rank < 1):
        raise MmsearchError("--blocks and --lora-rank must be >= 1")
    if not 0 < settings.val_fraction < 1:
        raise MmsearchError("--val-fraction must be between 0 and 1")
    if settings.wise_ft is not None and not 0 <= settings.wise_ft <= 1:
        raise MmsearchError("--wise-ft must be between 0 and 1")
    if settings.epochs < 1 or settings.batch_size < 2 or settings.lr <= 0:
        raise MmsearchError("--epochs must be >= 1, --batch-size >= 2 and --lr > 0")


def _load_base(name: str) -> Encoder:
    from retrieval.encoders.registry import load_encoder

    return load_encoder(name, device="cpu")


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


def finetune(
    settings: FinetuneSettings,
    progress: Callable[[EpochStats], None] | None = None,
    feature_progress: Progress | None = None,
) -> FinetuneReport:
    """Fine-tune a lite or OpenCLIP base on the given data and write a new model folder to `settings.out`."""
    _check(settings)
    started = time.perf_counter()
    base = _load_base(settings.base)
    train_set, val_set = _read(settings)
    if isinstance(base, LiteEncoder):
        job = _lite_job(base, settings, train_set, val_set, feature_progress)
    elif isinstance(base, OpenClipEncoder):
        job = openclip_job(base, settings.train, train_set, val_set, feature_progress)
    else:
        raise MmsearchError(f"cannot fine-tune {settings.base!r}: only lite and OpenCLIP models can be fine-tuned")
    model = job.model
    start_state = copy.deepcopy(model.state_dict())
    before = validation_recall(model.eval(), job.val)
    train = TrainSettings(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        lr=settings.lr,
        seed=settings.seed,
        distill_weight=job.distill_weight,
    )
    result = train_heads(model, job.data, train, job.val, progress)
    if settings.wise_ft is not None:
        model.load_state_dict(_interpolate(start_state, model.state_dict(), settings.wise_ft))
    after = validation_recall(model, job.val)
    extra = {"finetune": {"train": settings.train, "before": before, "after": after, "best_epoch": result.best_epoch}}
    model_id = _save_atomically(job, settings.out, extra)
    got_worse = after.get("R@1", 0) + after.get("R@5", 0) < before.get("R@1", 0) + before.get("R@5", 0)
    if got_worse:
        log.warning("validation recall got worse after fine-tuning: %s -> %s", before, after)
    return FinetuneReport(
        settings.out,
        model_id,
        base.model_id,
        len(train_set),
        len(val_set),
        before,
        after,
        got_worse,
        result.best_epoch,
        len(result.history),
        round(time.perf_counter() - started, 1),
    )


def _save_atomically(job: FinetuneJob, out: Path, extra: dict[str, Any]) -> str:
    """Write the model into a hidden sibling folder, then rename it to `out`: a crash leaves no half model."""
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    model_id = job.save(staging, extra)
    staging.rename(out)
    return model_id


def _lite_job(
    base: LiteEncoder, settings: FinetuneSettings, train_set: PairSet, val_set: PairSet, progress: Progress | None
) -> FinetuneJob:
    """Lite: heads on cached pooled features, or heads + tower tail on cached trunk activations."""
    tail_blocks = 0 if settings.train == "heads" else settings.blocks
    tower = copy.deepcopy(base.tower) if tail_blocks else base.tower  # only tail training changes the tower

    def features(pairs: PairSet) -> tuple[torch.Tensor, torch.Tensor]:
        feats = image_features(
            pairs.images,
            base.config.image_tower,
            settings.cache_dir,
            progress=progress,
            tail_blocks=tail_blocks,
            model=tower,
            model_key=base.model_id,
        )
        inputs = feats.activations if tail_blocks else feats.pooled
        return torch.from_numpy(inputs), torch.from_numpy(feats.logits)

    (train_inputs, train_logits), (val_inputs, val_logits) = features(train_set), features(val_set)
    data = TrainData(
        train_inputs[None],
        train_logits[None],
        torch.from_numpy(train_set.image_group),
        torch.from_numpy(text_features(train_set.texts, settings.cache_dir, routed=True)),
        torch.from_numpy(train_set.text_group),
    )
    val = ValData(
        val_inputs,
        val_logits,
        torch.from_numpy(text_features(val_set.texts, settings.cache_dir, routed=True)),
        val_set.text_targets(),
    )
    heads = copy.deepcopy(base.heads).float().requires_grad_(True)
    if settings.resume is not None:
        try:
            heads.load_state_dict(_load_state(settings.resume))
        except RuntimeError as err:
            raise MmsearchError(f"checkpoint {settings.resume} does not fit base {settings.base!r}: {err}") from err
    lora_rank = settings.lora_rank if settings.train == "lora" else 0
    tail = trainable_tail(tower, tail_blocks, lora_rank) if tail_blocks else None
    model: Heads = TailHeads(tail, heads) if tail is not None else heads

    def save(out: Path, extra: dict[str, Any]) -> str:
        tuned_blocks = max(tail_blocks, base.config.tuned_blocks)
        tower_state = tuned_tower_state(tower, tail, tuned_blocks) if tuned_blocks else {}
        model_id = f"{base.model_id.split('+ft-')[0]}+ft-{weights_digest({**heads.state_dict(), **tower_state})}"
        config = replace(
            base.config,
            model_id=model_id,
            base_model_id=base.model_id,
            weights=WEIGHTS_FILE,
            tuned_blocks=tuned_blocks,
            logit_scale=float(heads.logit_scale.exp()),
            extra=extra,
        )
        save_heads(out, heads, config, tower_state)
        return model_id

    return FinetuneJob(model, data, val, TrainSettings.distill_weight, save)


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    """Heads tensors from a fine-tune folder or a safetensors file (for --resume)."""
    from safetensors.torch import load_file

    from retrieval.encoders.lite import LiteConfig

    file = path / str(LiteConfig.read(path).weights) if path.is_dir() else path
    try:
        state = load_file(str(file))
    except (OSError, ValueError, RuntimeError) as err:
        raise MmsearchError(f"cannot resume from {path}: {err}") from err
    if any(key.startswith(TOWER_PREFIX) for key in state):
        raise MmsearchError(f"{path} has fine-tuned tower blocks; start from it with --base {path} instead of --resume")
    return state

"""Training loop for the lite heads on cached frozen features, with early stopping on validation recall."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from retrieval.errors import MmsearchError
from retrieval.evaluation.metrics import best_positive_ranks, recall_at_k
from retrieval.train.heads import Heads, PriorHeads
from retrieval.train.losses import ClipLoss, distillation_loss

log = logging.getLogger(__name__)

EpochCallback = Callable[["EpochStats"], None]

MAX_LOGIT_SCALE = 100.0


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one training run."""

    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    distill_weight: float = 1.0
    distill_scale: float = 50.0
    patience: int = 8
    tower_lr_scale: float = 0.1
    """Learning rate of trained tower blocks relative to `lr` (they start from ImageNet weights)."""
    max_repeats: int = 5
    select_best: bool = True
    """Keep the epoch with the best validation recall (else the last epoch)."""


@dataclass(frozen=True)
class TrainData:
    """Cached features of the training images (V augmented views) and the raw texts.

    `image_inputs` (V, N, ...) is what the model's `image_vectors` takes: pooled features (heads only) or
    the activations entering the trained tower blocks. `logits` are the frozen tower's ImageNet logits (lite;
    None for models without the ImageNet prior).
    """

    image_inputs: torch.Tensor
    logits: torch.Tensor | None
    image_group: torch.Tensor
    text_raw: torch.Tensor
    text_group: torch.Tensor


@dataclass(frozen=True)
class ValData:
    """Cached features of the validation images (evaluation crop), texts and each text's positive images."""

    image_inputs: torch.Tensor
    logits: torch.Tensor | None
    text_raw: torch.Tensor
    text_positives: list[list[int]]


@dataclass(frozen=True)
class EpochStats:
    """What one epoch reports."""

    epoch: int
    loss: float
    logit_scale: float
    val: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    """Best state found, the epoch it came from and the history of all epochs."""

    state: dict[str, torch.Tensor]
    best_epoch: int
    best_val: dict[str, float]
    history: list[EpochStats]


def validation_recall(heads: Heads, val: ValData) -> dict[str, float]:
    """Text->image recall@1/5/10 of the heads on the validation features."""
    with torch.inference_mode():
        images = heads.image_vectors(val.image_inputs, val.logits).numpy()
        texts = heads.text_vectors(val.text_raw).numpy()
    return recall_at_k(best_positive_ranks(texts @ images.T, val.text_positives))


def _param_groups(model: Heads, settings: TrainSettings) -> list[dict]:
    """Optimizer groups: tower-tail parameters (`tail.*`) at `tower_lr_scale` x lr, the rest at lr."""
    head: list[torch.nn.Parameter] = []
    tower: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (tower if name.startswith("tail.") else head).append(param)
    groups = [{"params": head, "lr": settings.lr}]
    if tower:
        groups.append({"params": tower, "lr": settings.lr * settings.tower_lr_scale})
    return groups


def _score(recall: dict[str, float]) -> float:
    return recall.get("R@1", 0.0) + recall.get("R@5", 0.0)


def _epoch_examples(data: TrainData, max_repeats: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(image index, text index) pairs of one epoch: each image once per text of its own, random views later."""
    groups = data.image_group.numpy()
    text_groups = data.text_group.numpy()
    texts_of: dict[int, np.ndarray] = {g: np.flatnonzero(text_groups == g) for g in np.unique(groups)}
    images_per_group = dict(zip(*np.unique(groups, return_counts=True)))
    image_idx, text_idx = [], []
    for i, g in enumerate(groups.tolist()):
        candidates = texts_of[g]
        if len(candidates) == 0:
            continue
        repeats = int(min(max_repeats, max(1, round(len(candidates) / images_per_group[g]))))
        image_idx.extend([i] * repeats)
        text_idx.extend(rng.choice(candidates, size=repeats, replace=repeats > len(candidates)).tolist())
    order = rng.permutation(len(image_idx))
    return np.asarray(image_idx)[order], np.asarray(text_idx)[order]


def _distillation(
    heads: PriorHeads, image_vectors: torch.Tensor, logits: torch.Tensor | None, settings: TrainSettings
) -> torch.Tensor:
    """Learning without forgetting: KL between the ImageNet-class distributions of the trained image vectors (vs. the
    adapted class texts) and of the prior vectors."""
    if logits is None:
        raise MmsearchError("distillation needs the image tower's ImageNet logits")
    class_text = heads.text_vectors(heads.class_text)
    with torch.no_grad():
        teacher = settings.distill_scale * F.normalize(heads.prior(logits), dim=-1) @ heads.class_text.T
    student = settings.distill_scale * image_vectors @ class_text.T
    return distillation_loss(student, teacher)


def train_heads(
    heads: Heads,
    data: TrainData,
    settings: TrainSettings,
    val: ValData | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train the parameters of `heads` that require grad, in place, with multi-positive InfoNCE plus ImageNet
    distillation; keep the best state.

    With `val`, the best epoch is the one with the highest validation R@1 + R@5 and training
    stops after `patience` epochs without improvement; without it the last epoch is kept.
    """
    prior_heads = heads if isinstance(heads, PriorHeads) else None
    if settings.distill_weight > 0 and prior_heads is None:
        raise MmsearchError("distillation needs heads with an ImageNet prior")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    heads.train()
    groups = _param_groups(heads, settings)
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    examples_per_epoch = len(_epoch_examples(data, settings.max_repeats, rng)[0])
    n_steps = settings.epochs * math.ceil(examples_per_epoch / settings.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in groups], total_steps=max(1, n_steps), pct_start=0.1
    )
    loss_fn = ClipLoss()
    n_views = data.image_inputs.shape[0]
    history: list[EpochStats] = []
    best_state = copy.deepcopy(heads.state_dict())
    best_val = validation_recall(heads.eval(), val) if val is not None else {}
    best_epoch, stale = 0, 0
    for epoch in range(1, settings.epochs + 1):
        heads.train()
        image_idx, text_idx = _epoch_examples(data, settings.max_repeats, rng)
        views = rng.integers(0, n_views, size=len(image_idx))
        total, count = 0.0, 0
        for start in range(0, len(image_idx), settings.batch_size):
            i = torch.from_numpy(image_idx[start : start + settings.batch_size])
            j = torch.from_numpy(text_idx[start : start + settings.batch_size])
            v = torch.from_numpy(views[start : start + settings.batch_size])
            inputs = data.image_inputs[v, i]
            logits = data.logits[v, i] if data.logits is not None else None
            image_vectors = heads.image_vectors(inputs, logits)
            text_vectors = heads.text_vectors(data.text_raw[j])
            scale = heads.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)
            loss = loss_fn(image_vectors, text_vectors, scale, data.image_group[i], data.text_group[j])
            if settings.distill_weight > 0 and prior_heads is not None:
                loss = loss + settings.distill_weight * _distillation(prior_heads, image_vectors, logits, settings)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                heads.logit_scale.clamp_(max=math.log(MAX_LOGIT_SCALE))
            total += float(loss.detach()) * len(i)
            count += len(i)
        heads.eval()
        recall = validation_recall(heads, val) if val is not None else {}
        stats = EpochStats(epoch, total / max(count, 1), float(heads.logit_scale.detach().exp()), recall)
        history.append(stats)
        if on_epoch:
            on_epoch(stats)
        if val is None or not settings.select_best or _score(recall) > _score(best_val):
            best_state, best_val, best_epoch, stale = copy.deepcopy(heads.state_dict()), recall, epoch, 0
        else:
            stale += 1
            if settings.patience and stale >= settings.patience:
                log.info("early stop at epoch %d (best %d)", epoch, best_epoch)
                break
    heads.load_state_dict(best_state)
    heads.eval().requires_grad_(False)
    return TrainResult(best_state, best_epoch, best_val, history)

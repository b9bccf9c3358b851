"""Reproduce the shipped `lite` weights: cache frozen features, train the heads, evaluate, save.

python -m recipes.lite --data ../shared/data --out retrieval/models/lite
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recipes.args import add_paths
from recipes.captions import FLICKR_CAPTIONS
from retrieval.encoders.efficientnet import load_tower
from retrieval.encoders.lite import LiteConfig, build_heads, imagenet_class_text, save_heads
from retrieval.encoders.lite_heads import LiteHeads
from retrieval.evaluation.metrics import topk_accuracy
from retrieval.query.prompts import IMAGE_TEMPLATES, fill_templates
from retrieval.query.zeroshot import build_classifier
from retrieval.train.data import PairSet, merge, read_captions, read_labels, split_last
from retrieval.train.features import ImageFeatures, Progress, image_features, text_features
from retrieval.train.heads import PriorHeads
from retrieval.train.loop import TrainData, TrainSettings, ValData, train_heads, validation_recall
from retrieval.train.tower_tuning import TailHeads, trainable_tail, tuned_tower_state

log = logging.getLogger(__name__)

MODEL_ID = "lite-v1"
WEIGHTS_FILE = "lite-v1.safetensors"
"""Training and validation captions, under the data folder."""
CALTECH_LABELS = Path("caltech101", "labels.csv")
"""Training labels (split `train`) and the zero-shot test set (split `test`), under the data folder."""


@dataclass(frozen=True)
class BuildSettings:
    """The recipe of the shipped model (defaults) and the knobs the variant sweep turned."""

    data_dir: Path
    cache_dir: Path | None = None
    tower: str = "efficientnet_lite0"
    views: int = 2
    n_val: int = 160
    use_caltech: bool = True
    text_adapter: bool = True
    feature_dropout: float = 0.5
    prior_temperature: float = 1.0
    tail_blocks: int = 0
    """Also train the tower's last blocks and head convolution (0 = heads only)."""
    lora_rank: int = 0
    """With `tail_blocks`: train rank-r LoRA updates of their pointwise convolutions instead of every weight."""
    train: TrainSettings = field(
        default_factory=lambda: TrainSettings(epochs=30, distill_weight=0.3, select_best=False)
    )


@dataclass(frozen=True)
class Prepared:
    """Everything training and evaluation need, as cached features."""

    train: TrainData
    val: ValData
    class_text: torch.Tensor
    test_inputs: torch.Tensor
    test_logits: torch.Tensor
    test_labels: np.ndarray
    test_classes: list[str]
    test_texts: dict[str, np.ndarray]
    """Raw MiniLM vector of each zero-shot prompt of the test classes."""


def _features(images: list[Path], settings: BuildSettings, view: int, progress: Progress | None) -> ImageFeatures:
    return image_features(
        images, settings.tower, settings.cache_dir, view=view, progress=progress, tail_blocks=settings.tail_blocks
    )


def _inputs(features: ImageFeatures) -> np.ndarray:
    """What the trained model takes: the activations entering trained tower blocks, else pooled features."""
    return features.pooled if features.activations is None else features.activations


def _stack_views(
    sets: list[PairSet], settings: BuildSettings, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray]:
    """(views, images, ...) model inputs and (views, images, 1000) frozen logits of the training images."""
    inputs, logits = [], []
    for view in range(settings.views):
        feats = [_features(s.images, settings, view, progress) for s in sets]
        inputs.append(np.concatenate([_inputs(f) for f in feats]))
        logits.append(np.concatenate([f.logits for f in feats]))
    return np.stack(inputs), np.stack(logits)


def prepare(settings: BuildSettings, progress: Progress | None = None) -> Prepared:
    """Read the data, split off validation and compute (or load cached) frozen features."""
    flickr = read_captions(settings.data_dir / FLICKR_CAPTIONS)
    flickr_train, flickr_val = split_last(flickr, settings.n_val)
    labels_csv = settings.data_dir / CALTECH_LABELS
    offset = int(flickr.image_group.max()) + 1
    caltech_train, _ = read_labels(labels_csv, "train", group_offset=offset)
    caltech_test, classes = read_labels(labels_csv, "test", templates=IMAGE_TEMPLATES)
    train_sets = [flickr_train, caltech_train] if settings.use_caltech else [flickr_train]
    pairs = merge(*train_sets)
    train_inputs, train_logits = _stack_views(train_sets, settings, progress)
    val_feats = _features(flickr_val.images, settings, 0, progress)
    test_feats = _features(caltech_test.images, settings, 0, progress)

    def encode(texts: list[str]) -> np.ndarray:
        return text_features(texts, settings.cache_dir)

    test_texts = [t for c in classes for t in fill_templates(c, IMAGE_TEMPLATES)]
    return Prepared(
        train=TrainData(
            torch.from_numpy(train_inputs),
            torch.from_numpy(train_logits),
            torch.from_numpy(pairs.image_group),
            torch.from_numpy(encode(pairs.texts)),
            torch.from_numpy(pairs.text_group),
        ),
        val=ValData(
            torch.from_numpy(_inputs(val_feats)),
            torch.from_numpy(val_feats.logits),
            torch.from_numpy(encode(flickr_val.texts)),
            flickr_val.text_targets(),
        ),
        class_text=torch.from_numpy(imagenet_class_text(encode=encode)),
        test_inputs=torch.from_numpy(_inputs(test_feats)),
        test_logits=torch.from_numpy(test_feats.logits),
        test_labels=caltech_test.image_group,
        test_classes=classes,
        test_texts=dict(zip(test_texts, encode(test_texts))),
    )


def zeroshot_accuracy(heads: PriorHeads, prepared: Prepared) -> dict[str, float]:
    """Caltech-101 test top-1/top-5 of the heads, on cached features (the classifier of `eval_zeroshot`)."""

    def encode_texts(texts: list[str]) -> np.ndarray:
        raw = torch.from_numpy(np.stack([prepared.test_texts[t] for t in texts]))
        return heads.text_vectors(raw).numpy()

    with torch.inference_mode():
        classifier = build_classifier(encode_texts, prepared.test_classes, IMAGE_TEMPLATES)
        images = heads.image_vectors(prepared.test_inputs, prepared.test_logits).numpy()
    return topk_accuracy(images @ classifier.T, prepared.test_labels, ks=(1, 5))


def imagenet_agreement(heads: PriorHeads, prepared: Prepared) -> float:
    """Share of Caltech test images whose nearest ImageNet class text is the tower's own top-1 class.

    Measures how much ImageNet knowledge the image vectors keep (1.0 would be perfect recall of it).
    """
    with torch.inference_mode():
        logits = prepared.test_logits
        images = heads.image_vectors(prepared.test_inputs, logits)
        classes = heads.text_vectors(prepared.class_text)
        agree = (images @ classes.T).argmax(dim=1) == logits.argmax(dim=1)
    return float(agree.float().mean())


def lite_config(settings: BuildSettings, model_id: str = MODEL_ID) -> LiteConfig:
    """The config of a model built with `settings` (logit scale filled in after training)."""
    return LiteConfig(
        model_id=model_id,
        image_tower=settings.tower,
        prior_temperature=settings.prior_temperature,
        text_adapter=settings.text_adapter,
        feature_dropout=settings.feature_dropout,
        tuned_blocks=settings.tail_blocks,
        logit_scale=1 / 0.07,
        weights=WEIGHTS_FILE,
    )


def train_variant(
    settings: BuildSettings, prepared: Prepared, on_epoch: Any = None
) -> tuple[LiteHeads, dict[str, torch.Tensor], dict[str, Any]]:
    """Train one variant; returns heads, the tuned tower tensors (empty for heads only) and the metrics
    before and after training."""
    heads = build_heads(lite_config(settings), prepared.class_text).eval()
    model: LiteHeads | TailHeads = heads
    tower_state: dict[str, torch.Tensor] = {}
    if settings.tail_blocks:
        tower = load_tower(settings.tower)
        model = TailHeads(trainable_tail(tower, settings.tail_blocks, settings.lora_rank), heads)
    before = _measure(model.eval(), prepared)
    result = train_heads(model, prepared.train, settings.train, prepared.val, on_epoch)
    after = _measure(model, prepared)
    if isinstance(model, TailHeads):
        tower_state = tuned_tower_state(tower, model.tail, settings.tail_blocks)
    return heads, tower_state, {"before": before, "after": after, "best_epoch": result.best_epoch}


def _measure(heads: PriorHeads, prepared: Prepared) -> dict[str, Any]:
    return {
        "val_t2i": validation_recall(heads, prepared.val),
        "caltech": zeroshot_accuracy(heads, prepared),
        "imagenet_agreement": imagenet_agreement(heads, prepared),
    }


def build(settings: BuildSettings, out_dir: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Train the recipe in `settings` and write the model to `out_dir`; returns the measured metrics."""
    start = time.perf_counter()
    prepared = prepare(settings, progress)
    heads, tower_state, metrics = train_variant(
        settings, prepared, lambda stats: log.info("epoch %d loss %.4f val %s", stats.epoch, stats.loss, stats.val)
    )
    config = replace(lite_config(settings), logit_scale=float(heads.logit_scale.exp()))
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    config = replace(config, extra={"metrics": metrics, "recipe": _recipe(settings)})
    save_heads(out_dir, heads, config, tower_state)
    return metrics


def _recipe(settings: BuildSettings) -> dict[str, Any]:
    recipe = asdict(settings)
    recipe.pop("data_dir")
    recipe.pop("cache_dir")
    return recipe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipes.lite", description=__doc__.splitlines()[0])
    add_paths(parser, "lite")
    parser.add_argument("--tower", default="efficientnet_lite0")
    parser.add_argument("--views", type=int, default=2, help="feature views per training image (1 = no augmentation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tail-blocks", type=int, default=0, help="also train the tower's last N blocks")
    parser.add_argument("--lora-rank", type=int, default=0, help="with --tail-blocks: LoRA rank (0 = every weight)")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    defaults = BuildSettings(args.data)
    settings = replace(
        defaults,
        cache_dir=args.cache,
        tower=args.tower,
        views=args.views,
        tail_blocks=args.tail_blocks,
        lora_rank=args.lora_rank,
        train=replace(defaults.train, seed=args.seed, epochs=args.epochs),
    )
    metrics = build(settings, args.out, progress=lambda stage, done, total: log.info("%s %d/%d", stage, done, total))
    log.info("metrics: %s", json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

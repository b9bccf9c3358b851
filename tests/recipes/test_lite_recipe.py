"""The lite recipe on real data: its config, and data assembly plus one epoch on a few real images."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import recipes.lite
from recipes.lite import CALTECH_LABELS, FLICKR_CAPTIONS, BuildSettings, lite_config, prepare, train_variant
from retrieval.encoders.lite import DEFAULT_WEIGHTS_DIR, LiteConfig
from retrieval.media.text import read_rows
from tests.conftest import write_csv


def test_recipe_config_is_the_shipped_one(data_dir: Path) -> None:
    shipped = LiteConfig.read(DEFAULT_WEIGHTS_DIR)
    built = replace(lite_config(BuildSettings(data_dir)), logit_scale=shipped.logit_scale, extra=shipped.extra)
    assert built == shipped
    recipe, shipped_recipe = asdict(BuildSettings(data_dir)), shipped.extra["recipe"]
    for key in ("tower", "views", "n_val", "use_caltech", "text_adapter", "feature_dropout", "prior_temperature"):
        assert recipe[key] == shipped_recipe[key], key
    assert {k: recipe["train"][k] for k in shipped_recipe["train"]} == shipped_recipe["train"]


def _small_data(data_dir: Path, root: Path) -> Path:
    """Captions of 8 Flickr images and 2 train + 1 test image of 3 Caltech classes (absolute paths)."""
    captions = read_rows(data_dir / FLICKR_CAPTIONS, ("image", "caption"))
    images = sorted({r["image"] for r in captions})[:8]
    folder = data_dir / FLICKR_CAPTIONS.parent
    rows = [[str(folder / r["image"]), r["caption"]] for r in captions if r["image"] in images]
    (root / FLICKR_CAPTIONS.parent).mkdir(parents=True)
    write_csv(root / FLICKR_CAPTIONS, ["image", "caption"], rows)
    labels = read_rows(data_dir / CALTECH_LABELS, ("path", "label", "split"))
    keep = []
    for label in ("airplanes", "dolphin", "pizza"):
        for split, count in (("train", 2), ("test", 1)):
            keep += [r for r in labels if r["label"] == label and r["split"] == split][:count]
    (root / CALTECH_LABELS.parent).mkdir(parents=True)
    rows = [[str(data_dir / CALTECH_LABELS.parent / r["path"]), r["label"], r["split"]] for r in keep]
    write_csv(root / CALTECH_LABELS, ["path", "label", "split"], rows)
    return root


def test_one_epoch_on_a_few_real_images(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The MiniLM vectors of the 1,000 ImageNet class names take most of the time; stand-in vectors of the same
    # shape keep the prior (and the distillation against it) running.
    stand_in = F.normalize(torch.randn(1000, 384, generator=torch.Generator().manual_seed(0)), dim=1).numpy()
    monkeypatch.setattr(recipes.lite, "imagenet_class_text", lambda encode: stand_in)
    defaults = BuildSettings(_small_data(data_dir, tmp_path / "data"))
    settings = replace(defaults, n_val=2, views=1, train=replace(defaults.train, epochs=1, batch_size=8))
    prepared = prepare(settings)
    assert prepared.train.image_inputs.shape == (1, 6 + 6, 1280)
    assert prepared.test_classes == ["airplanes", "dolphin", "pizza"]
    heads, tower_state, metrics = train_variant(settings, prepared)
    assert tower_state == {} and metrics["best_epoch"] == 1
    assert not torch.equal(heads.image_head.weight, torch.zeros_like(heads.image_head.weight))
    assert set(metrics["after"]["caltech"]) == {"top1", "top5"}

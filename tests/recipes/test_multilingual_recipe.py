"""The multilingual adapter's recipe: its loss, the photo anchors it ranks, and its record in the shipped config."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from recipes.multilingual import AdapterSettings, Anchors, adapter_loss, anchor_paths, anchor_photos
from retrieval.encoders.lite import LiteEncoder
from retrieval.encoders.multilingual import MODEL_DIR, AdapterConfig
from retrieval.media.image import load_image

GENERATOR = torch.Generator().manual_seed(0)


def _unit(rows: int, dim: int = 8) -> torch.Tensor:
    return F.normalize(torch.randn(rows, dim, generator=GENERATOR), dim=-1)


def _anchors(dim: int = 8, photos: int = 16) -> Anchors:
    weight = 0.1 * torch.randn(dim, dim, generator=GENERATOR)
    return Anchors(_unit(photos, dim), lambda raw: F.normalize(raw + raw @ weight.T, dim=-1), "test")


def test_anchor_term_is_the_kl_from_the_targets_photo_ranking_to_the_predictions() -> None:
    anchors, settings = _anchors(), AdapterSettings()
    target, prediction = _unit(4), _unit(4)
    scale = 1 / settings.anchor_temperature
    wanted = torch.softmax(anchors.shared(target) @ anchors.images.T * scale, dim=-1)
    got = torch.softmax(anchors.shared(prediction) @ anchors.images.T * scale, dim=-1)
    kl = (wanted * (wanted.log() - got.log())).sum(dim=1).mean()
    extra = adapter_loss(prediction, target, settings, anchors) - adapter_loss(prediction, target, settings)
    assert torch.allclose(extra, settings.anchor_weight * kl, atol=1e-4)
    assert kl > 0.1  # and not the reverse direction, which differs here:
    assert not torch.allclose(kl, (got * (got.log() - wanted.log())).sum(dim=1).mean(), atol=1e-3)


def test_anchor_term_is_zero_when_the_prediction_is_the_target() -> None:
    target, settings = _unit(4), AdapterSettings()
    assert torch.allclose(adapter_loss(target, target, settings, _anchors()), adapter_loss(target, target, settings))


def test_anchors_are_the_lite_models_vectors_of_its_training_photos(data_dir: Path, tmp_path: Path) -> None:
    paths = anchor_paths(data_dir)
    assert len(paths) == 640 + 2020  # Flickr training photos, Caltech train split (no background)
    assert paths[0].name == "1000268201_693b08cb0e.jpg" and "caltech101" in str(paths[-1])
    anchors = anchor_photos(paths[:3], tmp_path)
    encoder = LiteEncoder()
    expected = encoder.encode_images([load_image(p) for p in paths[:3]])
    assert np.allclose(anchors.images.numpy(), expected, atol=2e-3)
    raw = _unit(3, 384)
    assert np.allclose(anchors.shared(raw).numpy(), encoder.adapt_text(raw.numpy()), atol=1e-5)


def test_shipped_adapter_records_this_recipe() -> None:
    extra = AdapterConfig.read(MODEL_DIR).extra
    assert extra is not None and extra["recipe"] == asdict(AdapterSettings())
    assert extra["metrics"]["anchors"] == {"model": LiteEncoder().model_id, "photos": 2660}

"""The multilingual adapter's recipe: its loss, the photo anchors it ranks, and its record in the shipped config."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from recipes.multilingual import AdapterSettings, Anchors, adapter_loss, anchor_photos
from retrieval.encoders.lite import LiteEncoder
from retrieval.encoders.multilingual import MODEL_DIR, AdapterConfig
from retrieval.media.image import load_image


def _anchors(dim: int = 8, photos: int = 16) -> Anchors:
    generator = torch.Generator().manual_seed(0)
    images = F.normalize(torch.randn(photos, dim, generator=generator), dim=-1)
    return Anchors(images, 0.1 * torch.randn(dim, dim, generator=generator), torch.zeros(dim))


def test_anchor_term_is_zero_when_the_prediction_is_the_target() -> None:
    target = F.normalize(torch.randn(4, 8), dim=-1)
    settings = AdapterSettings()
    with_anchors = adapter_loss(target, target, settings, _anchors())
    assert torch.allclose(with_anchors, adapter_loss(target, target, settings), atol=1e-5)


def test_anchor_term_penalises_a_prediction_that_ranks_the_photos_otherwise() -> None:
    anchors = _anchors()
    target = F.normalize(torch.randn(4, 8), dim=-1)
    # Nudged towards or away from some anchor photos: close to the target, but the photos rank otherwise.
    settings = AdapterSettings()
    near = F.normalize(target + 0.05 * anchors.images[:4], dim=-1)
    far = F.normalize(target - 0.05 * anchors.images[:4], dim=-1)
    for prediction in (near, far):
        assert adapter_loss(prediction, target, settings, anchors) > adapter_loss(prediction, target, settings)
    off = F.normalize(torch.randn(4, 8), dim=-1)
    assert adapter_loss(off, target, settings, anchors) - adapter_loss(off, target, settings) > (
        adapter_loss(near, target, settings, anchors) - adapter_loss(near, target, settings)
    )


def test_anchor_photos_are_the_lite_models_vectors_of_its_training_photos(data_dir: Path, tmp_path: Path) -> None:
    anchors = anchor_photos(data_dir, tmp_path)
    assert anchors.images.shape == (640 + 2020, 384)  # Flickr training photos, Caltech train split (no background)
    encoder = LiteEncoder()
    first = data_dir / "flickr8k_800" / "images" / "1000268201_693b08cb0e.jpg"
    assert np.allclose(anchors.images[0].numpy(), encoder.encode_images([load_image(first)])[0], atol=2e-3)
    raw = F.normalize(torch.randn(3, 384), dim=-1)
    assert np.allclose(anchors.shared(raw).numpy(), encoder.adapt_text(raw.numpy()), atol=1e-5)


def test_shipped_adapter_records_this_recipe() -> None:
    extra = AdapterConfig.read(MODEL_DIR).extra
    assert extra is not None and extra["recipe"] == asdict(AdapterSettings())

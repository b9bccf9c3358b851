"""Training on a small real subset, checkpoint round trip, fine-tune guards."""

from pathlib import Path

import numpy as np
import pytest
import torch

from retrieval.encoders.audio_config import audio_tower_config
from retrieval.encoders.lite import LiteConfig, LiteEncoder, build_heads, save_heads
from retrieval.errors import MmsearchError
from retrieval.train.data import read_captions, split_last
from retrieval.train.features import image_features, text_features
from retrieval.train.finetune import FinetuneSettings, finetune
from retrieval.train.loop import TrainData, TrainSettings, ValData, train_heads, validation_recall


@pytest.fixture(scope="module")
def small_flickr(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Cached features of 64 Flickr images: 48 for training, the last 16 for validation."""
    cache = tmp_path_factory.mktemp("features")
    pairs = read_captions(data_dir / "flickr8k_800" / "captions.csv").subset(range(64))
    train, val = split_last(pairs, 16)
    feats = image_features(train.images, "efficientnet_lite0", cache)
    val_feats = image_features(val.images, "efficientnet_lite0", cache)
    train_data = TrainData(
        torch.from_numpy(feats.pooled[None]),
        torch.from_numpy(feats.logits[None]),
        torch.from_numpy(train.image_group),
        torch.from_numpy(text_features(train.texts, cache)),
        torch.from_numpy(train.text_group),
    )
    val_data = ValData(
        torch.from_numpy(val_feats.pooled),
        torch.from_numpy(val_feats.logits),
        torch.from_numpy(text_features(val.texts, cache)),
        val.text_targets(),
    )
    return train_data, val_data


@pytest.mark.slow
def test_training_lowers_loss_and_raises_validation_recall(small_flickr):
    train_data, val_data = small_flickr
    heads = build_heads(LiteConfig(logit_scale=1 / 0.07))
    before = validation_recall(heads.eval(), val_data)
    result = train_heads(heads, train_data, TrainSettings(epochs=15, batch_size=64, lr=2e-3, patience=15), val_data)
    assert result.history[-1].loss < result.history[0].loss
    assert result.best_val["R@1"] + result.best_val["R@5"] > before["R@1"] + before["R@5"]


@pytest.mark.slow
def test_checkpoint_round_trip_gives_identical_vectors(tmp_path: Path, data_dir: Path):
    torch.manual_seed(0)
    config = LiteConfig(model_id="lite-test", text_adapter=True, weights="w.safetensors")
    heads = build_heads(config)
    with torch.no_grad():
        for p in heads.parameters():
            p.add_(0.01 * torch.randn_like(p))
    save_heads(tmp_path, heads, config)
    encoder = LiteEncoder(weights_dir=tmp_path)
    assert encoder.model_id == f"lite-test+{audio_tower_config().model_id}"
    raw = torch.nn.functional.normalize(torch.randn(3, 384), dim=1)
    with torch.inference_mode():
        expected_text = heads.text_vectors(raw).numpy()
        pooled, logits = torch.randn(2, 1280), torch.randn(2, 1000)
        expected_image = heads.image_vectors(pooled, logits).numpy()
        loaded_image = encoder.heads.image_vectors(pooled, logits).numpy()
    np.testing.assert_array_equal(loaded_image, expected_image)  # the torch heads fine-tuning resumes from
    # inference runs them in numpy
    np.testing.assert_allclose(encoder.adapt_text(raw.numpy()), expected_text, atol=1e-6)
    np.testing.assert_allclose(
        encoder.head_arrays.image_vectors(pooled.numpy(), logits.numpy()), expected_image, atol=1e-6
    )


def test_finetune_refuses_existing_output(tmp_path: Path, data_dir: Path):
    settings = FinetuneSettings(out=tmp_path, pairs=data_dir / "flickr8k_800" / "captions.csv")
    with pytest.raises(MmsearchError, match="already exists"):
        finetune(settings)


def test_finetune_refuses_unsupported_modes(tmp_path: Path, data_dir: Path, captions_subset: Path):
    settings = FinetuneSettings(out=tmp_path / "new", labels=data_dir / "caltech101" / "labels.csv", train="everything")
    with pytest.raises(MmsearchError, match="unknown --train"):
        finetune(settings)
    tower_mode = FinetuneSettings(
        out=tmp_path / "new", pairs=captions_subset, base="openclip:ViT-B-32/random", train="last-n-blocks"
    )
    with pytest.raises(MmsearchError, match="--train last-n-blocks is for lite models"):
        finetune(tower_mode)
    no_matrix_projection = FinetuneSettings(out=tmp_path / "new", pairs=captions_subset, base="openclip:RN50/random")
    with pytest.raises(MmsearchError, match="fine-tuning RN50 is not supported"):
        finetune(no_matrix_projection)
    assert not (tmp_path / "new").exists()


def test_finetune_crash_while_saving_leaves_no_model_folder(tmp_path: Path, captions_subset: Path, monkeypatch):
    import retrieval.train.finetune as finetune_module

    def crash(weights_dir: Path, *args) -> None:
        weights_dir.mkdir(parents=True)
        (weights_dir / "lite-ft.safetensors").write_bytes(b"half")
        raise RuntimeError("killed while saving")

    monkeypatch.setattr(finetune_module, "save_heads", crash)
    out = tmp_path / "tuned"
    with pytest.raises(RuntimeError, match="killed"):
        finetune(
            FinetuneSettings(
                out=out, pairs=captions_subset, epochs=1, batch_size=16, val_fraction=0.25, cache_dir=tmp_path / "cache"
            )
        )
    assert not out.exists()
    monkeypatch.undo()
    finetune(
        FinetuneSettings(
            out=out, pairs=captions_subset, epochs=1, batch_size=16, val_fraction=0.25, cache_dir=tmp_path / "cache"
        )
    )  # the re-run is not blocked by the leftover
    assert (out / "config.json").is_file() and not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_caption_features_in_other_languages_go_through_the_multilingual_tower(tmp_path: Path) -> None:
    """`mmsearch finetune` captions are read like queries: English by MiniLM, others by the multilingual tower."""
    from retrieval.encoders.minilm import encode_minilm
    from retrieval.encoders.multilingual import multilingual_tower

    texts = ["a dog runs on the beach", "un perro corre por la playa", "一只狗在海滩上跑"]
    features = text_features(texts, tmp_path, routed=True)
    np.testing.assert_array_equal(features[:1], encode_minilm(texts[:1]))
    np.testing.assert_allclose(features[1:], multilingual_tower().encode(texts[1:]), atol=1e-6)
    np.testing.assert_array_equal(text_features(texts, tmp_path, routed=True), features)  # from the cache
    np.testing.assert_array_equal(text_features(texts, tmp_path), encode_minilm(texts))  # recipes' targets

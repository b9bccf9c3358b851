"""ONNX Runtime towers of the lite model: they rank real photos and recordings like eager torch, their
exports are cached by weights (a changed tower is exported again, an unchanged one never), and a missing
extra is one line saying how to install it."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from retrieval.encoders import efficientnet, minilm, onnx_runtime
from retrieval.encoders.base import CPU_BF16_ENV
from retrieval.encoders.efficientnet import block_prefixes
from retrieval.encoders.lite import TOWER_PREFIX, LiteEncoder, save_heads
from retrieval.encoders.registry import load_encoder
from retrieval.errors import MissingDependencyError, MmsearchError
from retrieval.media.audio import load_audio
from retrieval.media.image import load_image
from tests.conftest import CALTECH_CLASSES, caltech_test_images


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty weights cache for this test."""
    monkeypatch.setenv("MMSEARCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def _recall(scores: np.ndarray, query_labels: list[str], item_labels: np.ndarray, k: int) -> float:
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean([label in item_labels[row] for label, row in zip(query_labels, top)]))


def test_onnx_towers_rank_real_photos_and_recordings_like_torch(data_dir: Path, fsdd_dir: Path, cache: Path) -> None:
    photos = caltech_test_images(data_dir, per_class=4)
    eager = LiteEncoder()
    pixels = np.stack([eager.image_transform()(load_image(p)) for p, _ in photos])
    mel = eager.audio_transform()
    window = int(eager.audio_sample_rate * eager.audio_window_s)
    waves = [load_audio(p, sample_rate=eager.audio_sample_rate) for p in sorted(fsdd_dir.glob("*.wav"))[:16]]
    mels = np.stack([mel(np.pad(w[:window], (0, max(0, window - len(w))))) for w in waves])
    torch_images, torch_audio = eager.encode_image_batch(pixels), eager.encode_audio_batch(mels)

    onnx = LiteEncoder()
    assert onnx.use_runtime("onnx") == "onnxruntime"
    onnx_images, onnx_audio = onnx.encode_image_batch(pixels), onnx.encode_audio_batch(mels)
    assert np.min(np.sum(torch_images * onnx_images, axis=1)) >= 0.9999
    assert np.min(np.sum(torch_audio * onnx_audio, axis=1)) >= 0.9999

    queries = eager.encode_texts([f"a photo of a {c}." for c in CALTECH_CLASSES])
    labels = np.array([label for _, label in photos])
    torch_scores, onnx_scores = queries @ torch_images.T, queries @ onnx_images.T
    classes = list(CALTECH_CLASSES)
    for k in (1, 5, 10):
        assert abs(_recall(torch_scores, classes, labels, k) - _recall(onnx_scores, classes, labels, k)) <= 0.005
    top_torch, top_onnx = np.argsort(-torch_scores, axis=1)[:, :10], np.argsort(-onnx_scores, axis=1)[:, :10]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_torch, top_onnx)])
    assert overlap >= 0.95, overlap


def _tuned_model(folder: Path) -> Path:
    """A fine-tune folder whose weights replace the tower's last block and head convolution (as
    `mmsearch finetune --tower last-n-blocks` writes one), with the head convolution changed."""
    base = LiteEncoder()
    prefixes = tuple(block_prefixes(base.tower, 1))
    state = {
        f"{TOWER_PREFIX}{key}": tensor * 1.5 if key.startswith("conv_head.") else tensor
        for key, tensor in base.tower.state_dict().items()
        if key.startswith(prefixes)
    }
    config = replace(base.config, model_id="lite-tuned-test", weights="tuned.safetensors", tuned_blocks=1)
    folder.mkdir()
    save_heads(folder, base.heads, config, state)
    return folder


def test_exports_are_cached_by_weights_and_redone_when_they_change(
    cache: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_run = LiteEncoder()
    first_run.use_runtime("onnx")
    first = sorted(cache.glob("*.onnx"))
    assert [p.name.split("-")[0] for p in first] == ["audio", "image", "text"]

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("built or exported again although these weights have an export")

    with monkeypatch.context() as patch:
        patch.setattr(onnx_runtime, "onnx_tower", never)  # a second run of the same encoder loads no session
        towers = dict(first_run._onnx)
        assert first_run.use_runtime("torch") == "torch" and not first_run._onnx
        assert first_run.use_runtime("auto") == "onnxruntime" and first_run._onnx == towers
    with monkeypatch.context() as patch:
        patch.setattr(torch.onnx, "export", never)
        patch.setattr(efficientnet, "load_tower", never)  # a cached export needs no torch tower
        assert LiteEncoder().use_runtime("auto") == "onnxruntime"
    assert sorted(cache.glob("*.onnx")) == first

    image_export = next(p for p in first if p.name.startswith("image"))
    image_export.write_bytes(image_export.read_bytes()[:1000])  # damaged on disk: exported again, not fatal
    LiteEncoder().use_runtime("onnx")
    assert image_export.stat().st_size > 1000 and sorted(cache.glob("*.onnx")) == first

    text_export = next(p for p in first if p.name.startswith("text"))
    expected = LiteEncoder().encode_texts(["a dog on a beach"])
    text_export.write_bytes(b"damaged")
    minilm._minilm_session.cache_clear()
    np.testing.assert_allclose(LiteEncoder().encode_texts(["a dog on a beach"]), expected, atol=1e-5)  # on torch
    assert not text_export.exists()  # removed, so that the next index run exports it again
    LiteEncoder().use_runtime("onnx")
    assert sorted(cache.glob("*.onnx")) == first
    minilm._minilm_session.cache_clear()
    LiteEncoder().use_runtime("onnx")
    assert minilm._minilm_session.cache_info().currsize == 0  # a run loads MiniLM's session when it reads a text

    folder = _tuned_model(tmp_path / "tuned")
    pixels = np.stack([LiteEncoder().image_transform()(load_image(p)) for p, _ in caltech_test_images(data_dir)[:4]])
    base_vectors = LiteEncoder().encode_image_batch(pixels)
    tuned_torch = LiteEncoder(folder).encode_image_batch(pixels)
    tuned = LiteEncoder(folder)
    tuned.use_runtime("onnx")
    tuned_onnx = tuned.encode_image_batch(pixels)
    assert len(list(cache.glob("image-*.onnx"))) == 2 and list(cache.glob("audio-*.onnx")) == first[:1]
    assert list(cache.glob("text-*.onnx")) == first[2:]  # MiniLM's export is shared by every lite model
    assert np.abs(tuned_onnx - tuned_torch).max() * 10 < np.abs(tuned_onnx - base_vectors).max()
    assert not list(cache.glob(".*.tmp"))  # every export was renamed into place whole


def test_torch_runtime_a_missing_extra_and_models_without_exports(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert LiteEncoder().use_runtime("torch") == "torch"
    assert not cache.exists()  # torch exports nothing
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else found(name, *a))
    assert LiteEncoder().use_runtime("auto") == "torch"
    with pytest.raises(MissingDependencyError, match=r"needs onnx: pip install 'mmsearch\[onnx\]'"):
        LiteEncoder().use_runtime("onnx")
    monkeypatch.undo()
    with pytest.raises(MmsearchError, match="runs on the CPU"):
        LiteEncoder().to("cuda").use_runtime("onnx")
    monkeypatch.setenv(CPU_BF16_ENV, "0")  # where the CPU multiplies bf16, OpenCLIP's torch runs in bf16 ("torch bf16")
    openclip = load_encoder("openclip:ViT-B-32/random", device="cpu")  # no export: ONNX Runtime ran it 1.00x
    assert openclip.use_runtime("auto") == "torch"
    with pytest.raises(MmsearchError, match="no export of 'openclip:ViT-B-32/random'"):
        openclip.use_runtime("onnx")


def test_sessions_let_idle_threads_sleep(tmp_path: Path) -> None:
    """An index run's decode thread shares the cores: ONNX Runtime's idle threads must not spin on them."""
    from retrieval.encoders.onnx_runtime import OnnxTower

    path = tmp_path / "linear.onnx"
    torch.onnx.export(torch.nn.Linear(4, 2), (torch.zeros(1, 4),), str(path), input_names=["x"], dynamo=False)
    tower = OnnxTower(path, threads=2)
    assert tower.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert tower(np.ones((1, 4), dtype=np.float32))[0].shape == (1, 2)


def test_a_damaged_export_replaced_meanwhile_is_kept(tmp_path: Path) -> None:
    from retrieval.encoders.onnx_runtime import _remove_unless_replaced

    path = tmp_path / "image-v1-abc.onnx"
    path.write_bytes(b"damaged")
    seen = path.stat()
    fresh = tmp_path / ".image.tmp"
    fresh.write_bytes(b"a new export")
    fresh.replace(path)  # what an index run's atomic write does
    _remove_unless_replaced(path, seen)
    assert path.read_bytes() == b"a new export"
    _remove_unless_replaced(path, path.stat())
    assert not path.exists()
    _remove_unless_replaced(path, seen)  # gone already: nothing to do, no error

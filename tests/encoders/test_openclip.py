"""The OpenCLIP path on a tiny registered architecture: random init, local checkpoint file, indexing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.encoders.registry import load_encoder, model_id_of
from tests.conftest import write_csv

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}


@pytest.fixture(scope="module")
def tiny_arch(tmp_path_factory: pytest.TempPathFactory) -> str:
    import open_clip

    folder = tmp_path_factory.mktemp("openclip-configs")
    (folder / "mmsearch-tiny.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(folder)
    return "mmsearch-tiny"


def test_random_init_and_local_checkpoint_give_same_vectors(tiny_arch: str, tmp_path: Path, data_dir: Path) -> None:
    import torch
    from PIL import Image

    random_model = load_encoder(f"openclip:{tiny_arch}/random", device="cpu")
    assert random_model.dim == 32 and random_model.model_id == f"openclip:{tiny_arch}/random"
    checkpoint = tmp_path / "tiny.pt"
    torch.save(random_model.model.state_dict(), checkpoint)
    from_file = load_encoder(f"openclip:{tiny_arch}/{checkpoint}", device="cpu")
    assert from_file.model_id == model_id_of(f"openclip:{tiny_arch}/{checkpoint}")
    image = Image.open(data_dir / "skimage_data/images/chelsea.png")
    np.testing.assert_allclose(from_file.encode_images([image]), random_model.encode_images([image]), atol=1e-5)
    np.testing.assert_allclose(from_file.encode_texts(["a cat"]), random_model.encode_texts(["a cat"]), atol=1e-5)
    assert abs(float(np.linalg.norm(from_file.encode_texts(["a cat"])[0])) - 1.0) < 1e-5


def test_index_and_query_with_openclip(tiny_arch: str, runner, tmp_path: Path, caltech_folder: Path) -> None:
    from cli.app import app

    model = f"openclip:{tiny_arch}/random"
    db = tmp_path / "db"
    indexed = runner.invoke(app, ["index", str(caltech_folder / "pizza"), "--db", str(db), "--model", model, "--json"])
    assert indexed.exit_code == 0, indexed.output
    assert json.loads(indexed.stdout)["new"] == 10
    found = runner.invoke(
        app,
        [
            "query",
            "--image",
            str(sorted((caltech_folder / "pizza").iterdir())[2]),
            "--db",
            str(db),
            "-k",
            "1",
            "--json",
        ],
    )
    assert found.exit_code == 0, found.output
    payload = json.loads(found.stdout)
    assert payload["model"] == model and payload["results"][0]["score"] > 0.99


def test_missing_checkpoint_file(tiny_arch: str) -> None:
    from retrieval.errors import EncoderNotFoundError

    with pytest.raises(EncoderNotFoundError, match="checkpoint not found"):
        load_encoder(f"openclip:{tiny_arch}/no/such/file.pt", device="cpu")


def test_finetune_openclip_projections_round_trip(tiny_arch: str, tmp_path: Path, caltech_folder: Path) -> None:
    """finetune an OpenCLIP base -> the folder loads as a model whose vectors use the trained projections."""
    import torch

    from retrieval.errors import MmsearchError
    from retrieval.train.finetune import FinetuneSettings, finetune

    classes = ("pizza", "crab", "laptop")
    rows = [[p, p.parent.name] for name in classes for p in sorted((caltech_folder / name).iterdir())]
    labels = write_csv(tmp_path / "labels.csv", ["path", "label"], rows)
    base = f"openclip:{tiny_arch}/random"
    with pytest.raises(MmsearchError, match="use --train heads"):
        finetune(FinetuneSettings(out=tmp_path / "lora", labels=labels, base=base, train="lora"))
    out = tmp_path / "tuned"
    report = finetune(
        FinetuneSettings(out=out, labels=labels, base=base, epochs=10, batch_size=8, lr=2e-2, val_fraction=0.3)
    )
    assert report.best_epoch > 0, report
    assert report.model_id.startswith(f"{base}+ft-") and model_id_of(str(out)) == report.model_id
    tuned = load_encoder(str(out), device="cpu")
    assert tuned.model_id == report.model_id
    original = load_encoder(base, device="cpu")
    saved = json.loads((out / "config.json").read_text())
    assert saved["family"] == "openclip" and saved["tag"] == "random"
    from safetensors.torch import load_file

    state = load_file(str(out / saved["weights"]))
    assert set(state) == {"visual.proj", "text_projection", "logit_scale"}
    assert not torch.equal(state["text_projection"], original.model.text_projection.detach())
    torch.testing.assert_close(tuned.model.text_projection.detach(), state["text_projection"])
    assert not np.allclose(tuned.encode_texts(["a crab"]), original.encode_texts(["a crab"]), atol=1e-4)


def test_openclip_folder_with_incomplete_config_is_refused(tmp_path: Path) -> None:
    from retrieval.errors import EncoderNotFoundError

    (tmp_path / "config.json").write_text(json.dumps({"family": "openclip", "arch": "ViT-B-32"}))
    with pytest.raises(EncoderNotFoundError, match="lacks tag, model_id, weights"):
        load_encoder(str(tmp_path), device="cpu")


@pytest.mark.parametrize(("forced", "expected"), [("1", True), ("0", False)])
def test_cpu_bf16_can_be_forced(monkeypatch: pytest.MonkeyPatch, forced: str, expected: bool) -> None:
    from retrieval.encoders.base import CPU_BF16_ENV, cpu_multiplies_bf16

    monkeypatch.setenv(CPU_BF16_ENV, forced)
    assert cpu_multiplies_bf16() is expected


def test_bf16_image_vectors_rank_like_fp32(
    tiny_arch: str, monkeypatch: pytest.MonkeyPatch, caltech_folder: Path
) -> None:
    """The bf16 autocast path (chosen where the CPU multiplies bf16) on real photos: vectors, neighbours as fp32."""
    from retrieval.encoders.base import CPU_BF16_ENV
    from retrieval.media.image import load_image

    photos = [load_image(p) for p in sorted(caltech_folder.rglob("*.jpg"))[:60]]
    vectors = {}
    for forced in ("0", "1"):
        monkeypatch.setenv(CPU_BF16_ENV, forced)
        encoder = load_encoder(f"openclip:{tiny_arch}/random", device="cpu")
        assert encoder.use_runtime("auto") == ("torch bf16" if forced == "1" else "torch")
        vectors[forced] = encoder.encode_images(photos)
    fp32, bf16 = vectors["0"], vectors["1"]
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)  # unit length, like fp32's
    assert float((fp32 * bf16).sum(axis=1).min()) > 0.99

    def top10(v: np.ndarray) -> np.ndarray:
        return np.argsort(-(v @ v.T), axis=1)[:, 1:11]

    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top10(fp32), top10(bf16))])
    assert overlap >= 0.9, overlap


def test_standard_transform_gives_open_clips_pixels(tiny_arch: str, data_dir: Path) -> None:
    """The Pillow + numpy transform replaces open_clip's torchvision one only where it gives the same pixels."""
    from open_clip.transform import PreprocessCfg, image_transform_v2
    from PIL import Image

    from retrieval.encoders.openclip import standard_transform
    from retrieval.encoders.pixel_transform import ResizeCropTransform

    encoder = load_encoder(f"openclip:{tiny_arch}/random", device="cpu")
    transform = encoder.image_transform()
    assert isinstance(transform, ResizeCropTransform)
    cfg = dict(encoder._open_model().visual.preprocess_cfg)
    reference = image_transform_v2(PreprocessCfg(**cfg), is_train=False)
    photos = sorted((data_dir / "caltech101" / "images").glob("*/*.jpg"))[::400]
    photos += [data_dir / "skimage_data" / "images" / name for name in ("astronaut.png", "camera.png")]
    for path in photos:
        with Image.open(path) as image:
            np.testing.assert_allclose(transform(image), reference(image).numpy(), atol=1e-6, err_msg=str(path))
    assert standard_transform({**cfg, "resize_mode": "squash"}) is None
    assert standard_transform({**cfg, "size": (64, 96)}) is None

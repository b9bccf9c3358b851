"""Model names are parsed in one place: parse_model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.encoders.registry import DEFAULT_MODEL, ModelSpec, parse_model
from retrieval.errors import EncoderNotFoundError


def test_builtin_and_openclip_names() -> None:
    assert parse_model(DEFAULT_MODEL) == ModelSpec("lite")
    assert parse_model("  lite ") == ModelSpec("lite")
    assert parse_model("openclip:ViT-B-32/laion2b_s34b_b79k") == ModelSpec("openclip", "ViT-B-32", "laion2b_s34b_b79k")
    assert parse_model("openclip:RN50//ckpt/model.pt") == ModelSpec("openclip", "RN50", "/ckpt/model.pt")


@pytest.mark.parametrize("name", ["", "   ", "openclip:", "openclip:ViT-B-32", "openclip:/tag", "no-such-model"])
def test_bad_names_raise(name: str) -> None:
    with pytest.raises(EncoderNotFoundError):
        parse_model(name)


def test_finetune_folders(tmp_path: Path) -> None:
    lite = tmp_path / "lite-tuned"
    lite.mkdir()
    (lite / "config.json").write_text(json.dumps({"model_id": "lite-v1-ft-1234", "weights": "w.safetensors"}))
    assert parse_model(str(lite)) == ModelSpec("lite", weights_dir=lite.resolve())

    clip = tmp_path / "clip-tuned"
    clip.mkdir()
    config = {"family": "openclip", "arch": "RN50", "tag": "random", "model_id": "x", "weights": "h.safetensors"}
    (clip / "config.json").write_text(json.dumps(config))
    assert parse_model(str(clip)) == ModelSpec("openclip", "RN50", "random", clip.resolve())

    (clip / "config.json").write_text(json.dumps({"family": "openclip", "arch": "RN50"}))
    with pytest.raises(EncoderNotFoundError, match="lacks tag, model_id, weights"):
        parse_model(str(clip))

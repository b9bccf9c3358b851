"""OpenCLIP loads only what is needed: no tower to build an encoder or re-index an unchanged folder, the text
tower alone for a text query, the same 'random' weights in every process, checkpoints read weights-only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from retrieval.encoders.lite import weights_digest
from retrieval.encoders.registry import load_encoder
from tests.encoders.test_openclip import TINY, tiny_arch  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache folder of this module's own for the drawn random weights."""
    folder = tmp_path_factory.getbasetemp() / "openclip-lazy-cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MMSEARCH_CACHE", str(folder))
        yield folder


def reference_model(arch: str):  # type: ignore[no-untyped-def]
    """The model the way it was built before lazy loading: open_clip's init under seed 0, all of it."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    return model.eval(), preprocess, open_clip.get_tokenizer(arch)


def test_text_query_loads_only_the_text_tower(
    tiny_arch: str,  # noqa: F811
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch
    from PIL import Image

    from retrieval.encoders.base import CPU_BF16_ENV

    monkeypatch.setenv(CPU_BF16_ENV, "0")  # compared with open_clip's fp32 to 1e-5; bf16 has its own test

    encoder = load_encoder(f"openclip:{tiny_arch}/random", device="cpu")
    assert encoder.loaded_towers() == frozenset()
    texts = encoder.encode_texts(["a cat", "a pizza on a table"])
    assert encoder.loaded_towers() == {"text"} and encoder._model is None  # no open_clip model, no image tower
    image = Image.open(data_dir / "skimage_data/images/chelsea.png").convert("RGB")
    pictures = encoder.encode_images([image])
    assert encoder.loaded_towers() == {"text", "visual"}

    reference, preprocess, tokenizer = reference_model(tiny_arch)
    with torch.inference_mode():
        expected_texts = torch.nn.functional.normalize(
            reference.encode_text(tokenizer(["a cat", "a pizza on a table"]))
        )
        expected_pictures = torch.nn.functional.normalize(reference.encode_image(preprocess(image)[None]))
    np.testing.assert_allclose(texts, expected_texts.numpy(), atol=1e-5)
    np.testing.assert_allclose(pictures, expected_pictures.numpy(), atol=1e-5)
    assert weights_digest(encoder.model.state_dict()) == weights_digest(reference.state_dict())
    assert encoder.logit_scale == pytest.approx(float(reference.logit_scale.detach().exp()))


def test_image_only_use_leaves_the_text_tower_unloaded(tiny_arch: str, data_dir: Path) -> None:  # noqa: F811
    from PIL import Image

    encoder = load_encoder(f"openclip:{tiny_arch}/random", device="cpu")
    encoder.encode_images([Image.open(data_dir / "skimage_data/images/chelsea.png")])
    assert encoder.loaded_towers() == {"visual"}
    parameters = dict(encoder._model.named_parameters())
    assert all(p.is_meta for n, p in parameters.items() if not n.startswith("visual."))
    assert not any(p.is_meta for n, p in parameters.items() if n.startswith("visual."))


def test_unchanged_reindex_builds_no_model(tiny_arch: str, tmp_path: Path, caltech_folder: Path) -> None:  # noqa: F811
    from retrieval.engine import Engine

    folder = caltech_folder / "pizza"
    assert Engine(tmp_path / "db", model=f"openclip:{tiny_arch}/random").index([folder]).new == 10
    engine = Engine(tmp_path / "db")
    report = engine.index([folder])
    assert (report.new, report.unchanged) == (0, 10)
    assert engine.encoder.loaded_towers() == frozenset()
    assert engine.encoder._model is None and engine.encoder._preprocess is None  # no model, no image transform
    hits = engine.search("a pizza", k=3)
    assert len(hits) == 3 and engine.encoder.loaded_towers() == {"text"}


def test_random_weights_are_the_same_in_another_process(tiny_arch: str, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / f"{tiny_arch}.json").write_text(json.dumps(TINY))
    script = (
        "import open_clip, sys; open_clip.add_model_config(sys.argv[1]);"
        "from retrieval.encoders.lite import weights_digest; from retrieval.encoders.registry import load_encoder;"
        "print(weights_digest(load_encoder(sys.argv[2], device='cpu').model.state_dict()))"
    )
    env = {**os.environ, "MMSEARCH_CACHE": str(tmp_path / "other-cache")}
    model = f"openclip:{tiny_arch}/random"
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "configs"), model],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert any((tmp_path / "other-cache" / "openclip").glob("random-*.safetensors")), "the other process drew its own"
    here = weights_digest(load_encoder(model, device="cpu").model.state_dict())
    assert run.stdout.strip().splitlines()[-1] == here


class NotATensor:
    """An object weights-only unpickling refuses."""


def test_local_checkpoints_load_lazily_and_weights_only(tiny_arch: str, tmp_path: Path) -> None:  # noqa: F811
    import torch
    from safetensors.torch import save_file

    from retrieval.errors import EncoderNotFoundError

    random_model = load_encoder(f"openclip:{tiny_arch}/random", device="cpu")
    state = random_model.model.state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "wrapped.pt")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "plain.safetensors"))
    expected = random_model.encode_texts(["a crab"])
    for name in ("wrapped.pt", "plain.safetensors"):
        from_file = load_encoder(f"openclip:{tiny_arch}/{tmp_path / name}", device="cpu")
        np.testing.assert_allclose(from_file.encode_texts(["a crab"]), expected, atol=1e-6)
        assert from_file.loaded_towers() == {"text"}, name

    torch.save({**state, "extra": NotATensor()}, tmp_path / "unsafe.pt")
    with pytest.raises(
        EncoderNotFoundError,
        match=r"cannot load OpenCLIP checkpoint .*unsafe\.pt: refused by weights-only loading: Unsupported global",
    ):
        load_encoder(f"openclip:{tiny_arch}/{tmp_path / 'unsafe.pt'}", device="cpu")

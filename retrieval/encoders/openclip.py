"""OpenCLIP models: a model name with a pretrained tag, a local checkpoint file, or random init."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.encoders.base import Encoder, ImageTransform, cpu_multiplies_bf16
from retrieval.encoders.openclip_text import ClipTextTower, TextShape, simple_tokenizer, supports_config
from retrieval.encoders.openclip_weights import (
    CheckpointTensors,
    arch_config,
    assign,
    empty_model,
    import_open_clip,
    init_model,
    random_init_tensors,
)
from retrieval.encoders.pixel_transform import ResizeCropTransform
from retrieval.errors import EncoderNotFoundError
from retrieval.types import Vectors

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

RANDOM_TAG = "random"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
TUNED_CONFIG = "config.json"
"""A fine-tuned OpenCLIP folder: config.json (family 'openclip', arch, tag, model_id, weights) + tuned tensors."""


IMAGE_BATCH = {("ViT-B-32", "cpu"): 32}
"""Images per image-tower call where measured, by (architecture, device kind). ViT-B/32 on the 2-core CPU:
24.5 images/s at 32 vs 14.5 at 64 (issue 13, 2026-12-01); 2.5 vs 1.5 at load 10 and 3.0 vs 3.3 at load 5
(benchmarks/openclip_load.py, docs/benchmarks.md "OpenCLIP loading"); in bf16 on an AMX CPU, 68 at 32 vs 70
at 64 (2026-12-03). A larger batch from the caller is split into these; elsewhere the caller's batch is used
as given."""
CPU_IMAGE_BATCH = 32
"""Other architectures on a CPU: the ViT-B/32 figure (activations of a bigger batch outgrow the caches)."""


def image_batch_size(arch: str, device: str) -> int | None:
    """Images per call of `arch`'s image tower on `device`; None: no limit measured (the caller's batch)."""
    if device.startswith("cuda"):
        return IMAGE_BATCH.get((arch, "cuda"))
    return IMAGE_BATCH.get((arch, "cpu"), CPU_IMAGE_BATCH)


def is_checkpoint_path(tag: str) -> bool:
    """Whether an OpenCLIP 'tag' is really a local checkpoint file."""
    return "/" in tag or tag.endswith(CHECKPOINT_SUFFIXES)


def openclip_model_id(arch: str, tag: str) -> str:
    """Stable model id; a local checkpoint is identified by its file name and size."""
    if is_checkpoint_path(tag):
        path = Path(tag).expanduser()
        size = path.stat().st_size if path.exists() else 0
        return f"openclip:{arch}/file:{path.name}:{size}"
    return f"openclip:{arch}/{tag}"


class OpenClipEncoder(Encoder):
    """An OpenCLIP model that loads only what is asked of it.

    Building one reads no weights: the model id and dimension come from the name and the architecture's
    config. A text query loads the text tower alone (run from its tensors, without importing open_clip,
    when the architecture is a standard CLIP); the image tower is built on the first image, its parameters
    created on the meta device and the checkpoint's tensors assigned to them (no random init). `random`
    weights are open_clip's seeded init, drawn once and cached (see `random_init_tensors`).
    """

    def __init__(self, arch: str, tag: str, device: str = "cpu", tuned_dir: Path | None = None) -> None:
        self.arch, self.tag, self.device = arch, tag, device
        self._config = arch_config(arch)
        self.dim = int(self._config["embed_dim"])
        self.model_id = openclip_model_id(arch, tag)
        self._tuned: dict[str, torch.Tensor] = {}
        if tuned_dir is not None:
            self.model_id, self._tuned = _read_tuned(tuned_dir)
        self.image_batch_size = image_batch_size(arch, device)
        self._standalone_text = supports_config(self._config)
        self._weights: CheckpointTensors | None = None
        if tag != RANDOM_TAG:
            self._checkpoint()  # a missing or unreadable checkpoint fails here, before any index is touched
        self._reset()

    def _reset(self) -> None:
        """Forget every loaded tensor (they are read again, on `self.device`, when next needed)."""
        self._text: ClipTextTower | None = None
        self._model: torch.nn.Module | None = None
        self._assigned: set[str] = set()
        self._preprocess: ImageTransform | None = None

    def loaded_towers(self) -> frozenset[str]:
        """The towers whose weights are in memory: 'text', 'visual'."""
        return frozenset(self._assigned | ({"text"} if self._text is not None else set()))

    @property
    def logit_scale(self) -> float:  # type: ignore[override]
        """The model's trained softmax temperature (exp of its logit_scale tensor)."""
        return float(self._read(["logit_scale"])["logit_scale"].exp())

    @functools.cached_property
    def tokenizer(self) -> Any:
        """open_clip's tokenizer for this architecture: texts -> (N, context_length) token ids."""
        if self._standalone_text:
            return simple_tokenizer(self._config)
        return import_open_clip().get_tokenizer(self.arch)

    @property
    def model(self) -> Any:
        """The whole open_clip model with every weight loaded (fine-tuning reads it)."""
        return self._open_model("visual", "text")

    def image_transform(self) -> ImageTransform:
        """The model's evaluation transform: for the standard one (square, short side, bicubic, RGB) in Pillow
        and numpy (`ResizeCropTransform`: the same pixels, without torch ops that compete with the tower for
        its threads), otherwise open_clip's own."""
        if self._preprocess is None:
            cfg = dict(self._open_model().visual.preprocess_cfg)
            fast = standard_transform(cfg)
            if fast is None:
                from open_clip.transform import PreprocessCfg, image_transform_v2

                self._preprocess = AsArray(image_transform_v2(PreprocessCfg(**cfg), is_train=False))
            else:
                self._preprocess = fast
        return self._preprocess

    def to(self, device: str) -> "OpenClipEncoder":
        if device != self.device:
            self.device = device
            self._reset()
        return self

    @property
    def cpu_bf16(self) -> bool:
        """Whether the image tower runs under bf16 autocast on this CPU (`cpu_multiplies_bf16`): ViT-B/32
        2.8x (AVX-512 BF16) to 10.7x (AMX) fp32 there, image vectors at cosine >= 0.9999 to fp32's
        (docs/benchmarks.md)."""
        return self.device == "cpu" and cpu_multiplies_bf16()

    def use_runtime(self, runtime: str) -> str:
        chosen = super().use_runtime(runtime)
        return f"{chosen} bf16" if self.cpu_bf16 else chosen

    def encode_image_batch(self, pixels: np.ndarray) -> Vectors:
        import torch

        model = self._open_model("visual")
        size = self.image_batch_size or len(pixels)
        with self._image_inference():
            chunks = [
                model.encode_image(torch.from_numpy(pixels[s : s + size]).to(self.device))
                for s in range(0, len(pixels), size)
            ]
            # normalised in float32: under bf16 or fp16 autocast the norms would come out 0.997-1.003
            return torch.nn.functional.normalize(torch.cat(chunks).float(), dim=-1).cpu().numpy()

    @contextlib.contextmanager
    def _image_inference(self) -> Iterator[None]:
        """`inference()`, or on a bf16 CPU `no_grad` with bf16 autocast over weights that require grad:
        autocast caches the bf16 copy of a weight only for a leaf that requires grad, outside `inference_mode`;
        otherwise it casts every weight again on every call, which costs all of the speed-up (87 vs 9 images/s)."""
        import torch

        if not self.cpu_bf16:
            with self.inference():
                yield
            return
        visual = self._open_model("visual").visual
        if not all(p.requires_grad for p in visual.parameters()):
            visual.requires_grad_(True)  # autocast keeps its bf16 copy of a weight only for such leaves
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            yield

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with self.inference():
            tokens = self.tokenizer(list(texts)).to(self.device)
            tower = self._text_tower()
            features = tower(tokens) if tower is not None else self._open_model("text").encode_text(tokens)
            return torch.nn.functional.normalize(features, dim=-1).float().cpu().numpy()

    # -- loading -------------------------------------------------------------
    def _checkpoint(self) -> CheckpointTensors:
        """The weights' tensors by name (opened on first use; the random init drawn and cached if new)."""
        if self._weights is None:
            if self.tag == RANDOM_TAG:
                self._weights = random_init_tensors(self.arch)
            else:
                self._weights = CheckpointTensors(_checkpoint_path(self.arch, self.tag))
            unknown = set(self._tuned) - set(self._weights.names())
            if unknown:
                raise EncoderNotFoundError(f"fine-tuned tensors {sorted(unknown)} do not fit {self.arch}")
        return self._weights

    def _read(self, names: Sequence[str]) -> dict[str, "torch.Tensor"]:
        """The named tensors: the fine-tune's where it has them, else the checkpoint's."""
        tensors = self._checkpoint().read([n for n in names if n not in self._tuned])
        return {**tensors, **{n: self._tuned[n] for n in names if n in self._tuned}}

    def _text_tower(self) -> ClipTextTower | None:
        """The standalone text tower (loaded on first use); None when open_clip's model must run the text."""
        if self._text is None and self._standalone_text:
            shape = TextShape.of(self._config)
            names = shape.tensor_names()
            if set(names) <= set(self._checkpoint().names()):
                self._text = ClipTextTower(shape, self._read(names)).to(self.device)
            else:
                self._standalone_text = False  # a checkpoint in another layout: open_clip converts it
        return self._text

    def _open_model(self, *towers: str) -> Any:
        """open_clip's model with the weights of `towers` ('visual', 'text') in place: built on the meta
        device on first use, each tower's tensors assigned when first asked for."""
        if self._model is None:
            self._model = empty_model(self.arch, self.device)
            if self._model is None or not set(self._model.state_dict()) <= set(self._checkpoint().names()):
                self._model = self._converted_model()
        wanted = [t for t in towers if t not in self._assigned]
        if wanted:
            names = [n for n in self._model.state_dict() if _tower_of(n) in wanted]
            assign(self._model, self._read(names), self.device)
            self._assigned.update(wanted)
        return self._model

    def _converted_model(self) -> "torch.nn.Module":
        """The slow way, for what the meta build cannot take: open_clip builds and initialises the model and
        converts the checkpoint into it (third-party layouts, resized position embeddings)."""
        model = init_model(self.arch)
        if self.tag != RANDOM_TAG:
            checkpoint = _checkpoint_path(self.arch, self.tag)
            try:
                import_open_clip().load_checkpoint(model, str(checkpoint), weights_only=True)
            except Exception as err:  # torch and open_clip raise many types for a checkpoint that does not fit
                raise EncoderNotFoundError(
                    f"cannot load OpenCLIP checkpoint {checkpoint} into {self.arch}: {err}"
                ) from err
        model.load_state_dict(self._tuned, strict=False)
        self._assigned = {"visual", "text"}
        return model.eval().to(self.device)


def standard_transform(cfg: dict[str, Any]) -> ResizeCropTransform | None:
    """open_clip's evaluation transform as a `ResizeCropTransform`, when its preprocess config is the standard
    one (a square size, short-side resize, bicubic, RGB); None otherwise."""
    size = cfg.get("size")
    side = size if isinstance(size, int) else size[0] if size and len(size) == 2 and size[0] == size[1] else None
    standard = (cfg.get("resize_mode"), cfg.get("interpolation"), cfg.get("mode")) == ("shortest", "bicubic", "RGB")
    if side is None or not standard:
        return None
    return ResizeCropTransform(int(side), 1.0, tuple(cfg["mean"]), tuple(cfg["std"]))


class AsArray:
    """Picklable wrapper of open_clip's preprocessing: PIL image -> float32 (C, H, W) array, the form every
    model input takes between decoding and a tower."""

    def __init__(self, transform: Callable[[Any], "torch.Tensor"]) -> None:
        self.transform = transform

    def __call__(self, image: Any) -> np.ndarray:
        return self.transform(image).numpy()


def read_tuned_config(folder: Path) -> dict:
    """The config.json of a fine-tuned OpenCLIP folder."""
    try:
        return json.loads((folder / TUNED_CONFIG).read_text())
    except (OSError, ValueError) as err:
        raise EncoderNotFoundError(f"cannot read {folder / TUNED_CONFIG}: {err}") from err


def _read_tuned(folder: Path) -> tuple[str, dict[str, "torch.Tensor"]]:
    """The model id and the fine-tuned tensors of an OpenCLIP fine-tune folder."""
    from safetensors.torch import load_file

    config = read_tuned_config(folder)
    path = folder / str(config.get("weights"))
    try:
        state = load_file(str(path))
    except (OSError, ValueError, RuntimeError) as err:
        raise EncoderNotFoundError(f"cannot load fine-tuned OpenCLIP weights {path}: {err}") from err
    return str(config["model_id"]), {name: tensor.float() for name, tensor in state.items()}


def _tower_of(name: str) -> str:
    """The tower a state-dict name belongs to: 'visual', else 'text' (its logit scale included)."""
    return "visual" if name.startswith("visual.") else "text"


def _checkpoint_path(arch: str, tag: str) -> Path:
    """The local file of a checkpoint: the given path, or the hub download of a pretrained tag."""
    if is_checkpoint_path(tag):
        path = Path(tag).expanduser()
        if not path.is_file():
            raise EncoderNotFoundError(f"OpenCLIP checkpoint not found: {path}")
        return path
    open_clip = import_open_clip()
    if tag not in open_clip.list_pretrained_tags_by_model(arch):
        raise EncoderNotFoundError(
            f"unknown pretrained tag {tag!r} for {arch}; known: {open_clip.list_pretrained_tags_by_model(arch)}"
        )
    try:
        with _cache_only_unless_hub_reachable():
            return Path(open_clip.download_pretrained(open_clip.get_pretrained_cfg(arch, tag)))
    except Exception as err:  # hub errors come in many types
        raise EncoderNotFoundError(
            f"cannot fetch OpenCLIP weights {arch}/{tag} (no network or hub unreachable). Download the "
            f"checkpoint on a connected machine and pass it as a file: --model openclip:{arch}/PATH/TO/"
            f"open_clip_model.safetensors"
        ) from err


@contextlib.contextmanager
def _cache_only_unless_hub_reachable(host: str = "huggingface.co") -> Iterator[None]:
    """Use only the local hub cache when the hub cannot be reached, instead of a minute of retries."""
    import huggingface_hub.constants as hub

    try:
        socket.create_connection((host, 443), timeout=3).close()
        reachable = True
    except OSError:
        reachable = False
    saved = hub.HF_HUB_OFFLINE
    hub.HF_HUB_OFFLINE = saved or not reachable
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = saved

"""The one interface every model family implements: media in, L2-normalised vectors out."""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from retrieval.errors import MmsearchError, ModalityNotSupportedError
from retrieval.types import MEDIA_MODALITIES, Modality, Vectors

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.encoders.onnx_runtime import OnnxTower

ImageTransform = Callable[["Image.Image"], np.ndarray]
AudioTransform = Callable[[np.ndarray], np.ndarray]
"""Model inputs are float32 numpy arrays from decoding to the tower: ONNX Runtime takes them as they are, and
torch towers wrap them without a copy (`torch.from_numpy`)."""


def pick_device() -> str:
    """'cuda' when a CUDA GPU is visible, else 'cpu'. On Linux without an NVIDIA device node it answers
    without importing torch, which ONNX Runtime runs do not need."""
    if sys.platform == "linux" and not glob.glob("/dev/nvidia[0-9]*"):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


CPU_BF16_ENV = "MMSEARCH_CPU_BF16"


def cpu_multiplies_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware: AVX-512 BF16 dot products (AMD since Zen 4; Intel
    Xeon Cooper Lake, and Sapphire Rapids or later, which add AMX tiles). There torch's bf16 autocast runs a
    ViT 2.8-3x (AVX-512 BF16 alone) to 10x (AMX) faster than fp32.
    `MMSEARCH_CPU_BF16=1` or `=0` forces the answer."""
    forced = os.environ.get(CPU_BF16_ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    import torch

    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return probe is not None and bool(probe())


def normalize(vectors: np.ndarray) -> Vectors:
    """Row-wise L2 normalisation into a float32 array (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class Encoder(ABC):
    """Maps images, texts and (optionally) audio into one shared, L2-normalised space.

    Subclasses set `model_id` (stable: it is written into every index), `dim` and
    `modalities`, and implement the batch methods. Transforms must be picklable:
    the indexer runs them in worker processes.
    """

    model_id: str
    dim: int
    onnx_exports: bool = False
    """Whether `_onnx_towers` can export some of this model's towers for ONNX Runtime."""
    _onnx: dict[str, "OnnxTower"] = {}  # noqa: RUF012 (always replaced, never mutated)
    """Towers ONNX Runtime runs instead of torch, by modality; set by `use_runtime` and `use_cached_export`."""
    _index_towers: dict[str, "OnnxTower"] | None = None
    """The towers `_onnx_towers` loaded for this encoder's first index run on ONNX Runtime; later runs reuse them."""
    _looked_up: frozenset[str] = frozenset()
    """Modalities `use_cached_export` has looked for a cached export of."""
    modalities: frozenset[Modality] = frozenset({"image", "text"})
    logit_scale: float = 100.0
    """Multiplier on cosine similarity before a softmax (zero-shot classification)."""
    audio_sample_rate: int = 16_000
    """Sample rate the audio transform expects its mono float32 input in."""
    audio_window_s: float = 2.0
    """Length of one audio window; longer files are cut into overlapping windows."""

    device: str = "cpu"

    @abstractmethod
    def image_transform(self) -> ImageTransform:
        """Picklable callable: RGB PIL image -> float32 array (C, H, W) ready for the model."""

    @abstractmethod
    def encode_image_batch(self, pixels: np.ndarray) -> Vectors:
        """Stacked transformed images (N, C, H, W) -> (N, dim) normalised vectors."""

    @abstractmethod
    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Texts -> (N, dim) normalised vectors."""

    def encode_texts_in(self, texts: Sequence[str], lang: str | None) -> Vectors:
        """Texts in language `lang` (None: detected per text); towers that read one language ignore `lang`."""
        return self.encode_texts(texts)

    def audio_transform(self) -> AudioTransform:
        """Picklable callable: mono float32 waveform at `audio_sample_rate` -> float32 feature array."""
        raise self._no_tower("audio")

    def encode_audio_batch(self, features: np.ndarray) -> Vectors:
        """Stacked audio features -> (N, dim) normalised vectors."""
        raise self._no_tower("audio")

    def to(self, device: str) -> "Encoder":
        """Move the model to `device` ('cpu' or 'cuda'); fp16 is used on CUDA."""
        self.device = device
        return self

    def use_runtime(self, runtime: str) -> str:
        """Choose what runs the towers of an index run: 'onnx' (ONNX Runtime on the CPU, for the towers
        `_onnx_towers` gives; exported first where these weights have no cached export), 'torch', or 'auto'
        (onnx where the `onnx` extra is installed, the run is on the CPU and the model has exports); returns
        what runs them: 'torch' or 'onnxruntime' (`retrieval.encoders.onnx_runtime`); OpenCLIP adds ' bf16'
        where its image tower runs in bf16. ONNX Runtime's sessions are loaded once per encoder (0.2 s for lite)."""
        from retrieval.encoders.onnx_runtime import missing_packages, require_onnx

        self._onnx = {}
        if runtime == "onnx":
            require_onnx()
            if not self.onnx_exports:
                raise MmsearchError(f"--runtime onnx has no export of {self.model_id!r}: use torch")
            if self.device != "cpu":
                raise MmsearchError(f"--runtime onnx runs on the CPU; this run is on {self.device}")
        elif runtime == "torch" or not self.onnx_exports or self.device != "cpu" or missing_packages():
            return "torch"
        if self._index_towers is None:
            self._index_towers = self._onnx_towers()
        self._onnx = self._index_towers
        return "onnxruntime"

    def use_cached_export(self, modality: Modality) -> None:
        """For queries: run the `modality` tower in ONNX Runtime if an index run has cached its export (never
        exporting, so a query never waits for one and needs no torch); looked up once per encoder, on the CPU,
        where the `onnx` extra is installed."""
        from retrieval.encoders.onnx_runtime import missing_packages

        if modality in self._onnx or modality in self._looked_up:
            return
        self._looked_up = self._looked_up | {modality}
        if not self.onnx_exports or self.device != "cpu" or missing_packages():
            return
        tower = self._cached_onnx_tower(modality)
        if tower is not None:
            self._onnx = {**self._onnx, modality: tower}

    def _onnx_towers(self) -> dict[str, "OnnxTower"]:
        """The towers ONNX Runtime runs for this model, by modality (families with `onnx_exports` override it)."""
        return {}

    def _cached_onnx_tower(self, modality: Modality) -> "OnnxTower | None":
        """The `modality` tower's cached export, if there is one (families with `onnx_exports` override it)."""
        return None

    def supports(self, modality: Modality) -> bool:
        """Whether this model can embed `modality` (video: its frames, through the image tower)."""
        return ("image" if modality == "video" else modality) in self.modalities

    def media_modalities(self) -> frozenset[Modality]:
        """The kinds of media file this model embeds (image, audio, video); texts come from captions files."""
        return frozenset(m for m in MEDIA_MODALITIES if self.supports(m))

    def encode_images(self, images: Sequence["Image.Image"]) -> Vectors:
        """PIL images -> (N, dim) normalised vectors."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        transform = self.image_transform()
        return self.encode_image_batch(np.stack([transform(im.convert("RGB")) for im in images]))

    def encode_audio(self, waveforms: Sequence[np.ndarray]) -> Vectors:
        """Mono float32 waveforms at `audio_sample_rate` -> (N, dim) normalised vectors."""
        if not waveforms:
            return np.zeros((0, self.dim), dtype=np.float32)
        transform = self.audio_transform()
        return self.encode_audio_batch(np.stack([transform(w) for w in waveforms]))

    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        """`torch.inference_mode`, plus fp16 autocast when running on CUDA."""
        import torch

        with torch.inference_mode():
            if self.device.startswith("cuda"):
                with torch.autocast("cuda", dtype=torch.float16):
                    yield
            else:
                yield

    def _no_tower(self, modality: Modality) -> ModalityNotSupportedError:
        return ModalityNotSupportedError(f"model {self.model_id!r} has no {modality} tower")

"""The offline default model `lite`: EfficientNet-Lite image tower + frozen MiniLM text tower.

Images are embedded as the ImageNet "prior" (the classifier's softmax over the 1,000 classes,
mapped onto the MiniLM embeddings of the class names) plus a learned residual head on the
pooled features. Texts are raw MiniLM vectors passed through an optional learned adapter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexes.atomic import atomic_path
from retrieval.encoders.base import AudioTransform, Encoder, ImageTransform
from retrieval.encoders.checksums import check_weights, file_sha256, record_weights
from retrieval.encoders.lite_vectors import HeadArrays
from retrieval.encoders.minilm import MINILM_DIM, encode_minilm
from retrieval.errors import EncoderNotFoundError
from retrieval.types import Modality, Vectors

if TYPE_CHECKING:
    import torch
    from timm.models.efficientnet import EfficientNet

    from retrieval.encoders.lite_heads import LiteHeads
    from retrieval.encoders.onnx_runtime import ExportSpec, OnnxTower

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "models" / "lite"
CONFIG_FILE = "config.json"
PRIOR_MODEL_ID = "lite-v1-prior"
PRIOR_TEMPLATES: tuple[str, ...] = ("a photo of a {}.", "a {}.")
ONNX_IMAGE_BATCH = 16
"""Images per ONNX Runtime call of the image tower (a larger batch is split). On this 2-core CPU, 256 Caltech
photos: 137 / 142 / 123 / 114 images/s at 8 / 16 / 32 / 64, and the session's memory arena peaked at 758 MiB
for 16 against 1,951 for 64 (docs/benchmarks.md, "Index runs without torch")."""
TOWER_PREFIX = "tower."
"""Prefix of tuned image-tower tensors inside a lite weights file."""


@dataclass(frozen=True)
class LiteConfig:
    """What `config.json` of a lite weights directory records."""

    model_id: str = PRIOR_MODEL_ID
    image_tower: str = "efficientnet_lite0"
    dim: int = MINILM_DIM
    feature_dim: int = 1280
    prior_temperature: float = 1.0
    text_adapter: bool = False
    feature_dropout: float = 0.0
    tuned_blocks: int = 0
    """How many of the tower's last blocks (plus its head convolution) the weights file replaces."""
    logit_scale: float = 100.0
    weights: str | None = None
    base_model_id: str | None = None
    extra: dict[str, Any] | None = None

    @classmethod
    def read(cls, weights_dir: Path) -> "LiteConfig":
        """Parse `weights_dir/config.json`, ignoring unknown keys."""
        try:
            data = json.loads((weights_dir / CONFIG_FILE).read_text())
        except (OSError, ValueError) as err:
            raise EncoderNotFoundError(f"cannot read {weights_dir / CONFIG_FILE}: {err}") from err
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def write(self, weights_dir: Path) -> None:
        """Write `weights_dir/config.json`."""
        (weights_dir / CONFIG_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")


def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet class names (first synonym of each description), in logit order."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return [info.index_to_description(i).split(",")[0].strip() for i in range(info.num_classes())]


def imagenet_class_text(
    templates: Sequence[str] = PRIOR_TEMPLATES, encode: Callable[[list[str]], np.ndarray] = encode_minilm
) -> np.ndarray:
    """(1000, 384) normalised MiniLM embeddings of the ImageNet class names (template ensemble)."""
    from retrieval.encoders.base import normalize

    names = imagenet_class_names()
    stacked = [encode([t.format(n) for n in names]) for t in templates]
    return normalize(np.mean(stacked, axis=0))


def build_heads(config: LiteConfig, class_text: "torch.Tensor | None" = None) -> "LiteHeads":
    """Fresh (untrained, prior-only) heads for `config`; class text computed when not given."""
    import torch

    from retrieval.encoders.lite_heads import LiteHeads

    if class_text is None:
        class_text = torch.from_numpy(imagenet_class_text())
    return LiteHeads(config, class_text)


def _load_weights(weights_dir: Path, config: LiteConfig) -> dict[str, np.ndarray]:
    """The arrays of `weights_dir/config.weights`, once its recorded sha256 is checked."""
    from safetensors.numpy import load_file

    path = weights_dir / str(config.weights)
    check_weights(path)
    try:
        return load_file(str(path))
    except (OSError, ValueError, RuntimeError) as err:
        raise EncoderNotFoundError(f"cannot load lite weights {path}: {err}") from err


def load_heads(weights_dir: Path, config: LiteConfig) -> "LiteHeads":
    """Heads with the tensors of `weights_dir/config.weights` loaded (tuned tower tensors are skipped)."""
    import torch

    path = weights_dir / str(config.weights)
    state = {
        k: torch.from_numpy(v) for k, v in _load_weights(weights_dir, config).items() if not k.startswith(TOWER_PREFIX)
    }
    heads = build_heads(config, state["class_text"])
    missing, unexpected = heads.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise EncoderNotFoundError(
            f"lite weights {path} do not fit its config: missing {missing}, unexpected {unexpected}"
        )
    return heads


def load_tuned_tower(weights_dir: Path, config: LiteConfig) -> "EfficientNet":
    """The image tower with the tuned tensors of `weights_dir/config.weights` (if any) put in place."""
    import torch

    from retrieval.encoders.efficientnet import load_tower

    tower = load_tower(config.image_tower)
    if not config.tuned_blocks:
        return tower
    tuned = {
        k[len(TOWER_PREFIX) :]: torch.from_numpy(v)
        for k, v in _load_weights(weights_dir, config).items()
        if k.startswith(TOWER_PREFIX)
    }
    missing_or_extra = set(tuned) - set(tower.state_dict())
    if not tuned or missing_or_extra:
        raise EncoderNotFoundError(f"lite weights in {weights_dir} do not fit tower {config.image_tower}")
    tower.load_state_dict(tuned, strict=False)
    return tower


def save_heads(
    weights_dir: Path,
    heads: "LiteHeads",
    config: LiteConfig,
    tower_state: dict[str, "torch.Tensor"] | None = None,
) -> None:
    """Write `config.json` and the heads' tensors (`config.weights`, plus any tuned `tower.*` tensors)."""
    from safetensors.torch import save_file

    if not config.weights:
        raise EncoderNotFoundError("a lite config needs a weights file name to be saved")
    state = {k: v.detach().cpu().contiguous() for k, v in {**heads.state_dict(), **(tower_state or {})}.items()}
    with atomic_path(weights_dir / config.weights) as tmp:
        save_file(state, str(tmp), metadata={"model_id": config.model_id})
    record_weights(weights_dir / config.weights)
    config.write(weights_dir)


def weights_digest(state: dict[str, "torch.Tensor"]) -> str:
    """Short hex digest of a weights state (identifies fine-tuned weights in a model id)."""
    import hashlib

    digest = hashlib.sha256()
    for key, tensor in sorted(state.items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:8]


class LiteEncoder(Encoder):
    """Offline default encoder (images and text in MiniLM's 384-d space)."""

    dim = MINILM_DIM
    onnx_exports = True

    def __init__(self, weights_dir: str | Path | None = None) -> None:
        explicit = weights_dir is not None
        self.weights_dir = Path(weights_dir) if weights_dir is not None else DEFAULT_WEIGHTS_DIR
        self.modalities = frozenset({"image", "text"})
        has_config = (self.weights_dir / CONFIG_FILE).is_file()
        if explicit and not has_config:
            raise EncoderNotFoundError(f"no lite model in {self.weights_dir}: {CONFIG_FILE} is missing")
        self.config = LiteConfig.read(self.weights_dir) if has_config else LiteConfig()
        if self.config.weights and not (self.weights_dir / self.config.weights).is_file():
            if explicit:
                raise EncoderNotFoundError(f"weights file {self.weights_dir / self.config.weights} is missing")
            log.warning("shipped lite weights are missing; using the untrained prior-only model")
            self.config = LiteConfig(image_tower=self.config.image_tower)
        self.model_id = self.config.model_id
        self.dim = self.config.dim
        self.logit_scale = self.config.logit_scale
        self._tower: EfficientNet | None = None
        self._heads: LiteHeads | None = None
        self._head_arrays: HeadArrays | None = None
        self._audio: torch.nn.Module | None = None
        self._attach_audio()

    def _attach_audio(self) -> None:
        """Add the shipped audio tower (raw MiniLM space, then this model's text adapter) when present."""
        from retrieval.encoders.audio_config import audio_tower_config

        audio = audio_tower_config()
        if audio is None:
            return
        self.modalities = self.modalities | {"audio"}
        self.model_id = f"{self.model_id}+{audio.model_id}"
        self.audio_sample_rate = audio.mel.sample_rate
        self.audio_window_s = audio.mel.window_s
        self._audio_mel = audio.mel

    @property
    def head_arrays(self) -> HeadArrays:
        """The heads as inference runs them, in numpy (loaded on first use)."""
        if self._head_arrays is None:
            if self.config.weights:
                state = _load_weights(self.weights_dir, self.config)
                self._head_arrays = HeadArrays.from_state(state, self.config)
            else:
                self._head_arrays = HeadArrays.prior_only(imagenet_class_text(), self.config)
            self.logit_scale = self._head_arrays.logit_scale
        return self._head_arrays

    @property
    def heads(self) -> "LiteHeads":
        """The trainable heads, a torch module (loaded on first use; fine-tuning starts from them)."""
        if self._heads is None:
            if self.config.weights:
                heads = load_heads(self.weights_dir, self.config)
            else:
                heads = build_heads(self.config)
            self._heads = heads.eval().requires_grad_(False).to(self.device)
            self.logit_scale = float(heads.logit_scale.exp())
        return self._heads

    @property
    def tower(self) -> "EfficientNet":
        """The EfficientNet-Lite image tower, with any fine-tuned blocks (loaded on first use)."""
        if self._tower is None:
            self._tower = load_tuned_tower(self.weights_dir, self.config).to(self.device)
        return self._tower

    def image_transform(self) -> ImageTransform:
        from retrieval.encoders.efficientnet import tower_transform

        return tower_transform(self.config.image_tower)

    def image_features(self, pixels: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
        """Frozen (pooled, logits) of transformed images; what training caches."""
        from retrieval.encoders.efficientnet import features_and_logits

        with self.inference():
            return features_and_logits(self.tower, pixels.to(self.device))

    def encode_image_batch(self, pixels: np.ndarray) -> Vectors:
        if "image" in self._onnx:
            tower, size = self._onnx["image"], ONNX_IMAGE_BATCH
            outputs = [tower(pixels[s : s + size]) for s in range(0, len(pixels), size)]
            pooled, logits = (np.concatenate(parts) for parts in zip(*outputs))
        else:
            import torch

            pooled, logits = (t.float().cpu().numpy() for t in self.image_features(torch.from_numpy(pixels)))
        return self.head_arrays.image_vectors(pooled, logits)

    def adapt_text(self, raw: np.ndarray) -> Vectors:
        """Raw normalised MiniLM-space vectors (N, 384) -> normalised vectors in the shared space."""
        return self.head_arrays.text_vectors(raw)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        return self.encode_texts_in(texts, None)

    def encode_texts_in(self, texts: Sequence[str], lang: str | None) -> Vectors:
        """English through MiniLM, other languages through the multilingual tower, both then through the
        text adapter (`retrieval.encoders.multilingual.raw_text_vectors`)."""
        from retrieval.encoders.multilingual import raw_text_vectors

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.adapt_text(raw_text_vectors(texts, lang, device=self.device))

    @property
    def audio_tower(self) -> "torch.nn.Module":
        """The audio tower (loaded on first use)."""
        if self._audio is None:
            from retrieval.encoders.audio import load_audio_tower

            self._audio = load_audio_tower().to(self.device)
        return self._audio

    def audio_transform(self) -> AudioTransform:
        if "audio" not in self.modalities:
            raise self._no_tower("audio")
        from retrieval.encoders.log_mel import LogMelTransform

        return LogMelTransform(self._audio_mel)

    def encode_audio_batch(self, features: np.ndarray) -> Vectors:
        if "audio" not in self.modalities:
            raise self._no_tower("audio")
        if "audio" in self._onnx:
            raw = self._onnx["audio"](features)[0]
        else:
            import torch

            with self.inference():
                raw = self.audio_tower(torch.from_numpy(features).to(self.device)).float().cpu().numpy()
        return self.adapt_text(raw)

    def _onnx_towers(self) -> dict[str, "OnnxTower"]:
        """The image tower and the audio tower when this model has one, run by ONNX Runtime; MiniLM's export is
        made here too, and runs when a text is encoded (it is shared by every lite model:
        `retrieval.encoders.minilm.cached_minilm_onnx`)."""
        from retrieval.encoders.minilm import export_minilm
        from retrieval.encoders.onnx_runtime import onnx_tower

        towers = {}
        for modality, (name, sources, build, arena) in self._export_specs().items():
            towers[modality] = onnx_tower(name, sources, build, arena=arena)
        export_minilm()
        return towers

    def _cached_onnx_tower(self, modality: Modality) -> "OnnxTower | None":
        from retrieval.encoders.onnx_runtime import export_path, load_cached

        if modality not in ("image", "audio") or modality not in self.modalities:
            return None
        name, sources, _, arena = self._export_specs([modality])[modality]
        return load_cached(export_path(name, sources), arena)

    def _export_specs(self, modalities: Sequence[Modality] = ("image", "audio")) -> dict[str, "ExportSpec"]:
        """`onnx_tower`'s arguments for each exported tower among `modalities` that this model has: export
        name, the sha256 identity of its weights, how to build it, whether its session keeps an arena."""
        specs: dict[str, ExportSpec] = {}
        if "image" in modalities:
            specs["image"] = ("image", self._image_sources(), self._image_export, True)
        if "audio" in modalities and "audio" in self.modalities:
            from retrieval.encoders.audio_config import CONFIG_FILE as AUDIO_CONFIG
            from retrieval.encoders.audio_config import SHIPPED_DIR, WEIGHTS_FILE

            sources = [file_sha256(SHIPPED_DIR / WEIGHTS_FILE), file_sha256(SHIPPED_DIR / AUDIO_CONFIG)]
            specs["audio"] = ("audio", sources, self._audio_export, False)
        return specs

    def _image_sources(self) -> list[str]:
        """What identifies the image tower's weights: its checkpoint's pinned sha256, and the fine-tune's
        weights file when that replaces some of its blocks."""
        from retrieval.encoders.efficientnet import TOWERS

        sources = [self.config.image_tower, TOWERS[self.config.image_tower].sha256]
        if self.config.tuned_blocks:
            sources.append(file_sha256(self.weights_dir / str(self.config.weights)))
        return sources

    def _image_export(self) -> tuple["torch.nn.Module", dict[str, "torch.Tensor"]]:
        import torch

        from retrieval.encoders.efficientnet import TOWERS, features_module

        size = TOWERS[self.config.image_tower].image_size
        return features_module(self.tower), {"pixels": torch.zeros(2, 3, size, size)}

    def _audio_export(self) -> tuple["torch.nn.Module", dict[str, "torch.Tensor"]]:
        import torch

        window = np.zeros(int(self.audio_sample_rate * self.audio_window_s), np.float32)
        return self.audio_tower.eval(), {"mels": torch.from_numpy(np.stack([self.audio_transform()(window)] * 2))}

    def to(self, device: str) -> "LiteEncoder":
        self.device = device
        if device != "cpu":
            self._onnx = {}  # ONNX Runtime serves the CPU only
        for name in ("_tower", "_heads", "_audio"):
            module = getattr(self, name)
            if module is not None:
                setattr(self, name, module.to(device))
        return self

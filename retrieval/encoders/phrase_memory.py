"""Short queries in other languages: borrow the MiniLM vectors of the nearest English phrases.

The adapter maps a multilingual sentence vector onto MiniLM's space well for sentences but poorly for a
bare word ("perro", "猫"): one word carries too little for a regression to land on the right spot. The
multilingual encoder's own cross-lingual alignment is better at that than the adapter, so a short query
also looks up its nearest English phrases (words and phrases of up to three words from the recipe's English
corpus) in the multilingual space and blends in the MiniLM vectors of those phrases, weighted by a softmax
of their similarity. Long queries keep the adapter alone.

The keys are the phrases' multilingual vectors, centred and projected onto their top principal axes,
stored as int8 with one scale per row (`phrase_memory.safetensors`); the phrases themselves are a JSON
list. The MiniLM vectors of the few neighbours a query picks are encoded when it needs them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.encoders.base import normalize
from retrieval.types import Vectors

log = logging.getLogger(__name__)

MEMORY_FILE = "phrase_memory.safetensors"
PHRASES_FILE = "phrases.json"


@dataclass(frozen=True)
class MemorySettings:
    """How the memory is built and read (the shipped values)."""

    dims: int = 256
    """Principal axes the keys keep."""
    neighbours: int = 8
    temperature: float = 0.02
    """Softmax temperature over the neighbours' similarities."""
    adapter_weight: float = 0.3
    """Share of the adapter's own vector in the blend (the rest: the neighbours' MiniLM vectors)."""
    max_words: int = 3
    """A query of at most this many words is short."""
    max_chars: int = 8
    """A query without spaces (Chinese, Japanese, Thai) of at most this many characters is short."""
    max_phrase_words: int = 3
    """Phrases of the English corpus with at most this many words go into the memory."""


SETTINGS = MemorySettings()


def is_short(text: str, settings: MemorySettings = SETTINGS) -> bool:
    """Whether `text` is a name of a thing rather than a sentence: a few words, or a few characters in a script
    written without spaces."""
    words = text.split()
    if len(words) > 1 or text.isascii():
        return len(words) <= settings.max_words
    return len(text.strip()) <= settings.max_chars


def is_memory_phrase(text: str, settings: MemorySettings = SETTINGS) -> bool:
    """Whether an English corpus text is short enough to be a memory entry."""
    return 0 < len(text.split()) <= settings.max_phrase_words


class PhraseMemory:
    """English phrases keyed by their projected multilingual vectors."""

    def __init__(
        self,
        phrases: Sequence[str],
        keys: np.ndarray,
        scales: np.ndarray,
        mean: np.ndarray,
        axes: np.ndarray,
        settings: MemorySettings = SETTINGS,
    ) -> None:
        if not len(phrases) == len(keys) == len(scales):
            raise ValueError(f"phrase memory: {len(phrases)} phrases, {len(keys)} keys, {len(scales)} scales")
        self.phrases = list(phrases)
        self.keys, self.scales, self.mean, self.axes = keys, scales, mean, axes
        self.settings = settings
        self._by_spelling: dict[str, list[int]] | None = None

    @classmethod
    def build(cls, phrases: Sequence[str], vectors: np.ndarray, settings: MemorySettings = SETTINGS) -> "PhraseMemory":
        """Keys from the phrases' multilingual vectors: centre, project on the top `dims` axes, int8 per row."""
        x = np.asarray(vectors, dtype=np.float32)
        mean = x.mean(axis=0)
        axes = np.linalg.svd(x - mean, full_matrices=False)[2][: settings.dims].astype(np.float32)
        projected = (x - mean) @ axes.T
        scales = np.maximum(np.abs(projected).max(axis=1), 1e-12) / 127
        keys = np.round(projected / scales[:, None]).astype(np.int8)
        return cls(phrases, keys, scales.astype(np.float32), mean, axes, settings)

    @classmethod
    def load(cls, model_dir: Path) -> "PhraseMemory | None":
        """The memory in `model_dir`, or None (with a warning) when it has none or it cannot be read."""
        from safetensors.numpy import load_file

        if not (model_dir / MEMORY_FILE).is_file():
            log.warning("no phrase memory in %s: short queries in other languages use the adapter alone", model_dir)
            return None
        try:
            state = load_file(str(model_dir / MEMORY_FILE))
            phrases = json.loads((model_dir / PHRASES_FILE).read_text(encoding="utf-8"))
            return cls(phrases, state["keys"], state["scales"], state["mean"], state["axes"])
        except (OSError, ValueError, KeyError) as err:
            log.warning("cannot read the phrase memory in %s (%s): short queries use the adapter alone", model_dir, err)
            return None

    def _spelled(self, text: str) -> list[int]:
        """Indices of the phrases spelled like `text`, case aside."""
        if self._by_spelling is None:
            self._by_spelling = {}
            for index, phrase in enumerate(self.phrases):
                self._by_spelling.setdefault(phrase.casefold(), []).append(index)
        return self._by_spelling.get(text.strip().casefold(), [])

    def save(self, model_dir: Path) -> None:
        """Write the keys and the phrase list into `model_dir`."""
        from safetensors.numpy import save_file

        state = {"keys": self.keys, "scales": self.scales, "mean": self.mean, "axes": self.axes}
        save_file(state, str(model_dir / MEMORY_FILE))
        text = json.dumps(self.phrases, ensure_ascii=False, separators=(",", ":")) + "\n"
        (model_dir / PHRASES_FILE).write_text(text, encoding="utf-8")

    def without(self, phrases: set[str]) -> "PhraseMemory":
        """The same memory less the given phrases (to measure how much exact entries matter)."""
        keep = np.array([p not in phrases for p in self.phrases])
        kept = [p for p, k in zip(self.phrases, keep) if k]
        return PhraseMemory(kept, self.keys[keep], self.scales[keep], self.mean, self.axes, self.settings)

    def neighbours(self, vectors: np.ndarray, texts: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(N, k) indices of the nearest phrases of each multilingual vector and their softmax weights.

        A phrase spelled like its query (`texts`, any case) is skipped: the multilingual encoder gives
        "chat" one vector whatever the language, so only other phrases can carry the meaning the query's
        language gives it (French "chat" is a cat)."""
        query = (np.asarray(vectors, dtype=np.float32) - self.mean) @ self.axes.T
        scores = (query @ self.keys.T.astype(np.float32)) * self.scales
        for row, text in enumerate(texts):
            scores[row, self._spelled(text)] = -np.inf
        k = min(self.settings.neighbours, len(self.phrases))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(scores, top, axis=1)
        weights = np.exp((best - best.max(axis=1, keepdims=True)) / self.settings.temperature)
        return top, weights / weights.sum(axis=1, keepdims=True)

    def blend(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        adapted: np.ndarray,
        encode_english: Callable[[list[str]], np.ndarray],
    ) -> Vectors:
        """Adapter vectors of short queries (`texts`, their multilingual `vectors`) blended with the weighted
        MiniLM vectors of their neighbours."""
        top, weights = self.neighbours(vectors, texts)
        picked = sorted({int(i) for i in top.ravel()})
        english = encode_english([self.phrases[i] for i in picked])
        row_of = np.searchsorted(np.array(picked), top)
        borrowed = normalize((weights[..., None] * english[row_of]).sum(axis=1))
        share = self.settings.adapter_weight
        return normalize(share * np.asarray(adapted, dtype=np.float32) + (1 - share) * borrowed)

"""The server's one `Engine`, shared by the request threads.

Encoding a query (text, image or audio) goes through the model, which is guarded by a lock;
searching by the resulting vector reads the catalog and FAISS file and runs unlocked, so a
slow `where` in one request does not hold up the others. Nothing here writes the catalog.
"""

from __future__ import annotations

import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval import Engine
from retrieval.types import Modality, SearchHit

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.query.zeroshot import Classification


@dataclass(frozen=True)
class SearchRequest:
    """What to return for one query: the engine's arguments, plus a page offset into the ranking."""

    k: int = 60
    offset: int = 0
    where: str | None = None
    threshold: float | None = None
    modality: Modality | None = None

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments of `Engine.search` / `Engine.similar` for ranks 1 .. offset+k."""
        return {"k": self.offset + self.k, "where": self.where, "threshold": self.threshold, "modality": self.modality}


class SearchService:
    """Thread-safe searching on one Engine (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._model_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model and FAISS file and run each tower once (when there is an index), so that the
        first requests are not slow."""
        if not self.engine.catalog.exists():
            return
        from PIL import Image

        self.engine.search(self._embed("a photo"), k=1)
        self._embed(Image.new("RGB", (224, 224), "gray"))
        counts = self.engine.catalog.counts()
        if counts.get("audio"):
            with tempfile.TemporaryDirectory() as folder:
                self._embed(_tone(Path(folder) / "warm-up.wav"))

    def search(self, query: str | Path | np.ndarray, request: SearchRequest) -> list[SearchHit]:
        """Hits ranked offset+1 .. offset+k for a text, a media file or a query vector."""
        vector = query if isinstance(query, np.ndarray) else self._embed(query)
        return self.engine.search(vector, **request.engine_options())[request.offset :]

    def similar(self, item_id: int, request: SearchRequest) -> list[SearchHit]:
        """Hits nearest to a stored item's vector (no model involved)."""
        return self.engine.similar(item_id, **request.engine_options())[request.offset :]

    def classify(self, files: list[Path], labels: list[str], top_k: int) -> "list[Classification]":
        """Zero-shot labels of uploaded files."""
        with self._model_lock:
            return self.engine.classify(list(files), labels, top_k=top_k)

    def model_id(self) -> str:
        """The id of the index's model (from the cached catalog metadata)."""
        return self.engine.catalog.meta().model_id

    def _embed(self, query: "str | Path | Image.Image") -> np.ndarray:
        with self._model_lock:
            return self.engine.embed_query(query)


def _tone(path: Path) -> Path:
    """A one-second 440 Hz 16 kHz WAV at `path` (to run the audio tower once)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((np.sin(np.arange(16_000) * 2 * np.pi * 440 / 16_000) * 8_000).astype("<i2").tobytes())
    return path

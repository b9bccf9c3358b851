"""Engine: the public facade. Open an index folder, index paths, search, remove, describe.

from retrieval import Engine
engine = Engine("~/photos-index")
engine.index(["~/photos"])
for hit in engine.search("a black cat sleeping", k=5):
    print(hit.score, hit.path)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexes.catalog import Catalog, IndexMeta, check_compatible
from indexes.faiss_store import FaissStore
from indexes.sync import AUTO, sync_store
from retrieval.encoders.base import Encoder
from retrieval.encoders.onnx_runtime import RUNTIMES, require_onnx
from retrieval.encoders.registry import DEFAULT_MODEL, load_encoder, model_id_of, parse_model
from retrieval.errors import IndexMismatchError, ItemNotFoundError, MmsearchError
from retrieval.ingest.run import run_index
from retrieval.media.scan import root_aliases, text_facts
from retrieval.query.embed import embed_inputs, query_text
from retrieval.query.search import SearchSettings, search_vector
from retrieval.types import IndexReport, IndexSettings, Modality, ProgressCallback, SearchHit

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.query.zeroshot import Classification

CATALOG_FILE = "catalog.duckdb"
VECTORS_FILE = "vectors.faiss"

log = logging.getLogger(__name__)


def default_db() -> Path:
    """Where the index lives when no --db is given: $MMSEARCH_DB, else $XDG_DATA_HOME/mmsearch/default."""
    if os.environ.get("MMSEARCH_DB"):
        return Path(os.environ["MMSEARCH_DB"]).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "mmsearch" / "default"


@dataclass(frozen=True)
class IndexInfo:
    """What `mmsearch info` shows."""

    db: str
    model_id: str
    dim: int
    index_type: str
    counts: dict[str, int]
    files: int
    bytes_on_disk: int
    created_at: str


class Engine:
    """An index folder (DuckDB catalog + FAISS file) and the model that fills and queries it.

    `model` defaults to the model that built the index, or `lite` for a new index. Asking
    for a different model than the index's raises IndexMismatchError.
    """

    def __init__(self, db: str | Path | None = None, model: str | None = None, device: str | None = None) -> None:
        self.db = Path(db).expanduser().resolve() if db else default_db().resolve()
        if self.db.exists() and not self.db.is_dir():
            raise MmsearchError(f"index location {self.db} is a file; an index is a folder")
        self.catalog = Catalog(self.db / CATALOG_FILE)
        self.catalog.upgrade()
        self._model_name = model
        self._device = device
        self._encoder: Encoder | None = None
        self._store: FaissStore | None = None
        self._store_generation = -1

    # -- model --------------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        """The model (loaded on first use; checked against the index before loading)."""
        if self._encoder is None:
            name = self._model_name
            if self.catalog.exists():
                meta = self.catalog.meta()
                name = name or meta.model_name
                check_compatible(meta, model_id_of(name), meta.dim, self.catalog.path)
            self._encoder = load_encoder(name or DEFAULT_MODEL, self._device)
        return self._encoder

    @property
    def model_name(self) -> str:
        """The name to reload this engine's model by (fine-tune folders as absolute paths)."""
        name = self._model_name or (self.catalog.meta().model_name if self.catalog.exists() else DEFAULT_MODEL)
        spec = parse_model(name)
        return str(spec.weights_dir) if spec.weights_dir else name

    # -- writing ------------------------------------------------------------
    def index(
        self,
        paths: list[str | Path],
        settings: IndexSettings = IndexSettings(),
        index_type: str = AUTO,
        progress: ProgressCallback | None = None,
        captions: list[str | Path] = (),  # type: ignore[assignment]
    ) -> IndexReport:
        """Index media under `paths` and text items of `captions` files, incrementally.

        New, changed, moved and deleted files are handled; unchanged ones are not re-embedded.
        """
        if not paths and not captions:
            raise MmsearchError("nothing to index: give folders/files or --captions")
        aliases = root_aliases(paths)
        roots = [Path(real) for _, real in aliases]
        texts = text_facts(captions)
        if settings.runtime not in RUNTIMES:
            raise MmsearchError(f"unknown runtime {settings.runtime!r}: use {', '.join(RUNTIMES)}")
        if settings.runtime == "onnx":
            require_onnx()  # before the model loads, like a missing Ray
        if settings.ray:
            from retrieval.distributed.cluster import require_ray

            require_ray()  # before the model loads: a missing extra is one line at once
        encoder = self.encoder
        self.catalog.ensure(encoder.model_id, encoder.dim, self.model_name)
        for given, real in aliases:
            if given != real and self.catalog.rebase(given, real):
                log.info("%s is %s: its files are now stored by that real path", given, real)
        if settings.ray:
            from retrieval.distributed.run import run_distributed_index

            vectors = self.db / VECTORS_FILE
            return run_distributed_index(
                self.catalog, encoder, self.model_name, roots, texts, vectors, index_type, settings, progress
            )
        return run_index(self.catalog, encoder, roots, texts, self.db / VECTORS_FILE, index_type, settings, progress)

    def remove(self, paths: list[str | Path]) -> int:
        """Drop every item whose file lies under `paths` (files need not exist); returns files removed."""
        given = [os.path.abspath(os.path.expanduser(str(p))) for p in paths]
        prefixes = sorted({*given, *map(os.path.realpath, given)})
        removed = self.catalog.delete_paths(sorted(self.catalog.stored_files(prefixes)))
        self._refresh_store(self.catalog.meta().index_type or AUTO, save=True)
        return removed

    # -- reading ------------------------------------------------------------
    def search(
        self,
        query: "str | Path | Image.Image | np.ndarray",
        k: int = 10,
        where: str | None = None,
        threshold: float | None = None,
        modality: Modality | None = None,
        group: bool = True,
        lang: str | None = None,
    ) -> list[SearchHit]:
        """Search by text (str), image (Path or PIL image) or a query vector (ndarray); `group` folds a
        file's matching time spans (audio windows, transcript segments, video shots) into one hit; `lang`
        names the language of a text query (None: detected)."""
        settings = SearchSettings(k, where, threshold, modality, group)
        return search_vector(self.catalog, self._current_store(), self.embed_query(query, lang), settings)

    def similar(
        self,
        item_id: int,
        k: int = 10,
        where: str | None = None,
        threshold: float | None = None,
        modality: Modality | None = None,
        group: bool = True,
    ) -> list[SearchHit]:
        """Items nearest to stored item `item_id`, by its catalog vector (no re-encoding)."""
        ids, vectors = self.catalog.vectors([item_id])
        if not len(ids):
            raise ItemNotFoundError(f"no item with id {item_id}")
        return self.search(vectors[0], k=k, where=where, threshold=threshold, modality=modality, group=group)

    def item(self, item_id: int) -> dict[str, object]:
        """The catalog row of one item (without its vector); raises ItemNotFoundError."""
        row = self.catalog.rows([item_id]).get(item_id)
        if row is None:
            raise ItemNotFoundError(f"no item with id {item_id}")
        return row

    def classify(
        self,
        items: "list[object]",
        labels: list[str],
        templates: list[str] | None = None,
        top_k: int = 5,
        threshold: float | None = None,
        lang: str | None = None,
    ) -> "list[Classification]":
        """Zero-shot classification of files, folders, PIL images or arrays among `labels` (in any language;
        `lang` names it, None: detected per label)."""
        from retrieval.query.zeroshot import classify_inputs

        return classify_inputs(self.encoder, items, labels, templates, top_k, threshold, lang)

    def embed_query(self, query: "str | Path | Image.Image | np.ndarray", lang: str | None = None) -> np.ndarray:
        """The normalised query vector: text (str, in language `lang`, None: detected), an image or audio
        file (Path), a PIL image, or a vector."""
        if isinstance(query, np.ndarray):
            meta = self.catalog.meta()
            vector = np.asarray(query, dtype=np.float32).reshape(-1)
            if vector.shape[0] != meta.dim:
                raise IndexMismatchError(f"query vector has dimension {vector.shape[0]}, the index has {meta.dim}")
            return vector / max(float(np.linalg.norm(vector)), 1e-12)
        if isinstance(query, str):
            return self.encoder.encode_texts_in([query_text(query, lang)], lang)[0]
        return embed_inputs(self.encoder, [query])[0]

    def info(self) -> IndexInfo:
        """Location, model, counts, dimension, index type and size on disk."""
        meta: IndexMeta = self.catalog.meta()
        size = sum(f.stat().st_size for f in self.db.iterdir() if f.is_file())
        return IndexInfo(
            str(self.db),
            meta.model_id,
            meta.dim,
            meta.index_type or "none (empty)",
            self.catalog.counts(),
            self.catalog.file_count(),
            size,
            meta.created_at,
        )

    # -- FAISS file -----------------------------------------------------------
    def _current_store(self) -> FaissStore | None:
        meta = self.catalog.meta()
        if self._store is None or self._store_generation != meta.generation:
            self._refresh_store(meta.index_type or AUTO, save=False)
        return self._store

    def _refresh_store(self, index_type: str, save: bool) -> None:
        self._store = sync_store(self.catalog, self.db / VECTORS_FILE, index_type, save=save)
        self._store_generation = self._store.generation if self._store else -1

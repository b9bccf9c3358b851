"""Index facts (`mmsearch info`) and a health check."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from retrieval.engine import IndexInfo
from retrieval.errors import IndexNotFoundError
from server.params import service
from server.schemas import ErrorResponse, Health
from server.service import SearchService

router = APIRouter(prefix="/api", tags=["index"])


@router.get("/info", response_model=IndexInfo, responses={404: {"model": ErrorResponse}})
def info(engine: SearchService = Depends(service)) -> IndexInfo:
    """`mmsearch info --json`: where the index lives, its model, counts per modality, index type, size on disk."""
    return engine.engine.info()


@router.get("/health", response_model=Health)
def health(engine: SearchService = Depends(service)) -> Health:
    """'ok' and the catalog generation, which bumps on every commit of an indexer."""
    try:
        generation: int | None = engine.engine.catalog.meta().generation
    except IndexNotFoundError:
        generation = None
    return Health(status="ok", generation=generation)

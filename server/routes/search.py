"""Search by text, by an uploaded image or sound, and by a stored item ("more like this")."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, File, Query, UploadFile

from retrieval.types import SearchHit
from server.params import search_request, service
from server.schemas import ErrorResponse, Hit, SearchResponse
from server.service import SearchRequest, SearchService
from server.settings import MAX_K, MAX_QUERY_CHARS
from server.uploads import saved_uploads

router = APIRouter(
    prefix="/api", tags=["search"], responses={400: {"model": ErrorResponse}, 404: {"model": ErrorResponse}}
)


def page(query: str, hits: list[SearchHit], search: SearchRequest, engine: SearchService) -> SearchResponse:
    """The response for one page of `hits`."""
    has_more = len(hits) == search.k and search.offset + search.k < MAX_K
    return SearchResponse(
        query=query,
        model=engine.model_id(),
        results=[Hit(**h.to_dict()) for h in hits],
        offset=search.offset,
        has_more=has_more,
        where=search.where,
    )


@router.get("/search", response_model=SearchResponse)
def search_text(
    q: str = Query(..., min_length=1, max_length=MAX_QUERY_CHARS, description="what to look for"),
    search: SearchRequest = Depends(search_request),
    engine: SearchService = Depends(service),
) -> SearchResponse:
    """Search by text."""
    return page(q, engine.search(q, search), search, engine)


@router.post("/search/upload", response_model=SearchResponse)
def search_upload(
    file: UploadFile = File(..., description="an image or a sound (at most 25 MB)"),
    search: SearchRequest = Depends(search_request),
    engine: SearchService = Depends(service),
) -> SearchResponse:
    """Search by an uploaded image or sound (its extension or content type decides which)."""
    with saved_uploads([file]) as (path,):
        hits = engine.search(Path(path), search)
    return page(file.filename or "upload", hits, search, engine)


@router.get("/items/{item_id}/similar", response_model=SearchResponse)
def search_similar(
    item_id: int,
    search: SearchRequest = Depends(search_request),
    engine: SearchService = Depends(service),
) -> SearchResponse:
    """More like this: items nearest to a stored item's vector."""
    return page(f"similar:{item_id}", engine.similar(item_id, search), search, engine)

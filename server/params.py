"""Request dependencies: the app's SearchService, and the query parameters shared by every search endpoint."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import HTTPException, Query, Request

from server.filters import Filters, build_where
from server.service import SearchRequest, SearchService
from server.settings import MAX_FILTER_CHARS, MAX_K, MAX_WHERE_CHARS

ModalityChoice = Literal["all", "image", "audio", "video", "text"]


def service(request: Request) -> SearchService:
    """The app's SearchService."""
    return request.app.state.service


def search_request(
    k: int = Query(60, ge=1, le=MAX_K, description="results per page"),
    offset: int = Query(0, ge=0, lt=MAX_K, description="skip this many ranks (offset + k <= 1000)"),
    modality: ModalityChoice = Query("all"),
    threshold: float | None = Query(None, ge=-1.0, le=1.0, description="minimum cosine score"),
    where: str | None = Query(None, max_length=MAX_WHERE_CHARS, description="SQL predicate over catalog columns"),
    folder: str | None = Query(
        None, max_length=MAX_FILTER_CHARS, description="absolute path prefix, or a folder name anywhere in the path"
    ),
    type: str | None = Query(None, max_length=100, description="file extensions, e.g. 'jpg,png'"),
    date_from: date | None = Query(None, description="file date on or after (YYYY-MM-DD)"),
    date_to: date | None = Query(None, description="file date on or before (YYYY-MM-DD)"),
) -> SearchRequest:
    """The engine arguments for one page of results."""
    if offset + k > MAX_K:
        raise HTTPException(400, f"offset + k may be at most {MAX_K}")
    predicate = build_where(Filters(where, folder, type, date_from, date_to))
    return SearchRequest(
        k=k, offset=offset, where=predicate, threshold=threshold, modality=None if modality == "all" else modality
    )

"""Response models: they document the API in /openapi.json (hits keep every catalog field)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Hit(BaseModel):
    """One result, in the shape of `mmsearch query --json`: rank, score, id, path, modality, then catalog fields."""

    model_config = ConfigDict(extra="allow")
    rank: int
    score: float
    id: int
    path: str
    modality: str


class SearchResponse(BaseModel):
    """`mmsearch query --json`'s object, plus the page: results are ranks offset+1 .. offset+len(results)."""

    query: str
    model: str
    results: list[Hit]
    offset: int
    has_more: bool
    where: str | None = None


class FileFacts(BaseModel):
    """What the file on disk says now (None where unknown)."""

    exists: bool
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    camera: str | None = None


class ItemDetail(BaseModel):
    """An item's catalog row, facts about its file, and where to get its thumbnail and media."""

    item: dict[str, Any]
    file: FileFacts
    thumbnail_url: str
    media_url: str | None


class Health(BaseModel):
    """The server answers; `generation` is the catalog's commit counter (None without an index)."""

    status: str
    generation: int | None


class ClassifyResponse(BaseModel):
    """`mmsearch classify --json`: labels and one result per uploaded file."""

    labels: list[str]
    results: list[dict[str, Any]]


class ErrorResponse(BaseModel):
    """Every error: one line."""

    error: str

"""Item detail: the catalog row (with the photo's EXIF facts), what its file says now, and its URLs."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends

from retrieval.errors import ItemNotFoundError
from server.media_files import media_path
from server.params import service
from server.schemas import ErrorResponse, FileFacts, ItemDetail
from server.service import SearchService

router = APIRouter(prefix="/api", tags=["items"], responses={404: {"model": ErrorResponse}})


def jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    """A catalog row with timestamps as text."""
    return {k: v.isoformat(sep=" ") if hasattr(v, "isoformat") else v for k, v in row.items()}


def file_facts(row: dict[str, Any]) -> FileFacts:
    """Size of the item's file (if it may be served), its dimensions, capture time and camera."""
    taken = row.get("taken_at")
    taken_at = f"{taken.isoformat(sep=' ')}{row.get('taken_offset') or ''}" if taken else None
    camera = camera_name(row.get("camera_make"), row.get("camera_model"))
    try:
        size: int | None = os.stat(media_path(row)).st_size
    except ItemNotFoundError:
        size = None
    return FileFacts(
        exists=size is not None,
        size_bytes=size,
        width=row.get("width"),
        height=row.get("height"),
        taken_at=taken_at,
        camera=camera,
    )


def camera_name(make: str | None, model: str | None) -> str | None:
    """'Make Model', without repeating a make that the model name already starts with."""
    if make and model and model.lower().startswith(make.lower()):
        return model
    return " ".join(part for part in (make, model) if part) or None


@router.get("/items/{item_id}", response_model=ItemDetail)
def item_detail(item_id: int, engine: SearchService = Depends(service)) -> ItemDetail:
    """Everything known about one item."""
    row = engine.engine.item(item_id)
    facts = file_facts(row)
    return ItemDetail(
        item=jsonable_row(row),
        file=facts,
        thumbnail_url=f"/api/items/{item_id}/thumbnail",
        media_url=f"/api/items/{item_id}/media" if facts.exists else None,
    )

"""Thumbnails and original media, by catalog id only (HTTP Range requests supported)."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from server.media_files import media_path
from server.params import service
from server.schemas import ErrorResponse
from server.service import SearchService

router = APIRouter(prefix="/api", tags=["media"], responses={404: {"model": ErrorResponse}})

_SAFE_TYPES = ("image/", "audio/", "video/")


@router.get("/items/{item_id}/thumbnail", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def thumbnail(item_id: int, request: Request, engine: SearchService = Depends(service)) -> Response:
    """A small JPEG of the item (an icon for audio and text, a placeholder when the file cannot be read)."""
    thumb = request.app.state.thumbnails.get(engine.engine.item(item_id))
    headers = {"Cache-Control": "private, max-age=86400", "ETag": f'"{thumb.etag}"'}
    if thumb.path is not None:
        return FileResponse(thumb.path, media_type="image/jpeg", headers=headers)
    return Response(thumb.data, media_type="image/jpeg", headers=headers)


@router.get(
    "/items/{item_id}/media",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}, "audio/*": {}}}, 206: {"description": "a byte range"}},
)
def media(item_id: int, engine: SearchService = Depends(service)) -> FileResponse:
    """The original file of an image or audio item; send `Range: bytes=a-b` for part of it."""
    path = media_path(engine.engine.item(item_id))
    media_type = mimetypes.guess_type(path.name)[0] or ""
    if not media_type.startswith(_SAFE_TYPES) or "svg" in media_type:
        media_type = "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})

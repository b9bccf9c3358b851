"""`create_app(settings)`: the FastAPI app serving the API, the page and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from retrieval import Engine
from server.auth import TokenAuth
from server.errors import install_error_handlers
from server.middleware import BodyLimit, SecurityHeaders
from server.routes import classify, info, items, login, media, search
from server.service import SearchService
from server.settings import MAX_UPLOAD_BYTES, ServerSettings
from server.thumbnails import ThumbnailCache

STATIC = Path(__file__).resolve().parent / "static"
THUMBNAILS_FOLDER = "thumbnails"


def create_app(settings: ServerSettings, engine: Engine | None = None) -> FastAPI:
    """The app for `settings` (on `engine`, or a new Engine on settings.db). Nothing here writes the catalog."""
    app = FastAPI(
        title="mmsearch",
        summary="Search photos, sounds and captions in plain language.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = SearchService(engine or Engine(settings.db))
    app.state.thumbnails = ThumbnailCache(
        app.state.service.engine.db / THUMBNAILS_FOLDER, settings.thumbnail_px, settings.thumbnail_cache_bytes
    )
    install_error_handlers(app)
    for module in (search, items, media, classify, info):
        app.include_router(module.router)
    if settings.token:
        app.include_router(login.router)
    _add_pages(app)
    app.add_middleware(BodyLimit, limit=MAX_UPLOAD_BYTES + 64 * 1024)  # the file plus the form around it
    if settings.token:
        app.add_middleware(TokenAuth, token=settings.token)
    app.add_middleware(SecurityHeaders)  # outermost: 401 and 413 answers get the headers too
    return app


def _add_pages(app: FastAPI) -> None:
    """The search page at /, the offline API docs at /docs, and /static."""
    no_cache = {"Cache-Control": "no-cache"}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=no_cache)

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC / "docs.html", headers=no_cache)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

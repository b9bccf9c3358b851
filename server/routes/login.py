"""The login page: trade the token for a session cookie (only mounted when a token is set)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse

from server.auth import COOKIE, session_value, token_matches

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page() -> FileResponse:
    """The form asking for the token."""
    return FileResponse(STATIC / "login.html")


@router.post("/login")
def login(request: Request, token: str = Form(..., max_length=1000)) -> RedirectResponse:
    """A right token sets the session cookie and goes to the page; a wrong one back to the form."""
    real: str = request.app.state.settings.token
    if not token_matches(token.strip(), real):
        return RedirectResponse("/login?failed=1", status_code=303)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, session_value(real), httponly=True, samesite="strict", path="/")
    return response

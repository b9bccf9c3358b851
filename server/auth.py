"""Token auth: with a token set, every request but the login page needs it.

A client sends `Authorization: Bearer <token>`; the browser gets a cookie from the login page
holding an HMAC of the token (never the token itself). A token in the URL is not accepted, so it
cannot end up in access logs or browser history. Comparisons use hmac.compare_digest.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "mmsearch_session"
PUBLIC_PATHS = frozenset({"/login", "/static/login.js", "/static/style.css", "/static/favicon.svg"})


def session_value(token: str) -> str:
    """The cookie value that stands for `token`."""
    return hmac.new(token.encode(), b"mmsearch session cookie", hashlib.sha256).hexdigest()


def token_matches(given: str, token: str) -> bool:
    """Constant-time comparison of a presented token with the real one."""
    return hmac.compare_digest(given.encode(), token.encode())


class TokenAuth:
    """Reject requests without the token: JSON 401 for the API, a redirect to /login for pages."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response: Response
        if scope["path"].startswith("/api/") or scope["path"] == "/openapi.json" or scope["method"] != "GET":
            response = JSONResponse(
                {"error": "a token is required (Authorization: Bearer TOKEN, or log in at /login)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        else:
            response = RedirectResponse("/login", status_code=303)
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        headers = dict(scope["headers"])
        scheme, _, given = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and given and token_matches(given.strip(), self.token):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:  # a malformed cookie header is just not a session
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and token_matches(morsel.value, self.session)

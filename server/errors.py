"""Errors become JSON `{"error": "<one line>"}` with a status code that says whose fault it was."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from retrieval.errors import (
    FilterError,
    IndexNotFoundError,
    ItemNotFoundError,
    MediaDecodeError,
    MmsearchError,
    ModalityNotSupportedError,
)
from server.filters import FilterValueError

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (ItemNotFoundError, 404),
    (IndexNotFoundError, 404),
    (FilterError, 400),
    (MediaDecodeError, 400),
    (ModalityNotSupportedError, 400),
    (FilterValueError, 400),
    (MmsearchError, 400),
)


def error_response(status: int, message: object) -> JSONResponse:
    """The one error shape of the API."""
    line = str(message).strip().splitlines()[0] if str(message).strip() else "error"
    return JSONResponse({"error": line}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Map library errors, HTTP errors and request validation errors to `error_response`."""

    async def library_error(_: Request, err: Exception) -> JSONResponse:
        status = next(code for cls, code in _STATUS if isinstance(err, cls))
        return error_response(status, err)

    async def http_error(_: Request, err: Exception) -> JSONResponse:
        if not isinstance(err, HTTPException):
            raise err
        response = error_response(err.status_code, err.detail)
        response.headers.update(err.headers or {})
        return response

    async def validation_error(_: Request, err: Exception) -> JSONResponse:
        if not isinstance(err, RequestValidationError):
            raise err
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path"))
        return error_response(422, f"{where}: {first.get('msg', 'invalid value')}" if where else first.get("msg"))

    for cls, _code in _STATUS:
        app.add_exception_handler(cls, library_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)

"""HTTP errors: every refusal is a 4xx with one clear sentence, never a 500 or a traceback.

    400  the request asks for something impossible (UsageError)
    401  no token, or the wrong one
    404  the address, transaction or entity is not in the store (NotFoundError)
    422  a parameter does not parse (FastAPI validation), with the parameter named
    503  the store is unreadable (StoreError)

Bodies are ``{"error": "<sentence>", "detail": ...}``; the sentence is in the reader's language (api.language).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chaintrail.errors import ChaintrailError, StoreError, UsageError
from chaintrail.i18n import _

log = logging.getLogger(__name__)


class NotFoundError(UsageError):
    """The thing asked for is not in the store (HTTP 404)."""


def _status(exc: ChaintrailError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, StoreError):
        return 503
    return 400


def _where(loc) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or "request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a clear JSON error."""

    @app.exception_handler(ChaintrailError)
    async def _chaintrail(request: Request, exc: ChaintrailError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        msg = "; ".join(f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errs[:5])
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in errs]
        return JSONResponse({"error": _("invalid request: {problems}").format(problems=msg), "detail": detail},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        msg = _("internal error ({name}); see the server log").format(name=type(exc).__name__)
        return JSONResponse({"error": msg}, status_code=500)

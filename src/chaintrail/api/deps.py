"""Shared route plumbing: the process's workbench, JSON bodies, and the error responses every route documents."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import Request, Response

from chaintrail.api.schemas import ErrorBody
from chaintrail.api.workbench import Workbench

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request asks for something impossible"},
    401: {"model": ErrorBody, "description": "Missing or wrong token"},
    404: {"model": ErrorBody, "description": "Not in the store"},
    422: {"model": ErrorBody, "description": "A parameter does not parse"},
}


async def get_wb(request: Request) -> Workbench:
    """The current read model (reopened after an ingest); one request keeps the one it started with."""
    return request.app.state.live.current()


async def get_runner(request: Request):
    return request.app.state.runner


def json_response(body, status_code: int = 200) -> Response:
    """A body already shaped like its response model, serialised once (the schema tests check the shapes).

    orjson: about a tenth of the json module's time on a lookup's body (a float that is not finite becomes
    null). It refuses integers past 64 bits (wei amounts can be), which the json module then writes."""
    try:
        raw = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        raw = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    return Response(raw, status_code=status_code, media_type="application/json")

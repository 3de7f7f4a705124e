"""Shared route plumbing: the process's workbench and the error responses every route documents."""

from __future__ import annotations

from fastapi import Request

from chaintrail.api.schemas import ErrorBody
from chaintrail.api.workbench import Workbench

ERRORS = {
    400: {"model": ErrorBody, "description": "The request asks for something impossible"},
    401: {"model": ErrorBody, "description": "Missing or wrong token"},
    404: {"model": ErrorBody, "description": "Not in the store"},
    422: {"model": ErrorBody, "description": "A parameter does not parse"},
}


def get_wb(request: Request) -> Workbench:
    return request.app.state.wb

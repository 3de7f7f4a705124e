"""/meta: what this server holds and can do (the UI reads it first)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request

from chaintrail import __version__
from chaintrail.api.deps import ERRORS, get_wb
from chaintrail.api.schemas import Meta

router = APIRouter(tags=["meta"], responses=ERRORS)


@router.get("/meta", response_model=Meta, summary="Store, features and limits")
async def meta(request: Request, wb=Depends(get_wb)) -> dict:
    c = wb.store.counts
    return {"version": __version__, "network": wb.store.network,
            "counts": {k: int(c.get(k, 0)) for k in ("blocks", "txs", "inputs", "outputs", "addresses")},
            "tags": wb.tags.n_tags, "features": dict(request.app.state.features), "limits": asdict(wb.limits),
            "case": request.app.state.case_info}

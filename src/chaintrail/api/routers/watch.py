"""/watches and /alerts: watchlists and the alerts `chaintrail follow` raises, through the case layer.

Identity and isolation are the case routes': the user token in ``X-Chaintrail-User-Token``; a case another
agency may not see answers 404 and the attempt is logged as denied. ``/alerts/stream`` is a server-sent
event stream: one ``alert`` event per alert that is new or changed (raised, retracted), and an ``unread``
event with the unread count per case whenever it changes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from chaintrail.api.routers.cases import _ERRORS, Who, _call, _Open, get_repo
from chaintrail.cases.identity import Principal
from chaintrail.cases.repository import CaseRepository

router = APIRouter(tags=["monitoring"], responses=_ERRORS)
Repo = Depends(get_repo)


class WatchIn(BaseModel):
    case: str = Field(min_length=1, max_length=80, description="The case's ref")
    chain: Literal["btc", "eth"] = "btc"
    kind: Literal["address", "entity", "category", "exposure"]
    target: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, description="direction, min_amount, to_category, "
                                                                       "category, max_hops (by kind)")
    notify: dict[str, Any] = Field(default_factory=dict, description='{"webhook": URL, "email": [ADDRESS]}')
    label: str | None = Field(None, max_length=200)
    tlp: Literal["clear", "green", "amber", "amber+strict", "red"] | None = None


class ReadIn(BaseModel):
    ids: list[int] = Field(max_length=10_000)


def _network(request: Request) -> str | None:
    wb = request.app.state.live.current()
    return getattr(getattr(wb, "store", None), "network", None)


@router.get("/watches", response_model=list[_Open], summary="Watches of a case, or of every case you may see")
def list_watches(case: str | None = Query(None, max_length=80), removed: bool = False,
                 repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.monitor.watches import list_watches as lw
    return _call(lw, repo, p, case, include_removed=removed)


@router.post("/watches", response_model=_Open, status_code=201, summary="Add a watch (refused with the reason "
                                                                        "when malformed)")
def add_watch(body: WatchIn, request: Request, repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.monitor.watch_spec import check_spec
    from chaintrail.monitor.watches import add_watch as aw

    def go():
        spec = check_spec(body.chain, body.kind, body.target, body.params, body.notify, body.label,
                          network=_network(request) if body.chain == "btc" else None)
        return aw(repo, p, body.case, spec, body.tlp)
    return _call(go)


@router.delete("/watches/{watch_id}", response_model=_Open, summary="Remove a watch (kept inactive)")
def remove_watch(watch_id: int, repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.monitor.watches import remove_watch as rw
    return _call(rw, repo, p, watch_id)


@router.get("/alerts", response_model=list[_Open], summary="Alerts of a case, or of every case you may see")
def list_alerts(case: str | None = Query(None, max_length=80), after: int = Query(0, ge=0),
                repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.monitor.alerts import list_alerts as la
    return _call(la, repo, p, case, after)


@router.get("/alerts/unread", response_model=dict[str, int], summary="Unread alerts per case, for you")
def unread(repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.monitor.alerts import unread_counts
    with repo.db.read() as conn:
        return unread_counts(conn, p)


@router.post("/alerts/read", response_model=dict[str, int], summary="Mark alerts read (for you)")
def mark_read(body: ReadIn, repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.monitor.alerts import mark_read as mr
    return {"marked": _call(mr, repo, p, body.ids)}


@router.get("/alerts/stream", summary="Server-sent events: alerts as they are raised or retracted, unread counts",
            response_class=StreamingResponse)
async def stream(request: Request, max_s: float = Query(3600.0, gt=0, le=86_400),
                 repo: CaseRepository = Repo, p: Principal = Who):
    from chaintrail.cases import audit

    def opened() -> None:
        with repo.db.tx() as conn:
            audit.append(conn, actor=p.username, agency=p.agency, action="alert.stream")
    await anyio.to_thread.run_sync(opened)
    return StreamingResponse(_events(request, repo, p, max_s), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


async def _events(request: Request, repo: CaseRepository, p: Principal, max_s: float):
    from chaintrail.monitor.alerts import changed_since, unread_counts

    def look(seen: dict[int, str]) -> tuple[list[dict], dict[str, int]]:
        with repo.db.read() as conn:
            return changed_since(conn, p, seen), unread_counts(conn, p)

    seen: dict[int, str] = {}
    counts: dict[str, int] | None = None
    loop = asyncio.get_running_loop()
    end = loop.time() + max_s
    beat = loop.time()
    yield ": chaintrail alerts\n\n"
    while loop.time() < end and not await request.is_disconnected():
        changed, now = await anyio.to_thread.run_sync(look, seen)
        for a in changed:
            seen[int(a["id"])] = a["status"]
            yield f"event: alert\nid: {a['id']}\ndata: {json.dumps(a, default=str)}\n\n"
        if now != counts:
            counts = now
            yield f"event: unread\ndata: {json.dumps(counts)}\n\n"
        if loop.time() - beat > 15:
            beat = loop.time()
            yield ": keep-alive\n\n"
        await asyncio.sleep(0.25)

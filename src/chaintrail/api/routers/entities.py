"""/entities: an entity's summary and its members, paged or streamed, never loaded whole.

A supercluster of millions of addresses answers its summary from totals
kept per entity, a page of members from a slice of a sorted array, and the
full member list as a stream of NDJSON lines written as they are read.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from chaintrail.api import present
from chaintrail.api.deps import ERRORS, get_wb, json_response
from chaintrail.api.schemas import Entity, EntityMemberPage

router = APIRouter(tags=["entities"], responses=ERRORS)
EntityParam = Path(..., ge=0, le=(1 << 40), description="Entity id (as in `cluster` fields)")
_CHUNK = 5000


@router.get("/entities/{entity_id}", response_model=Entity, summary="An entity's summary")
async def get_entity(entity_id: int = EntityParam, currency: str = Query("USD", pattern="^[A-Za-z]{3}$", description="Reporting currency beside USD"),
                     wb=Depends(get_wb)):
    """Size, totals, risk and tags; never the member list (see /members)."""
    return json_response(present.entity(wb, present.resolve_entity(wb, entity_id), currency.upper()))


@router.get("/entities/{entity_id}/members", response_model=EntityMemberPage, summary="A page of an entity's addresses")
async def get_members(entity_id: int = EntityParam,
                offset: int = Query(0, ge=0, le=1 << 40),
                limit: int = Query(100, ge=1, le=1000),
                order: str = Query("id", pattern="^(id|received)$", description="id (chain order) or received (largest first)"),
                wb=Depends(get_wb)):
    return json_response(present.members_page(wb, present.resolve_entity(wb, entity_id), offset, limit, order))


@router.get("/entities/{entity_id}/members.ndjson", summary="Every address of an entity, streamed",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}},
                             "description": "One JSON object per line: address, received_sat, sent_sat, risk, tagged"}})
def stream_members(entity_id: int = EntityParam,
                   order: str = Query("id", pattern="^(id|received)$"),
                   wb=Depends(get_wb)) -> StreamingResponse:
    """All members, written in chunks as they are produced, so the first line arrives at once however large."""
    cid = present.resolve_entity(wb, entity_id)
    nums = present.member_order(wb, cid, order)

    def lines():
        for lo in range(0, len(nums), _CHUNK):
            rows = present.member_rows(wb, nums[lo:lo + _CHUNK])
            yield "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)

    return StreamingResponse(lines(), media_type="application/x-ndjson")

"""/graph: canvas fragments - expand an address, a transaction or an entity into nodes and edges."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from chaintrail.api import present
from chaintrail.api.deps import ERRORS, get_wb, json_response
from chaintrail.api.graph import GraphBuilder
from chaintrail.api.schemas import Graph
from chaintrail.errors import UsageError
from chaintrail.i18n import _

router = APIRouter(tags=["graph"], responses=ERRORS)


@router.get("/graph/expand", response_model=Graph, summary="Expand one node of the fund-flow canvas")
async def expand(node: str = Query(..., min_length=3, max_length=140,
                             description="a:<address>, t:<txid> or e:<entity id>"),
           offset: int = Query(0, ge=0, le=1 << 40, description="Address: first tx of the page"),
           limit: int = Query(25, ge=1, le=200, description="Address: txs per page; tx: addresses per side"),
           wb=Depends(get_wb)):
    """Edges point the way money moved (address -> tx -> address), so a left-to-right layout reads as a flow.

    A large entity (``large_entity``) is returned as one summary node and never drawn member by member.
    """
    kind, _sep, ref = node.partition(":")
    g = GraphBuilder(wb)
    if kind == "a" and ref:
        return json_response(g.expand_address(present.resolve_address(wb, ref), offset, limit))
    if kind == "t" and ref:
        return json_response(g.expand_tx(present.resolve_tx(wb, ref), limit))
    if kind == "e" and ref.isdigit() and len(ref) < 16:
        return json_response(g.expand_entity(present.resolve_entity(wb, int(ref)), limit))
    raise UsageError(_("node must be a:<address>, t:<txid> or e:<entity id>"))

"""/txs: one transaction with its inputs and outputs (paged for very wide transactions)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from chaintrail.api import present
from chaintrail.api.deps import ERRORS, get_wb, json_response
from chaintrail.api.schemas import Transaction

router = APIRouter(tags=["transactions"], responses=ERRORS)


@router.get("/txs/{txid}", response_model=Transaction, summary="One transaction")
async def get_tx(txid: str = Path(..., pattern="^[0-9a-fA-F]{64}$", description="Transaction id, 64 hex digits"),
           offset: int = Query(0, ge=0, le=1 << 40, description="First input/output shown"),
           limit: int = Query(100, ge=1, le=1000, description="Inputs and outputs shown per side"),
           wb=Depends(get_wb)):
    """Block, fee, pattern (CoinJoin, consolidation, ...) and a page of its inputs and outputs with their entities."""
    return json_response(present.transaction(wb, present.resolve_tx(wb, txid), offset, limit))

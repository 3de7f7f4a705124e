"""/addresses: one address's summary, tags and transactions (paged)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from chaintrail.api import present
from chaintrail.api.deps import ERRORS, get_wb, json_response
from chaintrail.api.schemas import AddressSummary, AddressTxPage

router = APIRouter(tags=["addresses"], responses=ERRORS)
AddressParam = Path(..., min_length=1, max_length=128, description="A Bitcoin address (any case for bech32)")


@router.get("/addresses/{address}", response_model=AddressSummary, summary="One address")
async def get_address(address: str = AddressParam, currency: str = Query("USD", pattern="^[A-Za-z]{3}$", description="Reporting currency beside USD"),
                      wb=Depends(get_wb)):
    """Totals, first and last activity, its entity, and every tag that applies (own or entity's), with provenance."""
    return json_response(present.address_summary(wb, present.resolve_address(wb, address),
                                                                currency.upper()))


@router.get("/addresses/{address}/txs", response_model=AddressTxPage, summary="An address's transactions")
async def get_address_txs(address: str = AddressParam,
                    offset: int = Query(0, ge=0, le=1 << 40),
                    limit: int = Query(50, ge=1, le=1000),
                    newest_first: bool = Query(False, description="Newest first instead of chain order"),
                    wb=Depends(get_wb)):
    """Transactions that pay or spend from the address, one page at a time, with the amounts it received and sent."""
    return json_response(present.address_txs(wb, present.resolve_address(wb, address), offset, limit, newest_first))

"""/screen: is this address or transaction tied to sanctioned, criminal or high-risk services, and by how much?"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from chaintrail.analysis.screening import ScreenParams
from chaintrail.api.deps import ERRORS, get_runner, json_response
from chaintrail.api.schemas import ScreenResult

router = APIRouter(tags=["screen"], responses=ERRORS)
_MAX_SAT = 21_000_000 * 100_000_000


@router.get("/screen", response_model=ScreenResult, summary="Screen an address or a transaction")
async def get_screen(subject: str = Query(..., min_length=1, max_length=200, description="ADDRESS or TXID"),
                     hops: int = Query(3, ge=0, le=50, description="How far indirect exposure is followed"),
                     model: str = Query("haircut", pattern="^(haircut|poison|fifo|lifo|tiho)$"),
                     min_amount_sat: int = Query(0, ge=0, le=_MAX_SAT),
                     mixer_policy: str = Query("haircut", pattern="^(haircut|stop)$"),
                     currency: str = Query("USD", pattern="^[A-Za-z]{3}$",
                                           description="Reporting currency beside USD (a USD series in the store)"),
                     runner=Depends(get_runner)):
    """Its own tags, direct and indirect exposure per risk category (sats and shares, with the path), and a
    risk level with its reasons - the same answer as `chaintrail screen --json`."""
    params = ScreenParams(hops=hops, model=model, min_amount_sat=min_amount_sat, mixer_policy=mixer_policy)
    return json_response(await runner.run("screen", subject, params, currency.upper()))

"""/screen: is this address or entity tied to sanctioned, criminal or high-risk services, and by how much?"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from chaintrail.api.deps import ERRORS, get_wb
from chaintrail.api.schemas import ScreenResult
from chaintrail.api.screen import screen

router = APIRouter(tags=["screen"], responses=ERRORS)


@router.get("/screen", response_model=ScreenResult, summary="Screen an address or entity")
def get_screen(subject: str = Query(..., min_length=1, max_length=200, description="ADDRESS or cluster:<entity id>"),
               max_hops: int = Query(4, ge=0, le=50),
               wb=Depends(get_wb)) -> dict:
    """Its own tags, then the share of its incoming and outgoing funds that touch each risk category."""
    return screen(wb, subject, max_hops)

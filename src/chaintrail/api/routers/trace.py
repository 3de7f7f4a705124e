"""/trace: follow funds from an address, tx, output or entity; endpoints paged, as JSON or CSV."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from chaintrail.analysis.tracing import TraceParams
from chaintrail.api.deps import ERRORS, get_runner, json_response
from chaintrail.api.schemas import TraceResponse
from chaintrail.api.tracing import endpoints_csv

router = APIRouter(tags=["trace"], responses=ERRORS)
_MAX_SAT = 21_000_000 * 100_000_000
_TIME = 1 << 40


@router.get("/trace", response_model=TraceResponse, summary="Trace funds",
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or every endpoint as CSV with format=csv"}})
async def trace(request: Request,
                source: str = Query(..., min_length=1, max_length=200,
                                    description="ADDRESS, TXID, TXID:VOUT or cluster:<entity id>"),
                direction: str = Query("forward", pattern="^(forward|backward)$"),
                model: str = Query("haircut", pattern="^(haircut|poison|fifo|lifo|tiho)$"),
                max_hops: int = Query(10, ge=0, le=200),
                min_amount_sat: int = Query(0, ge=0, le=_MAX_SAT),
                stop: list[str] = Query(["exchange"], max_length=20,
                                        description="Tag categories that end a branch (exchange, mixer, ...)"),
                mixer_policy: str | None = Query(None, pattern="^(haircut|stop|demix)$",
                                                 description="default: demix forward, haircut backward"),
                demix_leads: bool = Query(True, description="demix: also claim exits swept like the actor's "
                                          "(evidence pattern:sweep)"),
                time_from: int | None = Query(None, ge=0, le=_TIME),
                time_to: int | None = Query(None, ge=0, le=_TIME),
                offset: int = Query(0, ge=0, le=1 << 40, description="First endpoint of the page"),
                limit: int = Query(200, ge=1, le=5000, description="Endpoints per page"),
                graph: bool = Query(True, description="Include the canvas fragment (best paths to the largest endpoints)"),
                steps: bool = Query(False, description="Include every tx read, with its block hash"),
                format: str = Query("json", pattern="^(json|csv)$"),
                currency: str = Query("USD", pattern="^[A-Za-z]{3}$",
                                      description="Reporting currency beside USD: one with a USD series in the store "
                                                  "(EUR from the ECB fixing)"),
                runner=Depends(get_runner)):
    """Exact integer accounting: traced = endpoints + fees + unspent + below threshold + stopped.

    ``trace_hash`` is the hash of the full result, the same as ``chaintrail trace --json`` gives.
    """
    stops = tuple(s[:64] for s in stop if s.strip())
    params = TraceParams(direction=direction, model=model, max_hops=max_hops, min_amount_sat=min_amount_sat,
                         stop_categories=stops, mixer_policy=mixer_policy,
                         time_from=time_from, time_to=time_to, demix_leads=demix_leads)
    if format == "csv":
        out = await runner.run("trace_full", source, params, currency.upper())
        name = f"trace-{out['trace_hash'][:12]}.csv"
        return StreamingResponse(endpoints_csv(out), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return json_response(await runner.run("trace_body", source, params, offset, limit, graph, steps,
                                                currency.upper()))

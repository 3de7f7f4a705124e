"""/account: forensic-accounting schedules of an entity or address (as ``chaintrail account``)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query, Response

from chaintrail.api.deps import ERRORS, get_wb, json_response
from chaintrail.i18n import _

router = APIRouter(tags=["account"], responses=ERRORS)
_DAY = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@router.get("/account", summary="Sources and uses of funds, balance, months and lot gains",
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or the movements as CSV with "
                                                                        "format=csv"}})
async def account(subject: str = Query(..., min_length=1, max_length=200,
                                       description="cluster:N or an address; chain=eth: 0xACCOUNT or cluster:N "
                                                   "(analysis/eth_clusters)"),
                  chain: str = Query("btc", pattern="^(btc|eth)$", description="eth: per asset, FIFO lots"),
                  date_from: str | None = Query(None, pattern=_DAY, description="First UTC day"),
                  date_to: str | None = Query(None, pattern=_DAY, description="Last UTC day"),
                  lots: str = Query("fifo", pattern="^(fifo|specific)$"),
                  currency: str = Query("USD", pattern="^[A-Za-z]{3}$",
                                        description="USD, or a currency with a USD series in the store"),
                  format: str = Query("json", pattern="^(json|csv)$",
                                      description="csv: every movement with its fiat value (as --csv)"),
                  wb=Depends(get_wb)):
    """Fiat at the UTC close of each transaction's day, in whole cents (``*_cents``); the result names every
    price series used (``prices``) and any day without a price (``missing_prices``)."""
    from chaintrail.analysis.accounting import AccountParams
    from chaintrail.analysis.accounting import account as run

    if chain == "eth":
        from chaintrail.analysis.eth.accounting import eth_account
        from chaintrail.errors import UsageError

        if lots != "fifo":
            raise UsageError(_("chain=eth keeps FIFO lots per asset (an account has no outputs to identify)"))
        result = await asyncio.to_thread(eth_account, wb.store, subject, date_from=date_from, date_to=date_to,
                                         currency=currency.upper())
        if format == "csv":
            from chaintrail.analysis.eth.accounting import eth_rows
            return _csv(eth_rows(result), result)
        result.pop("block_hashes", None)
        return json_response(result)
    params = AccountParams(date_from, date_to, lots, currency.upper())
    result = await asyncio.to_thread(run, wb.store, subject, params)
    if format == "csv":
        from chaintrail.analysis.accounting import to_rows
        return _csv(to_rows(result), result)
    result.pop("block_hashes", None)
    return json_response(result)


def _csv(rows: list[dict], result: dict) -> Response:
    from chaintrail.api.eth_csv import rows_csv

    name = "account-" + "".join(c if c.isalnum() else "-" for c in result["subject"]["id"])[:60] + ".csv"
    return Response(rows_csv(rows), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

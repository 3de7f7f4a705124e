"""/eth: the workbench routes for a store's Ethereum data - accounts, transactions, trace, screen, Tornado leads,
entity links. The same answers as `chaintrail ... --chain eth --json`; a store without Ethereum data answers 404."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Path, Query

from chaintrail.api.deps import ERRORS, get_runner, get_wb, json_response
from chaintrail.api.eth_schemas import EthAccount, EthExplain, EthFlowPage, EthScreenResult, EthTraceResponse, \
    EthTransaction, TornadoLeads
from chaintrail.api.tagview import tag_dict

router = APIRouter(prefix="/eth", tags=["ethereum"], responses=ERRORS)
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
TX_HASH = r"^0x[0-9a-fA-F]{64}$"
AddressParam = Path(..., pattern=ADDRESS, description="An Ethereum address, 0x and 40 hex digits")
_U64 = (1 << 64) - 1


@router.get("/addresses/{address}", response_model=EthAccount, summary="One Ethereum account")
def get_account(address: str = AddressParam, wb=Depends(get_wb)):
    """Balances per asset (net change over the store's blocks, from eth_balance_changes), its entity, tags with
    provenance, whether it is a contract (and a token, with symbol and decimals), and whether its forwarding
    pattern makes it an exchange deposit address."""
    wb.eth.addr_num(address)
    tags = [tag_dict(t) for t in wb.tags.tagstore.lookup(address.lower())]
    return json_response(wb.eth.account(address, tags))


@router.get("/addresses/{address}/flows", response_model=EthFlowPage, summary="An account's value flows")
def get_account_flows(address: str = AddressParam, offset: int = Query(0, ge=0, le=1 << 40),
                            limit: int = Query(50, ge=1, le=1000), wb=Depends(get_wb)):
    """ETH (with internal calls), token transfers, wraps and gas it sent or received, in chain order, a page at a
    time, each with its transaction, asset, token symbol and exact amount."""
    return json_response(wb.eth.flows(address, offset, limit))


@router.get("/txs/{tx_hash}", response_model=EthTransaction, summary="One Ethereum transaction")
def get_tx(tx_hash: str = Path(..., pattern=TX_HASH, description="0x and 64 hex digits"), wb=Depends(get_wb)):
    """Its fields and block hash, every value flow (ETH, internal calls, tokens, gas), the token transfers, and
    the conversions (swaps netted per transaction, wraps) with their executed rate and evidence."""
    return json_response(wb.eth.transaction(tx_hash))


@router.get("/trace", response_model=EthTraceResponse, summary="Trace funds on Ethereum",
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or every endpoint with its fiat as CSV "
                                                                        "with format=csv"}})
async def trace(source: str = Query(..., min_length=3, max_length=140,
                                    description="0xADDRESS, TXHASH, TXHASH:0xRECIPIENT or cluster:N"),
                asset: str = Query("all", pattern=r"^(all|ETH|eth|0x[0-9a-fA-F]{40})$",
                                   description="ETH | 0xTOKEN | all: which of the source's assets are traced"),
                direction: str = Query("forward", pattern="^forward$", description="forward (backward: not yet)"),
                model: str = Query("haircut", pattern="^(haircut|poison|fifo|lifo|tiho)$"),
                max_hops: int = Query(10, ge=0, le=1000),
                min_amount: int = Query(0, ge=0, le=_U64, description="Taint below this (base units) stops"),
                stop: list[str] = Query(["exchange"], max_length=20,
                                        description="Tag categories that end a branch (exchange, mixer, ...)"),
                mixer_policy: str = Query("leads", pattern="^(leads|demix|haircut|stop)$"),
                until_exchange: bool = Query(False, description="Expand until every branch reaches a service or "
                                             "the threshold, and list the records requests per service and asset"),
                offset: int = Query(0, ge=0, le=1 << 40, description="First endpoint of the page"),
                limit: int = Query(200, ge=1, le=5000, description="Endpoints per page"),
                steps: bool = Query(False, description="Include every tx that carried taint, with its block hash"),
                graph: bool = Query(False, description="Include the fund-flow graph: accounts, flows per asset, "
                                    "conversion nodes, Tornado leads, bridge hops"),
                currency: str = Query("USD", pattern="^[A-Za-z]{3}$",
                                      description="Reporting currency beside USD for endpoint values: one with a USD "
                                                  "series in the store (EUR from the ECB fixing)"),
                format: str = Query("json", pattern="^(json|csv)$"),
                runner=Depends(get_runner)):
    """Per asset, across swaps and wraps (conversions at the executed rate), with exact accounting in base units:
    traced = to_endpoints + fees + unspent + below_threshold + stopped + converted. ``trace_hash`` is the hash of
    the full result, the same as `chaintrail trace --chain eth --json` gives for the same parameters. Each endpoint's
    ``fiat`` is in its asset's own series at the UTC close of the day of the last tx that paid it, in USD and the
    reporting ``currency``."""
    from chaintrail.analysis.eth.trace import EthTraceParams
    from chaintrail.analysis.tracing import SERVICE_STOPS

    stops = tuple(s[:64] for s in stop if s.strip())
    if until_exchange:       # as the CLI's --until-exchange
        max_hops = max(max_hops, 1000)
        stops = tuple(sorted(set(stops) | set(SERVICE_STOPS)))
    params = EthTraceParams(direction=direction, model=model, asset=asset, max_hops=max_hops, min_amount=min_amount,
                            stop_categories=stops, mixer_policy=mixer_policy)
    if format == "csv":
        from fastapi.responses import StreamingResponse

        from chaintrail.api.eth_csv import eth_endpoints_csv

        out = await runner.run("eth_trace_full", source.strip(), params, until_exchange, currency.upper())
        name = f"eth-trace-{out['trace_hash'][:12]}.csv"
        return StreamingResponse(eth_endpoints_csv(out), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return json_response(await runner.run("eth_trace_body", source.strip(), params, until_exchange, offset, limit,
                                          steps, graph, currency.upper()))


@router.get("/screen", response_model=EthScreenResult, summary="Screen an Ethereum account")
async def screen(subject: str = Query(..., pattern=ADDRESS, description="0xADDRESS"),
                 hops: int = Query(3, ge=0, le=50, description="How far indirect exposure is followed"),
                 as_of: dt.date | None = Query(None, description="Date the sanctions are judged at [default: today]"),
                 currency: str = Query("USD", pattern="^[A-Za-z]{3}$",
                                       description="Reporting currency beside USD for each exposure's value"),
                 runner=Depends(get_runner)):
    """Direct and indirect exposure per asset with a risk level explained, each with its value in USD (and
    ``currency``) on the days its parts moved, which sanctions list and date were used (a delisting counts: Tornado
    Cash from 2025-03-21), and tokens whose issuer can freeze them."""
    return json_response(await runner.run("eth_screen", subject, hops, as_of, currency.upper()))


@router.get("/tornado/leads", response_model=TornadoLeads, summary="Tornado Cash linking leads")
def tornado_leads(deposit: str | None = Query(None, pattern=TX_HASH, description="A deposit transaction"),
                        address: str | None = Query(None, pattern=ADDRESS,
                                                    description="Leads where it deposited or received"),
                        wb=Depends(get_wb)):
    """The pools and each heuristic's leads (address match, unique gas price, linked addresses, multi-denomination,
    relayer, FIFO timing) with evidence, the heuristic's measured precision and its chance-match rate. A lead is
    not proof that a withdrawal is the depositor's."""
    return json_response(wb.eth.leads(deposit, address))


@router.get("/entities/explain", response_model=EthExplain, summary="Why two accounts are one entity")
def explain(a: str = Query(..., pattern=ADDRESS), b: str = Query(..., pattern=ADDRESS), wb=Depends(get_wb)):
    """The shortest chain of heuristic links (deposit reuse, gas funding, approvals, deployer) joining them, each
    with its transaction and block."""
    return json_response(wb.eth.explain(a, b))

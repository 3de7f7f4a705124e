"""`chaintrail trace`: follow funds forward or backward with a taint model."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer
from rich.table import Table

from chaintrail.i18n import _, fmt_number, ngettext

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.cli._progress import shows_progress


@one_line_errors
def trace(
    source: list[str] = typer.Option(..., "--from", help="TXID:VOUT, TXID, ADDRESS or cluster:N (repeat for several); "
                                     "eth: 0xADDRESS, TXHASH, TXHASH:0xRECIPIENT or cluster:N"),
    chain: str = typer.Option("btc", "--chain", help="btc | eth (per asset, across swaps and wraps)"),
    asset: str = typer.Option("all", "--asset", help="eth: ETH | 0xTOKEN | all (which of the source's assets)"),
    direction: str = typer.Option("forward", "--direction", help="forward | backward"),
    model: str = typer.Option("haircut", "--model", help="haircut | poison | fifo | lifo | tiho"),
    max_hops: int = typer.Option(10, "--max-hops", help="Stop a branch after this many transactions"),
    min_amount: int = typer.Option(0, "--min-amount", help="Stop a branch when its taint falls below this (sats)"),
    stop_category: list[str] = typer.Option(["exchange"], "--stop-category", help="Tag categories that end a branch"),
    mixer_policy: str = typer.Option(None, "--mixer-policy", "--mixer", help="haircut: pass CoinJoins/mixers "
                                     "proportionally; stop: stop and flag; demix: follow the owner's coins out of the "
                                     "mix by on-chain evidence [default: demix forward, haircut backward]; eth: leads "
                                     "(default: the pool under the model, withdrawals followed where a Tornado lead "
                                     "pairs them with a tainted deposit), demix, haircut, stop"),
    link: list[str] = typer.Option([], "--link", help="eth: a Tornado link you hold as established, "
                                   "DEPOSIT_TX:WITHDRAWAL_TX (repeat); it pairs before any lead"),
    tornado_heuristics: str = typer.Option("all", "--tornado-heuristics", help="eth: the Tornado leads that may "
                                           "pair notes: all, none, or a comma list (address_match, ..., fifo_timing)"),
    time_from: int = typer.Option(None, "--time-from", help="Unix time: ignore txs before this"),
    time_to: int = typer.Option(None, "--time-to", help="Unix time: ignore txs after this"),
    demix_leads: bool = typer.Option(True, "--demix-leads/--no-demix-leads", help="demix: also claim exits swept "
                                     "whole into an exchange in the blocks where the actor swept its proven ones "
                                     "(evidence pattern:sweep, a lead for the exchange's records to confirm)"),
    until_exchange: bool = typer.Option(False, "--until-exchange", help="Expand until every branch reaches a tagged service or the threshold; report per exchange"),
    parquet: Path = typer.Option(None, "--parquet", help="Also write the endpoint table as Parquet, and the "
                                 "steps beside it (NAME.steps.parquet)"),
    other_store: Path = typer.Option(None, "--other-store", help="eth: the store of the chain a bridge leads to; "
                                     "crossings are matched by the bridge's events and the trace goes on there"),
    currency: str = typer.Option("USD", "--currency", help="Reporting currency beside USD for endpoint values: "
                                 "one with a USD series in the store (EUR: the ECB fixing of the day or the last "
                                 "working day before, said so)"),
    csv_out: Path = typer.Option(None, "--csv", help="eth: also write every endpoint with its fiat as CSV (across a "
                                 "bridge the far chain's too; column chain_id says which)"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Trace funds and account for every satoshi."""
    from chaintrail.analysis.tracing import SERVICE_STOPS, TraceEngine, TraceParams
    from chaintrail.errors import UsageError
    from chaintrail.store.chainstore import ChainStore

    if until_exchange:
        max_hops = max(max_hops, 1000)
        stop_category = sorted(set(stop_category) | set(SERVICE_STOPS))
    if chain == "eth":
        _trace_eth(source, direction, model, asset, max_hops, min_amount, stop_category, mixer_policy, until_exchange,
                   store, json_out, tuple(link), tornado_heuristics, other_store, currency, csv_out)
        return
    if chain != "btc":
        raise UsageError(_("--chain must be btc or eth, not {chain}").format(chain=repr(chain)))
    params = TraceParams(direction=direction, model=model, max_hops=max_hops, min_amount_sat=min_amount,
                         stop_categories=tuple(stop_category), mixer_policy=mixer_policy,
                         time_from=time_from, time_to=time_to, demix_leads=demix_leads)
    live = console.status(_("tracing…"), spinner="dots") if shows_progress(json_out) else nullcontext()
    with live, ChainStore(store_path(store)) as st:
        engine = TraceEngine.open(st, prefault=False)   # one trace: fault in only the pages it uses
        if until_exchange and not engine.can_stop_at(params.stop_categories):
            # Nothing to stop at: the trace would follow every branch through the whole chain.
            raise UsageError(_("--until-exchange stops at tagged services, and no address in this store is tagged "
                               "{categories}: import attribution first (chaintrail tags import FILE ...), or trace "
                               "without it, bounded by --max-hops").format(
                                   categories=" / ".join(params.stop_categories)))
        result = engine.trace(source, params)
        out = result.to_dict()
        if parquet:
            result.write_parquet(parquet, out)
        _value(st, engine, out, currency)
    if until_exchange:
        out["requests"] = _legal_requests(out)
    if json_out:
        emit_json(out)
        return
    _print(out)


def _value(st, engine, out: dict, currency: str) -> None:
    """Fiat on the endpoints and steps, from the store's prices: the same function as the API's trace."""
    import numpy as np

    from chaintrail.store.prices import PriceBook, value_trace

    def time_of(txids: list[str]) -> np.ndarray:
        return np.array([engine.tx_time[engine.txid_to_num(t)] for t in txids], np.int64)

    eps, steps, fiat = value_trace(PriceBook.open(st.path), out["endpoints"], out["steps"], time_of, currency)
    out.update(endpoints=eps, steps=steps, fiat=fiat)


def _trace_eth(source, direction, model, asset, max_hops, min_amount, stop_category, mixer_policy, until_exchange,
               store, json_out, links=(), tornado_heuristics="all", other_store=None, currency="USD",
               csv_out=None) -> None:
    from chaintrail.analysis.eth.trace import LEAD_HEURISTICS, EthTraceParams, EthTracer
    from chaintrail.analysis.eth.trace_result import records_requests
    from chaintrail.store.chainstore import ChainStore

    h = tornado_heuristics.strip().lower()
    heur = LEAD_HEURISTICS if h == "all" else () if h == "none" else tuple(x.strip() for x in h.split(",") if x.strip())
    params = EthTraceParams(direction=direction, model=model, asset=asset, max_hops=max_hops, min_amount=min_amount,
                            stop_categories=tuple(stop_category), mixer_policy=mixer_policy or "leads",
                            lead_heuristics=heur, links=links)
    params.check()
    if other_store is not None and direction == "backward":
        from chaintrail.errors import UsageError
        raise UsageError(_("--other-store follows bridges forward only"))
    with ChainStore(store_path(store)) as st:
        if other_store is None:
            out = EthTracer(st).trace(source, params)
        else:
            from chaintrail.analysis.eth.bridge_trace import trace_across
            from chaintrail.analysis.eth.accounting import eth_far_fiat

            with ChainStore(other_store) as other:
                far = EthTracer(other)
                out = trace_across(EthTracer(st), far, source, params)
                eth_far_fiat(st, other, out, far.bridge.wrapped_origin, currency)
        from chaintrail.analysis.eth.accounting import eth_trace_fiat

        eth_trace_fiat(st, out, currency)       # the API's function: each endpoint in its asset's series
        if out.get("chain_id") is None:
            from chaintrail.analysis.eth.priced_tokens import chain_id_of
            chain_id = chain_id_of(st)
        else:
            chain_id = out["chain_id"]
    if until_exchange:
        out["requests"] = records_requests(out)
        if "other_chain" in out:
            out["other_chain"]["requests"] = records_requests(out["other_chain"])
    if csv_out is not None:
        _write_csv(csv_out, {**out, "chain_id": chain_id})
    if json_out:
        emit_json(out)
        return
    console.print(_("[bold]{direction} {model} trace[/bold] (eth) from {source}").format(
        direction=direction, model=model, source=out["source"]), highlight=False)
    cur = (out.get("fiat") or {}).get("currency")
    view = Table(_("kind"), _("address"), _("asset"), _("amount (base units)"), _("hops"), _("service"),
                 *([_("value {currency} (day)").format(currency=cur)] if cur else []))
    for e in out["endpoints"][:50]:
        f = e.get("fiat") or {}
        val = [(_money(f.get(cur.lower()), {"days": [f["day"]]}) if "day" in f else f.get("missing", ""))] if cur else []
        view.add_row(e["kind"], e["address"] or "-", e["asset"], e["amount"], str(e["hops"]), e.get("service") or "", *val)
    console.print(view)
    for a, t in out["totals"].items():
        console.print(_("{asset}: traced {traced} = endpoints {endpoints} + fees {fees} + unspent {unspent} + below "
                        "threshold {below} + stopped {stopped} + converted {converted}").format(
            asset=a, traced=t["traced"], endpoints=t["to_endpoints"], fees=t["fees"], unspent=t["unspent"],
            below=t["below_threshold"], stopped=t["stopped"], converted=t["converted"]), highlight=False)
    for r in out.get("requests", []) + out.get("other_chain", {}).get("requests", []):
        n = len(r["deposits"])
        console.print(ngettext("[bold]{service}[/bold]: {amounts} over {n} deposit",
                               "[bold]{service}[/bold]: {amounts} over {n} deposits", n).format(
            service=r["service"], amounts=", ".join(f"{v} {k}" for k, v in r["assets"].items()), n=fmt_number(n)),
            highlight=False)
    for b in out.get("bridges", []):
        far = (_("-> chain {chain} {tx}").format(chain=b["to"]["chain_id"], tx=b["to"]["tx_hash"])
               if b.get("followed") else _("(not followed)"))
        console.print(_("bridge {event} nonce {nonce}: {tainted} of {amount} {asset} {far}").format(
            event=b["event"], nonce=b["nonce"], tainted=b["tainted"], amount=b["amount"], asset=b["asset"], far=far),
            highlight=False)
    console.print(_("trace hash {hash}").format(hash=out["trace_hash"]), highlight=False)


def _write_csv(path: Path, out: dict) -> None:
    """The API's endpoints CSV (/eth/trace?format=csv) for this trace, to ``path``."""
    from chaintrail.api.eth_csv import eth_endpoints_csv
    from chaintrail.errors import UsageError

    try:
        with path.open("w", encoding="utf-8", newline="") as f:
            for chunk in eth_endpoints_csv(out):
                f.write(chunk)
    except OSError as exc:
        raise UsageError(_("cannot write {path}: {error}").format(path=path, error=exc.strerror or exc)) from None


def _legal_requests(out: dict) -> list[dict]:
    """Per tagged service: the deposit addresses and amounts to ask records for. A deposit paid by the
    sweep of a CoinJoin exit claimed only as a lead (demix evidence pattern:sweep) says so: its records
    are what confirms or refutes that the actor made it."""
    lead_txs = {sweep["swept_in"] for d in out.get("demix", []) for sweep in d.get("leads", [])}
    by_service: dict[str, dict] = {}
    for e in out["endpoints"]:
        if e["kind"] != "tagged":
            continue
        name = next((t for t in e["tags"]), f"cluster:{e['cluster']}")
        svc = by_service.setdefault(name, {"service": name, "cluster": e["cluster"], "amount_sat": 0, "deposits": []})
        svc["amount_sat"] += e["amount_sat"]
        dep = {"address": e["address"], "amount_sat": e["amount_sat"], "outputs": e["outputs"]}
        leads = [o for o in e["outputs"] if o.split(":")[0] in lead_txs]
        if leads:
            dep["lead_outputs"] = leads       # paid by a sweep claimed as a lead: the records decide
        svc["deposits"].append(dep)
    return sorted(by_service.values(), key=lambda s: -s["amount_sat"])


def _print(out: dict) -> None:
    t = out["totals"]
    console.print(_("[bold]{direction} {model} trace[/bold] from {source}").format(
        direction=out["params"]["direction"], model=out["model"], source=out["source"]), highlight=False)
    cur = (out.get("fiat") or {}).get("currency")
    curs = [c for c in dict.fromkeys(("USD", cur)) if cur]
    cols = [_("value {currency} (day)").format(currency=c) for c in curs]
    view = Table(_("kind"), _("address"), _("cluster"), _("tags"), _("amount (sat)"), _("hops"), *cols)
    for e in out["endpoints"][:50]:
        f = e.get("fiat") or {}
        vals = [_money(f.get(c.lower()), f) for c in curs]
        view.add_row(e["kind"], e["address"] or "-", str(e["cluster"]), ", ".join(e["tags"]),
                     fmt_number(e["amount_sat"]), str(e["hops"]), *vals)
    console.print(view)
    if cur:
        fiat = out["fiat"]
        console.print(_("values: {convention}; {series}").format(convention=fiat["convention"], series="; ".join(
            f"{p['asset']}/{p['currency']} ({p['source']}, {p['file']})" for p in fiat["prices"])), highlight=False)
    absorbed = (_(" (absorbed {absorbed})").format(absorbed=fmt_number(t["absorbed_sat"]))
                if t["absorbed_sat"] else "")
    console.print(_("traced {traced} sat = endpoints {endpoints} + unspent {unspent} + fees {fees} + below threshold "
                    "{below} + stopped {stopped}").format(
        traced=fmt_number(t["traced_sat"]), endpoints=fmt_number(t["to_endpoints_sat"]),
        unspent=fmt_number(t["unspent_sat"]), fees=fmt_number(t["fees_sat"]),
        below=fmt_number(t["below_threshold_sat"]), stopped=fmt_number(t["stopped_sat"])) + absorbed,
        highlight=False)
    console.print(_("trace hash {hash}").format(hash=out["trace_hash"]), highlight=False)
    if out.get("tx_labels"):
        n = out["tx_labels"]["classified_at_trace_time"]
        console.print(ngettext(
            "[yellow]{n} tx had no stored labels and was classified for CoinJoins now; `chaintrail cluster` stores "
            "them and adds the chip-mixer labels that need entities[/yellow]",
            "[yellow]{n} txs had no stored labels and were classified for CoinJoins now; `chaintrail cluster` stores "
            "them and adds the chip-mixer labels that need entities[/yellow]", n).format(n=fmt_number(n)))
    for r in out.get("requests", []):
        leads = sum(1 for d in r["deposits"] if d.get("lead_outputs"))
        n = len(r["deposits"])
        line = ngettext("[bold]{service}[/bold]: {amount} sat over {n} deposit address",
                        "[bold]{service}[/bold]: {amount} sat over {n} deposit addresses", n).format(
            service=r["service"], amount=fmt_number(r["amount_sat"]), n=fmt_number(n))
        if leads:
            line += ngettext(", {n} reached through a sweep-pattern lead",
                             ", {n} reached through a sweep-pattern lead", leads).format(n=fmt_number(leads))
        console.print(line, highlight=False)


def _money(x: float | None, f: dict) -> str:
    """A fiat value with its day(s); 'no price' where a day has none (never filled in)."""
    if x is None:
        return _("no price")
    from chaintrail.i18n import fmt_decimal

    days = f.get("days", [])
    return f"{fmt_decimal(x, 2)} ({', '.join(days[:3])}{'...' if len(days) > 3 else ''})"

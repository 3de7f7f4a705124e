"""Traces for the API: checked starting points, endpoints named and coloured, pages and CSV."""

from __future__ import annotations

import csv
import io

from chaintrail.analysis.tracing import TraceParams
from chaintrail.api import present
from chaintrail.api.errors import NotFoundError
from chaintrail.csv_export import safe_row
from chaintrail.errors import UsageError
from chaintrail.i18n import _

CSV_COLUMNS = ("kind", "address", "entity", "label", "tags", "amount_sat", "amount_btc", "value_usd", "value_days",
               "hops", "path", "outputs")


def check_source(wb, spec: str) -> str:
    """The trace's starting point, refused with 400/404 before the engine sees it."""
    s = spec.strip()
    v = wb.view
    if not s:
        raise UsageError(_("a trace needs a source: an address, a txid, txid:vout or cluster:<id>"))
    if s.startswith("cluster:"):
        ref = s.split(":", 1)[1]
        if not ref.isdigit() or len(ref) > 15:
            raise UsageError(_("not an entity id: {ref!r}").format(ref=ref))
        present.resolve_entity(wb, int(ref))
        return s
    if ":" in s:
        txid, _sep, vout = s.partition(":")
        if len(txid) != 64 or not vout.isdigit() or len(vout) > 9:
            raise UsageError(_("not an outpoint (txid:vout): {spec!r}").format(spec=s))
        t = present.resolve_tx(wb, txid)
        if int(vout) >= int(v.tx_first_out[t + 1] - v.tx_first_out[t]):
            raise NotFoundError(_("transaction {txid} has no output {vout}").format(txid=txid, vout=int(vout)))
        return f"{txid.lower()}:{int(vout)}"
    if len(s) == 64 and all(c in "0123456789abcdefABCDEF" for c in s):
        present.resolve_tx(wb, s)
        return s.lower()
    present.resolve_address(wb, s)
    return s


def run_trace(wb, spec: str, params: TraceParams) -> dict:
    """The engine's full result (as ``chaintrail trace --json``); endpoints not yet annotated."""
    return wb.trace_dict(check_source(wb, spec), params)


def price_book(wb):
    """The store's price series (``store.prices``), read once per workbench. A workbench without a store (a
    view alone) gets an empty book, as a store without prices does: figures carry no fiat, and asking for a
    reporting currency is refused as "no ... price series"."""
    from chaintrail.store.prices import PriceBook

    book = getattr(wb, "_price_book", None)
    if book is None:
        store = getattr(wb, "store", None)
        book = PriceBook.open(store.path) if store is not None else PriceBook({})
        wb._price_book = book
    return book


def tx_times(wb, txids: list[str]) -> list[int]:
    v = wb.view
    return [v.tx_time(v.tx_num(t)) for t in txids]


def valued(wb, endpoints: list[dict], steps: list[dict] | None = None, currency: str = "USD"):
    """(endpoints with fiat, steps with day and close, fiat header): ``store.prices.value_trace``, as the CLI."""
    from chaintrail.store.prices import value_trace

    return value_trace(price_book(wb), endpoints, steps, lambda txids: tx_times(wb, txids), currency)


def annotated(wb, endpoints: list[dict], currency: str = "USD", steps: list[dict] | None = None):
    """(copies of ``endpoints`` with each one's risk, label and fiat value, steps with prices, fiat header); the
    kept result stays as the engine gave it."""
    endpoints, steps, header = valued(wb, endpoints, steps, currency)
    v, tags = wb.view, wb.tags
    out = []
    for e in endpoints:
        a = v.addr_num(e["address"]) if e["address"] else None
        risk, label = (tags.risk(a), tags.label(a)) if a is not None else ([], None)
        if not risk and any(t.startswith("inferred:") for t in e["tags"]):
            # A deposit address found by its sweep into a tagged wallet: that wallet's service names it.
            kind, _, name = e["tags"][0].partition(":")
            risk, label = ([kind] if kind != "inferred" else []), (name if kind != "inferred" else None)
        out.append({**e, "risk": risk, "label": label})
    return out, steps, header


def endpoints_csv(trace: dict):
    """CSV lines of every (annotated) endpoint, a chunk at a time; no cell can start a formula. A reporting
    currency other than USD adds its value column and the rate's note (a fixing of an earlier day)."""
    cur = ((trace.get("fiat") or {}).get("currency") or "USD").lower()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS + ((f"value_{cur}", "fx_note") if cur != "usd" else ()))
    for n, e in enumerate(trace["endpoints"], 1):
        fiat = e.get("fiat") or {}
        extra = (_money(fiat.get(cur)), " ".join(fiat.get("fx_notes", []))) if cur != "usd" else ()
        w.writerow(safe_row([e["kind"], e["address"] or "", "" if e["cluster"] is None else e["cluster"],
                             e.get("label") or "", ";".join(e["tags"]), e["amount_sat"],
                             f"{e['amount_sat'] / 1e8:.8f}", _money(fiat.get("usd")), " ".join(fiat.get("days", [])),
                             e["hops"], " ".join(e["path"]), " ".join(e["outputs"]), *extra]))
        if n % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _money(x) -> str:
    return "" if x is None else f"{x:.2f}"

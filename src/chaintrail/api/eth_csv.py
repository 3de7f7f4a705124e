"""CSV exports of Ethereum results: a trace's endpoints and an account's schedule, each with its fiat values.

Amounts are exact base units (and the asset's units as a decimal string); fiat is the value at the UTC close of
the day named beside it, in USD and the reporting currency. Every cell goes through ``csv_export.safe_row`` so
no label can start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from chaintrail.csv_export import safe_row

TRACE_COLUMNS = ("kind", "address", "asset", "amount_base", "hops", "service", "cluster", "last_tx", "day",
                 "price_series", "price_usd", "value_usd")


def _endpoints(out: dict) -> Iterator[tuple[object, dict]]:
    """(chain id, endpoint): the traced chain's, then those on the chain a bridge led to (``other_chain``)."""
    home = out.get("chain_id")
    for e in out["endpoints"]:
        yield home, e
    other = out.get("other_chain") or {}
    for e in other.get("endpoints", []):
        yield other.get("chain_id"), e


def eth_endpoints_csv(out: dict) -> Iterator[str]:
    """Every endpoint of an Ethereum trace (``api.eth`` result with ``fiat``), a chunk at a time; a trace across a
    bridge adds the far chain's endpoints, each row naming its chain in ``chain_id`` (the last column)."""
    cur = ((out.get("fiat") or {}).get("currency") or "USD").lower()
    extra = (f"value_{cur}", "fx_note") if cur != "usd" else ()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TRACE_COLUMNS + extra + ("missing", "chain_id"))
    for n, (chain_id, e) in enumerate(_endpoints(out), 1):
        f = e.get("fiat") or {}
        w.writerow(safe_row([e.get("kind", ""), e.get("address") or "", e["asset"], e["amount"], e.get("hops", ""),
                             e.get("service") or "", "" if e.get("cluster") is None else e["cluster"],
                             (e.get("txs") or [""])[-1], f.get("day", ""), f.get("series", ""),
                             _num(f.get("price_usd")), _money(f.get("usd")),
                             *((_money(f.get(cur)), f.get("fx_note", "")) if extra else ()),
                             f.get("missing", ""), "" if chain_id is None else chain_id]))
        if n % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def rows_csv(rows: list[dict]) -> str:
    """Flat rows (``analysis.eth.accounting.eth_rows``, ``analysis.accounting.to_rows``) as one CSV text."""
    buf = io.StringIO()
    if rows:
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(list(rows[0]))
        for r in rows:
            w.writerow(safe_row(r.values()))
    return buf.getvalue()


def _money(x) -> str:
    return "" if x is None else f"{x:.2f}"


def _num(x) -> str:
    return "" if x is None else repr(float(x))

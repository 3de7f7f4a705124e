"""Forensic accounting of an entity or an address: sources and uses of funds, balance, months, lot gains.

Every transaction touching the subject is one net movement: it receives ``out_to_subject - in_from_subject``
sats. A transaction the subject alone funds pays its outputs to others (one use per counterparty) and the
fee (a use: network fees); its outputs back to the subject are change, not receipts. A transaction funded
partly by others (a CoinJoin, a payjoin) is a receipt or a use of its net only, the fee in proportion to the
subject's inputs. So, in sats and exactly:

    opening balance + sources - uses = closing balance = the subject's unspent outputs at the end.

Fiat values use ``store.prices`` (the UTC close of the block's day, whole cents per movement). Lots
(``analysis.lots``) give each use its cost, so in cents and exactly:

    opening cost + sources - uses + realised gain = closing cost (the cost of the lots still held).

Counterparties are named by their tags (category and service) or, untagged, by their entity (cluster).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np

from chaintrail.analysis.lots import fifo_costs, split_cost
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.prices import CONVENTION, DAY_S, PriceBook, iso_day
from chaintrail.store.sql import query

LOT_METHODS = ("fifo", "specific")
FEES = ("network fee", "network fees")
JOINT = ("joint transaction", "joint transactions (CoinJoin or payjoin)")
MINED = ("mining", "coinbase")


@dataclass(frozen=True)
class AccountParams:
    """What an accounting schedule covers."""

    date_from: str | None = None        # first UTC day (inclusive), YYYY-MM-DD; None: the subject's first tx
    date_to: str | None = None          # last UTC day (inclusive); None: the store's tip
    lots: str = "fifo"                  # fifo | specific
    currency: str = "USD"


def _day(s: str | None, what: str) -> int | None:
    if s is None or s == "":
        return None
    try:
        return (dt.date.fromisoformat(s) - dt.date(1970, 1, 1)).days
    except ValueError:
        raise UsageError(f"{what} must be a date YYYY-MM-DD, not {s!r}") from None


def resolve_subject(store: ChainStore, subject: str) -> tuple[dict, list[int]]:
    """(description, addr_nums) of ``cluster:N``, ``entity:N`` or an address."""
    s = subject.strip()
    for prefix in ("cluster:", "entity:"):
        if s.startswith(prefix):
            s = s[len(prefix):]
            if not s.isdigit():
                raise UsageError(f"an entity is cluster:N with N a number, not {subject!r}")
            rows = query(store, "SELECT addr_num FROM raw.clusters WHERE cluster_id = $c ORDER BY addr_num",
                         {"c": int(s)}).to_pylist()
            if not rows:
                raise UsageError(f"no entity {subject} in this store (run `chaintrail cluster` first?)")
            return {"kind": "entity", "id": f"cluster:{int(s)}", "addresses": len(rows)}, [r["addr_num"] for r in rows]
    rows = query(store, "SELECT addr_num FROM raw.addresses WHERE address = $a", {"a": s}).to_pylist()
    if not rows:
        raise UsageError(f"address {subject} is not in this store")
    return {"kind": "address", "id": s, "addresses": 1}, [rows[0]["addr_num"]]


def _movements(store: ChainStore, addrs: list[int]):
    """Every input and output of every tx touching ``addrs``, and those txs (chain order)."""
    legs = query(store, """
        WITH m AS (SELECT unnest($a::BIGINT[]) AS addr_num),
        t AS (SELECT tx_num FROM raw.inputs WHERE addr_num IN (SELECT addr_num FROM m)
              UNION SELECT tx_num FROM raw.outputs WHERE addr_num IN (SELECT addr_num FROM m))
        SELECT 0 AS side, i.prev_out_num AS ref, i.tx_num, i.addr_num, i.value_sat, coalesce(i.addr_num IN (SELECT addr_num FROM m), false)
               AS mine, c.cluster_id FROM raw.inputs i LEFT JOIN raw.clusters c USING (addr_num)
        WHERE i.tx_num IN (SELECT tx_num FROM t)
        UNION ALL
        SELECT 1, o.out_num, o.tx_num, o.addr_num, o.value_sat, coalesce(o.addr_num IN (SELECT addr_num FROM m), false),
               c.cluster_id FROM raw.outputs o LEFT JOIN raw.clusters c USING (addr_num)
        WHERE o.tx_num IN (SELECT tx_num FROM t)""", {"a": addrs})
    txs = query(store, """
        SELECT t.tx_num, lower(hex(t.txid)) AS txid, b.time, lower(hex(b.hash)) AS block_hash, b.height,
               t.is_coinbase, coalesce(l.label, 'none') AS label
        FROM raw.txs t JOIN raw.blocks b USING (block_seq) LEFT JOIN raw.tx_labels l USING (tx_num)
        WHERE t.tx_num IN (SELECT DISTINCT unnest($t::BIGINT[])) ORDER BY t.tx_num""",
                {"t": sorted(set(legs["tx_num"].to_pylist()))}).to_pylist()
    return legs.to_pylist(), txs


class _Names:
    """Counterparty names: (category, name) from tags, else the untagged entity."""

    def __init__(self, store: ChainStore):
        try:
            from chaintrail.tags.propagation import Attribution
            self.attr = Attribution.open(store)
        except ImportError:
            self.attr = None

    def of(self, addr: int | None, cluster: int | None) -> tuple[str, str]:
        if addr is None:
            return ("unknown", "no address (OP_RETURN or non-standard)")
        if self.attr is not None and addr < self.attr.n:
            for h in self.attr.hits(int(addr)):
                t = h.tag
                cat = t.risk_categories[0] if t.risk_categories else (t.category or t.kind or "tagged")
                return (cat, t.label or t.actor or "?")
        return ("untagged", f"entity cluster:{cluster}" if cluster is not None else "unclustered address")


def account(store: ChainStore, subject: str, params: AccountParams | None = None,
            book: PriceBook | None = None) -> dict:
    """The schedules of ``subject`` over the period (see the module docstring)."""
    p = params or AccountParams()
    if p.lots not in LOT_METHODS:
        raise UsageError(f"--lots must be one of {', '.join(LOT_METHODS)}, not {p.lots!r}")
    book = book if book is not None else PriceBook.open(store.path)
    currency = book.check_currency(p.currency)
    d0, d1 = _day(p.date_from, "--from"), _day(p.date_to, "--to")
    if d0 is not None and d1 is not None and d1 < d0:
        raise UsageError(f"--to {p.date_to} is before --from {p.date_from}")
    desc, addrs = resolve_subject(store, subject)
    legs, txs = _movements(store, addrs)
    names = _Names(store)
    by_tx: dict[int, list[dict]] = defaultdict(list)
    for r in legs:
        by_tx[r["tx_num"]].append(r)
    flows, spends = [], []          # flows: one per (tx, counterparty); spends: per tx, for specific lots
    unknown_inputs = 0
    for t in txs:
        rows = by_tx[t["tx_num"]]
        ins = [r for r in rows if r["side"] == 0]
        outs = [r for r in rows if r["side"] == 1]
        unknown_inputs += sum(1 for r in ins if r["value_sat"] is None)
        e_in = sum(r["value_sat"] or 0 for r in ins if r["mine"])
        t_in = sum(r["value_sat"] or 0 for r in ins)
        e_out = sum(r["value_sat"] for r in outs if r["mine"])
        t_out = sum(r["value_sat"] for r in outs)
        fee = max(0, t_in - t_out) if not t["is_coinbase"] else 0
        base = {"tx_num": t["tx_num"], "txid": t["txid"], "time": t["time"], "height": t["height"],
                "block_hash": t["block_hash"]}
        spends.append({**base, "e_in": e_in, "e_out": e_out, "mine_ins": [r["ref"] for r in ins if r["mine"]],
                       "mine_outs": [(r["ref"], r["value_sat"]) for r in outs if r["mine"]]})
        if e_in == 0:
            if t["is_coinbase"]:
                cat, name, cl = *MINED, None
            else:
                big = max((r for r in ins if not r["mine"]), key=lambda r: r["value_sat"] or 0, default=None)
                cl = big["cluster_id"] if big else None
                cat, name = names.of(big["addr_num"] if big else None, cl)
            flows.append({**base, "dir": "in", "sat": e_out, "category": cat, "name": name, "cluster": cl})
        elif e_in == t_in:
            for r in outs:
                if not r["mine"] and r["value_sat"]:
                    cat, name = names.of(r["addr_num"], r["cluster_id"])
                    flows.append({**base, "dir": "out", "sat": r["value_sat"], "category": cat, "name": name,
                                  "cluster": r["cluster_id"]})
            if fee:
                flows.append({**base, "dir": "out", "sat": fee, "category": FEES[0], "name": FEES[1], "cluster": None})
        else:
            net = e_out - e_in
            share = fee * e_in // t_in if t_in else 0
            if net > 0:
                flows.append({**base, "dir": "in", "sat": net, "category": JOINT[0], "name": JOINT[1],
                              "cluster": None, "label": t["label"]})
            elif net < 0:
                share = min(share, -net)
                if -net - share:
                    flows.append({**base, "dir": "out", "sat": -net - share, "category": JOINT[0], "name": JOINT[1],
                                  "cluster": None, "label": t["label"]})
                if share:
                    flows.append({**base, "dir": "out", "sat": share, "category": FEES[0], "name": FEES[1],
                                  "cluster": None})
    return _schedules(desc, p, currency, book, flows, spends, d0, d1, unknown_inputs)


def _schedules(desc, p: AccountParams, currency: str, book: PriceBook, flows: list[dict], spends: list[dict],
               d0: int | None, d1: int | None, unknown_inputs: int) -> dict:
    times = np.array([f["time"] for f in flows], np.int64)
    sats = np.array([f["sat"] for f in flows], np.int64)
    val = book.value("BTC", sats, times, currency)
    days = val.days
    for i, f in enumerate(flows):
        f["day"] = iso_day(int(days[i]))
        f["fiat_cents"] = None if np.isnan(val.cents[i]) else int(val.cents[i])
        f["price"] = val.row(i)
    first = int(days.min()) if len(days) else None
    d0 = d0 if d0 is not None else first
    d1 = d1 if d1 is not None else (int(days.max()) if len(days) else None)
    _lot_costs(p.lots, flows, spends, book, currency)
    before = [f for f in flows if d0 is not None and _d(f) < d0]
    inside = [f for f in flows if d0 is not None and d1 is not None and d0 <= _d(f) <= d1]
    opening_sat = sum(f["sat"] if f["dir"] == "in" else -f["sat"] for f in before)
    opening_cost = sum(f["fiat_cents"] or 0 for f in before if f["dir"] == "in") - \
        sum(f.get("cost_cents") or 0 for f in before if f["dir"] == "out")
    sources = group_by_counterparty([f for f in inside if f["dir"] == "in"])
    uses = group_by_counterparty([f for f in inside if f["dir"] == "out"])
    src_sat = sum(f["sat"] for f in inside if f["dir"] == "in")
    use_sat = sum(f["sat"] for f in inside if f["dir"] == "out")
    src_c = sum(f["fiat_cents"] or 0 for f in inside if f["dir"] == "in")
    use_c = sum(f["fiat_cents"] or 0 for f in inside if f["dir"] == "out")
    gain = sum(f.get("gain_cents") or 0 for f in inside if f["dir"] == "out")
    closing_sat = opening_sat + src_sat - use_sat
    missing = sorted({f["day"] for f in flows if f["fiat_cents"] is None})
    close_val = book.value("BTC", np.array([closing_sat]), np.array([(d1 or 0) * DAY_S]), currency) \
        if d1 is not None else None
    closing_market = None if close_val is None or np.isnan(close_val.cents[0]) else int(close_val.cents[0])
    closing_cost = opening_cost + src_c - use_c + gain
    totals = {"opening_sat": opening_sat, "sources_sat": src_sat, "uses_sat": use_sat, "closing_sat": closing_sat,
              "opening_cost_cents": opening_cost, "sources_cents": src_c, "uses_cents": use_c,
              "realised_gain_cents": gain, "closing_cost_cents": closing_cost,
              "closing_market_cents": closing_market, "closing_day": iso_day(d1) if d1 is not None else None,
              "unrealised_gain_cents": None if closing_market is None else closing_market - closing_cost}
    return {
        "subject": desc, "asset": "BTC", "currency": currency, "lot_method": p.lots, "convention": CONVENTION,
        "period": {"from": iso_day(d0) if d0 is not None else None, "to": iso_day(d1) if d1 is not None else None},
        "totals": totals, "sources": sources, "uses": uses,
        "monthly": _monthly(inside), "balance": _balance(flows, d0, d1, opening_sat),
        "disposals": [{k: f.get(k) for k in ("txid", "day", "sat", "category", "name", "fiat_cents", "cost_cents",
                                              "gain_cents", "lots_from")} for f in inside if f["dir"] == "out"],
        "flows": [{k: f.get(k) for k in ("txid", "height", "time", "day", "dir", "sat", "category", "name",
                                          "cluster", "fiat_cents", "price")} for f in inside],
        "block_hashes": list(dict.fromkeys(f["block_hash"] for f in flows)),
        "prices": book.sources_used(["BTC"], currency), "missing_prices": missing,
        "fiat_complete": not missing, "unknown_input_values": unknown_inputs,
    }


def _d(f: dict) -> int:
    return int(f["time"]) // DAY_S


def group_by_counterparty(flows: list[dict], amount: str = "sat", count: str = "txs") -> list[dict]:
    """Sources or uses per (category, name): the ``amount`` key summed, fiat cents summed (unpriced ones counted),
    ``count`` the movements; largest first. Shared by the Bitcoin and Ethereum schedules."""
    g: dict[tuple, dict] = {}
    for f in flows:
        row = g.setdefault((f["category"], f["name"]), {"category": f["category"], "name": f["name"], amount: 0,
                                                        "fiat_cents": 0, count: 0, "unpriced": 0})
        row[amount] += f[amount]
        row["fiat_cents"] += f["fiat_cents"] or 0
        row["unpriced"] += f["fiat_cents"] is None
        row[count] += 1
    return sorted(g.values(), key=lambda r: (-r[amount], r["category"], r["name"]))



def _monthly(flows: list[dict]) -> list[dict]:
    m: dict[str, dict] = {}
    for f in flows:
        row = m.setdefault(f["day"][:7], {"month": f["day"][:7], "receipts_sat": 0, "disbursements_sat": 0,
                                         "receipts_cents": 0, "disbursements_cents": 0, "txs": set()})
        k = "receipts" if f["dir"] == "in" else "disbursements"
        row[f"{k}_sat"] += f["sat"]
        row[f"{k}_cents"] += f["fiat_cents"] or 0
        row["txs"].add(f["txid"])
    return [{**r, "txs": len(r["txs"])} for _, r in sorted(m.items())]


def _balance(flows: list[dict], d0, d1, opening: int) -> list[dict]:
    """The balance after each transaction of the period (one point per tx, chain order)."""
    out, bal, last = [], opening, None
    for f in flows:
        if d0 is None or not d0 <= _d(f) <= d1:
            continue
        bal += f["sat"] if f["dir"] == "in" else -f["sat"]
        if last is not None and last["txid"] == f["txid"]:
            last["balance_sat"] = bal
            continue
        last = {"txid": f["txid"], "time": f["time"], "day": f["day"], "balance_sat": bal}
        out.append(last)
    return out


def _lot_costs(method: str, flows: list[dict], spends: list[dict], book: PriceBook, currency: str) -> None:
    """Set ``cost_cents``/``gain_cents``/``lots_from`` on every use."""
    if method == "fifo":
        ins = [f for f in flows if f["dir"] == "in"]
        outs = [f for f in flows if f["dir"] == "out"]
        costs, known, ranges, _ = fifo_costs(np.array([f["sat"] for f in ins], np.int64),
                                             [f["fiat_cents"] or 0 for f in ins],
                                             np.array([f["fiat_cents"] is not None for f in ins], bool),
                                             np.array([f["sat"] for f in outs], np.int64))
        for f, c, k, (j0, j1) in zip(outs, costs, known, ranges):
            f["cost_cents"] = c
            f["gain_cents"] = f["fiat_cents"] - c if k and f["fiat_cents"] is not None else None
            f["lots_from"] = sorted({ins[j]["day"] for j in range(j0, j1 + 1)}) if j1 >= j0 else []
        return
    _specific(flows, spends)


def _specific(flows: list[dict], spends: list[dict]) -> None:
    """Specific identification: a spend's cost is that of the very outputs it consumes (``analysis.lots``)."""
    lots: dict[int, tuple[int, bool]] = {}      # out_num -> (cost cents, priced) of the subject's unspent outputs
    by_tx: dict[int, list[dict]] = defaultdict(list)
    for f in flows:
        by_tx[f["tx_num"]].append(f)
    for s in spends:
        fs = by_tx.get(s["tx_num"], [])
        uses = [f for f in fs if f["dir"] == "out"]
        got = [f for f in fs if f["dir"] == "in"]
        cost, priced = 0, True
        for ref in s["mine_ins"]:
            c, k = lots.pop(ref, (0, False))         # not found: held before the store's first block
            cost += c
            priced &= k
        for f in got:
            cost += f["fiat_cents"] or 0
            priced &= f["fiat_cents"] is not None
        outs = s["mine_outs"]
        pieces = split_cost(cost, [f["sat"] for f in uses] + [v for _, v in outs])
        for f, c in zip(uses, pieces):
            f["cost_cents"] = c
            f["gain_cents"] = f["fiat_cents"] - c if priced and f["fiat_cents"] is not None else None
            f["lots_from"] = ["the outputs this transaction spends"]
        for (ref, _), c in zip(outs, pieces[len(uses):]):
            lots[ref] = (c, priced)


def to_rows(result: dict) -> list[dict]:
    """The movements as flat rows (CSV export)."""
    cur = result["currency"].lower()
    return [{"txid": f["txid"], "day": f["day"], "direction": f["dir"], "btc": f"{f['sat'] / 1e8:.8f}",
             "sat": f["sat"], "counterparty_category": f["category"], "counterparty": f["name"],
             f"value_{cur}": "" if f["fiat_cents"] is None else f"{f['fiat_cents'] / 100:.2f}",
             "price_usd": f["price"].get("price_usd")} for f in result["flows"]]


__all__ = ["AccountParams", "LOT_METHODS", "account", "resolve_subject", "to_rows", "asdict"]

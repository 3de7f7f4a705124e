"""Tornado deposit -> withdrawal linking heuristics: leads with evidence, never a claim without their error rates.

The published heuristics (Tutela; Wu et al. 2022; Wang et al. 2022), each a test on one (deposit d,
withdrawal w) pair of the same pool with d before w; a pair that passes is a *lead*:

* ``address_match``: d's depositor is w's recipient.
* ``unique_gas_price``: d's gas fingerprint (a legacy gas price, or an EIP-1559 max fee and tip: what the
  sender's wallet chose) is used by w's recipient in a transaction of its own, and in the whole store that
  fingerprint is used only by d's depositor and by withdrawal recipients (no other sender, no other depositor).
* ``linked_addresses``: d's depositor and w's recipient sent >= 3 transactions directly to each other (either
  way, anywhere in the store).
* ``multi_denomination``: one address deposited a portfolio of >= 2 notes in >= 2 pools within 24 h, and one
  other address received withdrawals of exactly that multiset of pools within 24 h, all after the deposits.
* ``relayer_fee``: w was relayed (its tx sent, or its event's relayer) by d's depositor, an address that is no
  public relayer (it relayed withdrawals to at most ``SELF_RELAY_MAX`` recipients).
* ``fifo_timing``: first in, first out: in each pool, w spends the earliest note not yet taken by an earlier
  withdrawal. Its score is 1 / the anonymity set at w: it is the base rate, not evidence of ownership.

A lead's ``score`` is 1 / the number of leads of the same heuristic for its deposit. Every lead carries the
heuristic's measured precision and its chance-match rate: the share of random *non-linked* (deposit,
withdrawal) pairs of the same pool that pass the same test (the placebo, ``placebo``), measured on generated
chains with answer keys by ``bench/eth_tornado_eval.py`` into ``analysis/eth_tornado_rates.json``.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from chaintrail.analysis.eth.tornado import Mixing, anonymity_sets, gas_fingerprint
from chaintrail.analysis.evaluation import wilson
from chaintrail.store.chainstore import ChainStore

HEURISTICS = ("address_match", "unique_gas_price", "linked_addresses", "multi_denomination", "relayer_fee",
              "fifo_timing")
LINKED_MIN_TXS = 3
PORTFOLIO_WINDOW_S = 86_400
SELF_RELAY_MAX = 3
RATES_FILE = Path(__file__).resolve().parents[1] / "eth_tornado_rates.json"
NOT_PROOF = "a lead, not proof that the withdrawal is the depositor's"


def _hex(b: bytes | None) -> str | None:
    return None if b is None else "0x" + b.hex()


class _Pairs:
    """The leads found so far: (deposit row, withdrawal row, heuristic) -> evidence (first found kept)."""

    def __init__(self, m: Mixing):
        self.d = m.deposits.to_pylist()
        self.w = m.withdrawals.to_pylist()
        self.found: dict[tuple[int, int, str], str] = {}
        self.d_of_pool: dict[bytes, list[int]] = {}
        for i, r in enumerate(self.d):
            self.d_of_pool.setdefault(r["pool"], []).append(i)

    def earlier(self, j: int) -> list[int]:
        """Deposits of w j's pool logged before it."""
        w = self.w[j]
        return [i for i in self.d_of_pool.get(w["pool"], []) if self.d[i]["log_num"] < w["log_num"]]

    def add(self, i: int, j: int, heuristic: str, evidence: str) -> None:
        self.found.setdefault((i, j, heuristic), evidence)


def _address_match(p: _Pairs) -> None:
    for j, w in enumerate(p.w):
        for i in p.earlier(j):
            if p.d[i]["sender"] == w["recipient"]:
                p.add(i, j, "address_match", f"depositor {_hex(w['recipient'])} is the withdrawal's recipient")


def _relayer_fee(p: _Pairs) -> None:
    served: dict[bytes, set] = {}
    for w in p.w:
        for a in {w["sender"], w["relayer"]}:
            served.setdefault(a, set()).add(w["recipient"])
    for j, w in enumerate(p.w):
        for i in p.earlier(j):
            dep = p.d[i]["sender"]
            if dep != w["recipient"] and dep in (w["sender"], w["relayer"]) and len(served[dep]) <= SELF_RELAY_MAX:
                how = "sent the withdrawal tx" if dep == w["sender"] else "is the withdrawal's relayer"
                p.add(i, j, "relayer_fee", f"depositor {_hex(dep)} {how} (fee {w['fee']}), relaying for "
                                           f"{len(served[dep])} recipient(s) only: no public relayer")


def _sql(store: ChainStore, sql: str, tables: dict[str, pa.Table], params: list | None = None) -> list[dict]:
    from chaintrail.store.sql import connect
    con = connect(store, "eth")
    try:
        for name, t in tables.items():
            con.register(name, t)
        return con.sql(sql, params=params).to_arrow_table().to_pylist()
    finally:
        con.close()


def _unique_gas(p: _Pairs, store: ChainStore) -> None:
    recipients = {w["recipient"] for w in p.w}
    depositors = {d["sender"] for d in p.d}
    fps = {d["gas_fingerprint"] for d in p.d}
    rows = _sql(store, """
        SELECT DISTINCT from_address, transaction_type, gas_price, max_fee_per_gas, max_priority_fee_per_gas
        FROM raw.eth_transactions""", {})
    senders: dict[str, set] = {}
    for r in rows:
        fp = gas_fingerprint(r["transaction_type"], r["gas_price"], r["max_fee_per_gas"], r["max_priority_fee_per_gas"])
        if fp in fps:
            senders.setdefault(fp, set()).add(r["from_address"])
    for j, w in enumerate(p.w):
        for i in p.earlier(j):
            d = p.d[i]
            s = senders.get(d["gas_fingerprint"], set())
            others = s - {d["sender"]}
            if d["sender"] != w["recipient"] and w["recipient"] in others and others <= recipients \
                    and not (others & depositors):
                p.add(i, j, "unique_gas_price",
                      f"gas fingerprint {d['gas_fingerprint']} of the deposit is used in the whole store only by the "
                      f"depositor and {len(others)} withdrawal recipient(s), this one among them")


def _linked(p: _Pairs, store: ChainStore) -> None:
    addrs = {d["sender"] for d in p.d} | {w["recipient"] for w in p.w}
    t = pa.table({"a": pa.array(sorted(addrs), pa.binary(20))})
    rows = _sql(store, """
        SELECT least(from_address, to_address) AS x, greatest(from_address, to_address) AS y, count(*) AS n
        FROM raw.eth_transactions WHERE from_address IN (SELECT a FROM tornado_addrs)
          AND to_address IN (SELECT a FROM tornado_addrs) AND from_address <> to_address
        GROUP BY ALL HAVING count(*) >= ?""", {"tornado_addrs": t}, [LINKED_MIN_TXS])
    n = {(r["x"], r["y"]): r["n"] for r in rows}
    for j, w in enumerate(p.w):
        for i in p.earlier(j):
            a, b = p.d[i]["sender"], w["recipient"]
            k = n.get((min(a, b), max(a, b)), 0)
            if k >= LINKED_MIN_TXS:
                p.add(i, j, "linked_addresses", f"depositor {_hex(a)} and recipient {_hex(b)} sent each other "
                                                f"{k} direct transactions")


def _windows(rows: list[tuple[int, int, bytes]], window_s: int) -> list[list[int]]:
    """Maximal groups (from each event on) of one address's events within ``window_s``: lists of row indices."""
    rows = sorted(rows)
    return [[k for t, k, _ in rows[a:] if t <= rows[a][0] + window_s] for a in range(len(rows))]


def _multi_denomination(p: _Pairs) -> None:
    by_dep: dict[bytes, list] = {}
    for i, d in enumerate(p.d):
        by_dep.setdefault(d["sender"], []).append((d["timestamp"], i, d["pool"]))
    by_rec: dict[bytes, list] = {}
    for j, w in enumerate(p.w):
        by_rec.setdefault(w["recipient"], []).append((w["timestamp"], j, w["pool"]))
    den = {d["pool"]: d["denomination"] for d in p.d}
    portfolios: dict[tuple, list[tuple[bytes, list[int]]]] = {}
    for r, rows in by_rec.items():
        for g in _windows(rows, PORTFOLIO_WINDOW_S):
            key = tuple(sorted(Counter(p.w[j]["pool"] for j in g).items()))
            if len(key) >= 2:
                portfolios.setdefault(key, []).append((r, g))
    for dep, rows in by_dep.items():
        for g in _windows(rows, PORTFOLIO_WINDOW_S):
            key = tuple(sorted(Counter(p.d[i]["pool"] for i in g).items()))
            last = max(p.d[i]["log_num"] for i in g)
            for r, wg in portfolios.get(key, []):
                if r == dep or min(p.w[j]["log_num"] for j in wg) < last:
                    continue
                shape = ", ".join(f"{n} x {den[pool]}" for pool, n in key)
                for i in g:
                    for j in wg:
                        if p.d[i]["pool"] == p.w[j]["pool"]:
                            p.add(i, j, "multi_denomination",
                                  f"{_hex(dep)} deposited {len(g)} notes in {len(key)} pools within 24 h and "
                                  f"{_hex(r)} received withdrawals of exactly those pools and counts within 24 h "
                                  f"afterwards ({shape})")


def _fifo(p: _Pairs, m: Mixing) -> None:
    _, _, w_anon = anonymity_sets(m)
    for pool, deps in p.d_of_pool.items():
        queue = sorted(deps, key=lambda i: p.d[i]["log_num"])
        head = 0
        for j in sorted((j for j, w in enumerate(p.w) if w["pool"] == pool), key=lambda j: p.w[j]["log_num"]):
            if head < len(queue) and p.d[queue[head]]["log_num"] < p.w[j]["log_num"]:
                p.add(queue[head], j, "fifo_timing", f"first in, first out: the earliest of {int(w_anon[j])} notes "
                                                     f"open in the pool when the withdrawal came")
                head += 1


def find_leads(store: ChainStore, m: Mixing, heuristics: tuple[str, ...] = HEURISTICS) -> pa.Table:
    """Every lead of the chosen heuristics, with evidence, score, measured precision and chance-match rate."""
    unknown = set(heuristics) - set(HEURISTICS)
    if unknown:
        raise ValueError(f"unknown Tornado heuristic(s) {sorted(unknown)}: choose from {', '.join(HEURISTICS)}")
    p = _Pairs(m)
    run = {"address_match": lambda: _address_match(p), "unique_gas_price": lambda: _unique_gas(p, store),
           "linked_addresses": lambda: _linked(p, store), "multi_denomination": lambda: _multi_denomination(p),
           "relayer_fee": lambda: _relayer_fee(p), "fifo_timing": lambda: _fifo(p, m)}
    for h in heuristics:
        run[h]()
    _, d_cand, w_anon = anonymity_sets(m)
    per_dep = Counter((i, h) for i, _, h in p.found)
    rows = []
    for (i, j, h), ev in sorted(p.found.items(), key=lambda kv: (p.d[kv[0][0]]["log_num"], p.w[kv[0][1]]["log_num"],
                                                                  HEURISTICS.index(kv[0][2]))):
        rate = measured(h)
        chance = rate.get("chance_match_rate")
        expected = None if chance is None else chance * int(d_cand[i])
        if rate:
            note = (f"; measured precision {_fmt(rate.get('precision'))} (withdrawal to the depositor's owner; the "
                    f"note's own withdrawal: {_fmt(rate.get('pair_precision'))}; {rate['measured_on']}), "
                    f"chance-match rate {_fmt(chance)} per non-linked pair of the pool, so {_fmt(expected)} chance matches expected "
                    f"among this deposit's {int(d_cand[i])} candidate withdrawals; {NOT_PROOF}")
        else:
            note = f"; precision and chance-match rate not measured; {NOT_PROOF}"
        score = 1.0 / int(w_anon[j]) if h == "fifo_timing" and w_anon[j] > 0 else 1.0 / per_dep[(i, h)]
        rows.append({"deposit_log_num": p.d[i]["log_num"], "deposit_tx_num": p.d[i]["tx_num"],
                     "withdrawal_log_num": p.w[j]["log_num"], "withdrawal_tx_num": p.w[j]["tx_num"],
                     "pool": p.d[i]["pool"], "depositor": p.d[i]["sender"], "recipient": p.w[j]["recipient"],
                     "heuristic": h, "score": score, "evidence": ev + note, "precision": rate.get("precision"),
                     "chance_match_rate": chance, "expected_chance_matches": expected})
    from chaintrail.store.eth_schema import ETH_ANALYSIS_TABLES
    schema = ETH_ANALYSIS_TABLES["eth_tornado_leads"]
    return pa.Table.from_pylist(rows, schema=schema)


def _fmt(x) -> str:
    return "not measured" if x is None else f"{x:.4g}"


@lru_cache(maxsize=1)
def _rates() -> dict:
    return json.loads(RATES_FILE.read_text()) if RATES_FILE.exists() else {}


def measured(heuristic: str) -> dict:
    """A heuristic's figures from ``eth_tornado_rates.json``: out-of-sample where measured, else in-sample;
    {} when never measured (then a lead says 'not measured')."""
    h = _rates().get("heuristics", {}).get(heuristic, {})
    for source in ("generated_out_of_sample", "generated_in_sample"):
        s = h.get(source)
        if s and s.get("pairs"):
            return {"precision": s["owner"]["precision"], "pair_precision": s["pairs"]["precision"],
                    "recall": s["pairs"]["recall"],
                    "chance_match_rate": s["placebo"]["rate"], "measured_on": s["measured_on"]}
    return {}


def placebo(leads: pa.Table, pairs: list[tuple[int, int]], heuristics: tuple[str, ...] = HEURISTICS) -> dict:
    """Chance-match rate per heuristic: the share of ``pairs`` (deposit log_num, withdrawal log_num: random
    non-linked pairs of one pool, deposit first) that the heuristic made a lead of, with its 95% Wilson interval."""
    hit: dict[str, set] = {h: set() for h in heuristics}
    for d, w, h in zip(leads["deposit_log_num"].to_pylist(), leads["withdrawal_log_num"].to_pylist(),
                       leads["heuristic"].to_pylist()):
        if h in hit:
            hit[h].add((d, w))
    out = {}
    for h in heuristics:
        k = sum((d, w) in hit[h] for d, w in pairs)
        ci = wilson(k, len(pairs))
        out[h] = {"matches": k, "pairs": len(pairs), "rate": k / len(pairs) if pairs else None,
                  "wilson95": list(ci) if ci else None}
    return out


def sample_pairs(m: Mixing, exclude: set[tuple[int, int]], n: int, seed: int) -> list[tuple[int, int]]:
    """Up to ``n`` random (deposit, withdrawal) log_num pairs of one pool, deposit first, none in ``exclude``."""
    rng = np.random.default_rng(seed)
    d_pool, d_pos = m.deposits["pool"].to_pylist(), m.deposits["log_num"].to_pylist()
    w_pool, w_pos = m.withdrawals["pool"].to_pylist(), m.withdrawals["log_num"].to_pylist()
    by_pool: dict[bytes, list[int]] = {}
    for pl, x in zip(d_pool, d_pos):
        by_pool.setdefault(pl, []).append(x)
    every = [(d, w) for pl, w in zip(w_pool, w_pos) for d in by_pool.get(pl, []) if d < w and (d, w) not in exclude]
    if len(every) <= n:
        return every
    return [every[k] for k in sorted(rng.choice(len(every), n, replace=False).tolist())]


def analyse(store: ChainStore) -> tuple[Mixing, pa.Table]:
    """Find the pools and every heuristic's leads, and write the eth_tornado_* analysis tables."""
    from chaintrail.analysis.eth.tornado import find_pools, write_tables
    m = find_pools(store)
    leads = find_leads(store, m)
    write_tables(store, m, leads)
    return m, leads


def lead_rows(store: ChainStore, *, deposit_tx: str | None = None, address: str | None = None) -> list[dict]:
    """The written leads (``analyse``) as hex rows, of one deposit tx or of one address (as depositor or
    recipient), strongest first, each with where its rates were measured."""
    from chaintrail.store.sql import query
    where, params = [], []
    if deposit_tx is not None:
        where.append("deposit_tx = ?")
        params.append(deposit_tx.lower())
    if address is not None:
        where.append("(depositor = ? OR recipient = ?)")
        params += [address.lower(), address.lower()]
    sql = "SELECT * FROM eth_tornado_leads" + (" WHERE " + " AND ".join(where) if where else "") \
        + " ORDER BY deposit_tx, score DESC, heuristic, withdrawal_tx"
    rows = query(store, sql, params, chain="eth").to_pylist()
    for r in rows:
        r["measured_on"] = measured(r["heuristic"]).get("measured_on", "not measured")
    return rows


__all__ = ["HEURISTICS", "NOT_PROOF", "analyse", "find_leads", "lead_rows", "measured", "placebo", "sample_pairs"]

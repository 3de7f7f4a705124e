"""Tornado pools laid onto the flow graph: each deposit's leg into its pool, each withdrawal's legs out, and
which withdrawal the leads (``tornado_links``) or an investigator's confirmed links name for each deposit.

A deposit's leg is the flow of its denomination into the pool in the deposit's transaction; a withdrawal has
a recipient leg (denomination - fee, the pool's first matching out-flow in its transaction) and, when the fee
is not zero, a relayer leg. Notes pair 1:1: a confirmed link first, then the leads in order of measured
precision (unmeasured last), score, heuristic and position; a deposit or a withdrawal already paired is
skipped, so each deposit names at most one withdrawal and each withdrawal spends at most one note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.analysis.eth.flowgraph import FEE_KINDS, FlowGraph
from chaintrail.errors import UsageError

DEPOSITS_FILE, WITHDRAWALS_FILE, LEADS_FILE = ("eth_tornado_deposits.parquet", "eth_tornado_withdrawals.parquet",
                                               "eth_tornado_leads.parquet")
LEG_NONE, LEG_RECIPIENT, LEG_RELAYER, LEG_DEPOSIT = 0, 1, 2, 3
CONFIRMED = "confirmed"


@dataclass
class MixerLegs:
    leg: np.ndarray            # position -> LEG_* kind
    ref: np.ndarray            # position -> withdrawal (recipient/relayer leg) or deposit index (-1)
    w_dep: np.ndarray          # withdrawal -> the deposit paired with it (-1)
    d_w: np.ndarray            # deposit -> the withdrawal paired with it (-1)
    w_rec: np.ndarray          # withdrawal -> its recipient leg's position (-1)
    w_fee: np.ndarray          # withdrawal -> its relayer leg's position (-1)
    den_h: np.ndarray          # deposit -> denomination (limbs)
    den_l: np.ndarray
    pools: np.ndarray          # addr_nums of the pools
    deposits: list[dict]       # deposit -> row (pool, tx_num, log_num, sender, denomination)
    withdrawals: list[dict]    # withdrawal -> row (pool, tx_num, log_num, recipient, relayer, fee)
    pair_lead: dict[int, dict] = field(default_factory=dict)   # deposit -> the lead (or confirmed link) pairing it
    leads_of: dict[int, list[dict]] = field(default_factory=dict)  # deposit -> every lead for it
    skipped: int = 0           # deposits/withdrawals whose legs are not in the flows


def empty(g: FlowGraph) -> MixerLegs:
    z = np.zeros(0, np.int64)
    return MixerLegs(np.zeros(g.n_pos, np.int8), np.full(g.n_pos, -1, np.int64), z, z, z, z,
                     np.zeros(0, np.uint64), np.zeros(0, np.uint64), z, [], [])


def _tables(root: Path, store) -> tuple[pa.Table, pa.Table, pa.Table] | None:
    """The written eth_tornado_* tables, else found from the store now (nothing written); None: no store."""
    folder = Path(root) / "analysis"
    if all((folder / f).exists() for f in (DEPOSITS_FILE, WITHDRAWALS_FILE, LEADS_FILE)):
        return tuple(pq.read_table(folder / f) for f in (DEPOSITS_FILE, WITHDRAWALS_FILE, LEADS_FILE))
    if store is None:
        return None
    from chaintrail.analysis.eth.tornado import find_pools
    from chaintrail.analysis.eth.tornado_links import find_leads
    m = find_pools(store)
    if not m.pools:
        return None
    return m.deposits, m.withdrawals, find_leads(store, m)


def _lead_key(r: dict) -> tuple:
    from chaintrail.analysis.eth.tornado_links import HEURISTICS
    p = r.get("precision")
    return (r["heuristic"] != CONFIRMED, -(p if p is not None else -1.0), -(r.get("score") or 0.0),
            HEURISTICS.index(r["heuristic"]) if r["heuristic"] in HEURISTICS else -1,
            r["deposit_log_num"], r["withdrawal_log_num"])


def load_mixer_legs(root: Path, store, g: FlowGraph, heuristics: tuple[str, ...],
                    confirmed: tuple[str, ...] = ()) -> MixerLegs:
    """Pools, legs and pairing (see the module doc); ``heuristics``: which leads may pair notes; ``confirmed``:
    'DEPOSIT_TX:WITHDRAWAL_TX' links the investigator holds as established (they pair first)."""
    got = _tables(root, store)
    if got is None:
        if confirmed:
            raise UsageError("--link names Tornado notes, and this store has no Tornado-style pools")
        return empty(g)
    dep_t, wd_t, lead_t = got
    deps, wds = dep_t.to_pylist(), wd_t.to_pylist()
    index = {bytes(k): i for i, k in enumerate(g.addr_key)}
    n_assets = len(g.asset_addr)
    keys = g.acct_addr * n_assets + g.acct_asset
    leg, ref = np.zeros(g.n_pos, np.int8), np.full(g.n_pos, -1, np.int64)

    def acct(addr: bytes, asset: bytes | None) -> int:
        a = index.get(bytes(addr))
        if asset is None:
            s = np.flatnonzero(g.asset_addr < 0)
        else:
            t = index.get(bytes(asset))
            s = np.flatnonzero((g.asset_addr == (t if t is not None else -2))
                               & np.array([i is None for i in g.asset_item], bool))
        if a is None or not len(s):
            return -1
        k = a * n_assets + int(s[0])
        i = int(np.searchsorted(keys, k))
        return i if i < len(keys) and keys[i] == k else -1

    def legs_of(t: int) -> range:
        return range(int(g.tx_pos[t]), int(g.tx_pos[t + 1])) if 0 <= t < len(g.tx_pos) - 1 else range(0)

    skipped = 0
    den_h, den_l = np.zeros(len(deps), np.uint64), np.zeros(len(deps), np.uint64)
    for i, r in enumerate(deps):
        pool, den = acct(r["pool"], r["asset"]), int(r["denomination"])
        den_h[i], den_l[i] = den >> 64, den & 0xFFFFFFFFFFFFFFFF
        p = next((p for p in legs_of(int(r["tx_num"])) if g.to[p] == pool and pool >= 0 and leg[p] == LEG_NONE
                  and g.kind[p] not in FEE_KINDS and (int(g.hi[p]) << 64 | int(g.lo[p])) == den), -1)
        if p < 0:
            skipped += 1
            continue
        leg[p], ref[p] = LEG_DEPOSIT, i
    w_rec, w_fee = np.full(len(wds), -1, np.int64), np.full(len(wds), -1, np.int64)
    for j, r in enumerate(wds):
        pool, den, fee = acct(r["pool"], r["asset"]), int(r["denomination"]), int(r["fee"])
        for target, amount, out, kind in ((r["recipient"], den - fee, w_rec, LEG_RECIPIENT),
                                          (r["relayer"], fee, w_fee, LEG_RELAYER)):
            if amount <= 0:
                continue
            to = acct(target, r["asset"])
            p = next((p for p in legs_of(int(r["tx_num"])) if pool >= 0 and g.frm[p] == pool and g.to[p] == to
                      and leg[p] == LEG_NONE and (int(g.hi[p]) << 64 | int(g.lo[p])) == amount), -1)
            if p < 0:
                skipped += 1
                continue
            leg[p], ref[p], out[j] = kind, j, p
    # pairing: confirmed links, then leads by measured precision
    d_of_tx = {}
    for i, r in enumerate(deps):
        d_of_tx.setdefault(int(r["tx_num"]), []).append(i)
    w_of_tx = {}
    for j, r in enumerate(wds):
        w_of_tx.setdefault(int(r["tx_num"]), []).append(j)
    d_by_log = {int(r["log_num"]): i for i, r in enumerate(deps)}
    w_by_log = {int(r["log_num"]): j for j, r in enumerate(wds)}
    cands = []
    for spec in confirmed:
        dtx, _, wtx = spec.partition(":")
        di, wj = d_of_tx.get(g.tx_num(dtx), []), w_of_tx.get(g.tx_num(wtx) if wtx else -1, [])
        pairs = [(i, j) for i in di for j in wj if deps[i]["pool"] == wds[j]["pool"]]
        if not pairs:
            raise UsageError(f"--link {spec}: not a Tornado deposit and a withdrawal of the same pool")
        for i, j in pairs:
            cands.append({"deposit_log_num": int(deps[i]["log_num"]), "withdrawal_log_num": int(wds[j]["log_num"]),
                          "heuristic": CONFIRMED, "precision": None, "chance_match_rate": None, "score": 1.0,
                          "evidence": "link confirmed by the investigator (given with --link)"})
    leads_of: dict[int, list[dict]] = {}
    for r in lead_t.to_pylist():
        i = d_by_log.get(int(r["deposit_log_num"]))
        if i is None or int(r["withdrawal_log_num"]) not in w_by_log:
            continue
        leads_of.setdefault(i, []).append(r)
        if r["heuristic"] in heuristics:
            cands.append(r)
    w_dep, d_w = np.full(len(wds), -1, np.int64), np.full(len(deps), -1, np.int64)
    pair_lead: dict[int, dict] = {}
    for r in sorted(cands, key=_lead_key):
        i, j = d_by_log[int(r["deposit_log_num"])], w_by_log[int(r["withdrawal_log_num"])]
        if d_w[i] < 0 and w_dep[j] < 0:
            d_w[i], w_dep[j], pair_lead[i] = j, i, r
    pools = np.array(sorted({index[bytes(r["pool"])] for r in deps + wds if bytes(r["pool"]) in index}), np.int64)
    return MixerLegs(leg, ref, w_dep, d_w, w_rec, w_fee, den_h, den_l, pools, deps, wds, pair_lead, leads_of,
                     skipped)


__all__ = ["CONFIRMED", "LEG_DEPOSIT", "LEG_NONE", "LEG_RECIPIENT", "LEG_RELAYER", "MixerLegs", "empty",
           "load_mixer_legs"]

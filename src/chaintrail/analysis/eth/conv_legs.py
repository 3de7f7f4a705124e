"""Conversions (``analysis/eth_conversions.parquet``) laid onto the flow graph: each one's input and output legs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from chaintrail.analysis.eth.flowgraph import FEE_KINDS, FlowGraph
from chaintrail.analysis.eth.stops import hex_of
from chaintrail.analysis.eth.u128 import split
from pathlib import Path

CONVERSIONS_FILE = "eth_conversions.parquet"


@dataclass
class ConvLegs:
    conv_in: np.ndarray       # position -> conversion whose input leg it is (-1)
    conv_out: np.ndarray      # position -> conversion whose output leg it is (-1)
    trig_first: np.ndarray    # position -> first conversion completing there (-1); conversions sorted by trigger
    trig: np.ndarray          # conversion -> position where it completes (its last leg)
    acct: np.ndarray          # conversion -> the recipient's account of the output asset (the trader's, or
                              # whom the router paid)
    ain_h: np.ndarray
    ain_l: np.ndarray
    aout_h: np.ndarray
    aout_l: np.ndarray
    rows: list[dict]          # conversion -> its Parquet row (evidence), in the same order
    skipped: int              # rows whose legs are not in the flows


def _asset_id(g: FlowGraph, asset) -> int:
    a = hex_of(asset)
    if a is None:
        hit = np.flatnonzero(g.asset_addr < 0)
    else:
        key = np.frombuffer(bytes.fromhex(a[2:]), np.uint8)
        n = np.flatnonzero((g.addr_key == key).all(axis=1))
        hit = np.flatnonzero((g.asset_addr == n[0]) & np.array([i is None for i in g.asset_item])) if len(n) else n
    return int(hit[0]) if len(hit) else -1


def load_conversions(root: Path, g: FlowGraph) -> ConvLegs:
    """Read the conversions file (none: no conversions) and find each one's legs in its transaction."""
    path = Path(root) / "analysis" / CONVERSIONS_FILE
    rows = pq.read_table(path).to_pylist() if path.exists() else []
    n = g.n_pos
    conv_in, conv_out = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    keys = g.acct_addr * len(g.asset_addr) + g.acct_asset      # sorted: accounts come from np.unique
    addr_index = {bytes(k): i for i, k in enumerate(g.addr_key)} if rows else {}
    kept, trig, acct, amounts = [], [], [], []
    for r in rows:
        t = int(r["tx_num"])
        trader = addr_index.get(bytes.fromhex(hex_of(r["trader"])[2:]))
        recipient = addr_index.get(bytes.fromhex(hex_of(r.get("recipient") or r["trader"])[2:]))
        s_in, s_out = _asset_id(g, r["asset_in"]), _asset_id(g, r["asset_out"])
        if trader is None or recipient is None or s_in < 0 or s_out < 0 or t >= len(g.tx_pos) - 1:
            continue
        a_in, a_out = int(r["amount_in"]), int(r["amount_out"])
        lo, hi = g.tx_pos[t], g.tx_pos[t + 1]
        c = len(kept)
        legs, got_in, got_out, out_acct = [], 0, 0, -1
        for p in range(lo, hi):
            if g.kind[p] in FEE_KINDS:
                continue
            f, d = g.frm[p], g.to[p]
            if (got_in < a_in and f >= 0 and g.acct_addr[f] == trader and g.acct_asset[f] == s_in
                    and conv_in[p] < 0):
                conv_in[p] = c
                got_in += int(g.hi[p]) << 64 | int(g.lo[p])
                legs.append(p)
            elif (got_out < a_out and d >= 0 and g.acct_addr[d] == recipient and g.acct_asset[d] == s_out
                  and conv_out[p] < 0):
                conv_out[p] = c
                out_acct = d
                got_out += int(g.hi[p]) << 64 | int(g.lo[p])
                legs.append(p)
        if out_acct < 0:
            k = recipient * len(g.asset_addr) + s_out
            i = int(np.searchsorted(keys, k))
            out_acct = i if i < len(keys) and keys[i] == k else -1
        if not legs or out_acct < 0 or a_in <= 0:
            conv_in[conv_in == c] = -1
            conv_out[conv_out == c] = -1
            continue
        kept.append(r)
        trig.append(max(legs))
        acct.append(out_acct)
        amounts.append((*split(a_in), *split(a_out)))
    # sort by trigger position, renumbering the legs
    order = np.argsort(np.array(trig, np.int64), kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    for arr in (conv_in, conv_out):
        m = arr >= 0
        arr[m] = rank[arr[m]]
    trig_a = np.array(trig, np.int64)[order]
    trig_first = np.full(n, -1, np.int64)
    for c in range(len(trig_a) - 1, -1, -1):
        trig_first[trig_a[c]] = c
    am = np.array(amounts, np.uint64).reshape(-1, 4)[order]
    return ConvLegs(conv_in, conv_out, trig_first, trig_a, np.array(acct, np.int64)[order],
                    am[:, 0].copy(), am[:, 1].copy(), am[:, 2].copy(), am[:, 3].copy(),
                    [kept[i] for i in order.tolist()], len(rows) - len(kept))

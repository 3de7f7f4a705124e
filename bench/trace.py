"""Tracing benchmark: haircut traces of 1, 3, 6 and 10 hops, ours beside a networkx implementation.

Run: .venv/bin/python bench/trace.py --store STORE [--samples 50]
     (STORE: a store ingested from a generated chain of >= 10 million transactions)

For each hop count, traces start from random spent outputs. Prints median and p95 latency,
edges touched per second (taint arithmetic included), and the same figures for a straightforward
networkx implementation (graph of the txs the traces need, haircut in Python), whose endpoint
totals are checked against ours.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import time
from pathlib import Path

import numpy as np

NONE = 0xFFFFFFFF


def nx_graph(eng, tx_set):
    """A networkx DiGraph over ``tx_set``: node = tx with its output values and spenders."""
    import networkx as nx

    g = nx.DiGraph()
    for t in tx_set:
        o0, o1 = int(eng.tx_first_out[t]), int(eng.tx_first_out[t + 1])
        a0, a1 = int(eng.tx_first_in[t]), int(eng.tx_first_in[t + 1])
        outs = []
        for o in range(o0, o1):
            s = int(eng.out_spent[o])
            nxt = None if s == NONE else int(np.searchsorted(eng.tx_first_in, s, side="right") - 1)
            outs.append((o, int(eng.out_value[o]), nxt))
        known = all(int(v) >= 0 for v in eng.in_value[a0:a1])
        vin = sum(int(v) for v in eng.in_value[a0:a1]) if known else None
        g.add_node(t, outs=outs, vin=vin, inputs=[int(p) for p in eng.in_prev[a0:a1]])
        for _, _, nxt in outs:
            if nxt is not None and nxt in tx_set:
                g.add_edge(t, nxt)
    return g


def nx_haircut(g, src_tx, src_out, amount, max_hops):
    """Forward haircut in plain Python over the networkx graph; returns (terminal taint, edges)."""
    taint = {src_out: float(amount)}
    hops = {src_out: 0}
    heap, queued = [], set()
    edges = 0
    terminal = 0.0
    node = g.nodes[src_tx]
    spender = next(nxt for o, _, nxt in node["outs"] if o == src_out)
    if spender is None or max_hops == 0:
        return float(amount), 0
    heapq.heappush(heap, spender)
    queued.add(spender)
    while heap:
        t = heapq.heappop(heap)
        nd = g.nodes[t]
        T = sum(taint.pop(p, 0.0) for p in nd["inputs"])
        hop = min(hops.get(p, 1 << 30) for p in nd["inputs"]) + 1
        edges += len(nd["inputs"]) + len(nd["outs"])
        vout = sum(v for _, v, _ in nd["outs"])
        # Same convention as the kernel: an unknown input value means the least fee the taint allows.
        vin = nd["vin"] if nd["vin"] is not None else vout + max(T - vout, 0)
        if vin <= 0:
            continue
        for o, v, nxt in nd["outs"]:
            share = T * v / vin
            if share <= 0:
                continue
            if nxt is None or hop >= max_hops or not g.has_node(nxt):
                terminal += share
            else:
                taint[o] = taint.get(o, 0.0) + share
                hops[o] = hop
                if nxt not in queued:
                    queued.add(nxt)
                    heapq.heappush(heap, nxt)
        terminal += T * (vin - vout) / vin
    return terminal + sum(taint.values()), edges


def kernel_time(eng, outputs, params) -> float:
    """Seconds the numba kernel alone takes for this trace (scratch reset afterwards, untimed)."""
    from chaintrail.analysis import taint_kernels as K

    stop, policy = eng._stop_mask(params.stop_categories), eng._policy(params.mixer_policy)
    amounts = np.asarray(eng.out_value[outputs], np.int64)
    t = time.perf_counter()
    out = K.trace_kernel(True, K.MODELS[params.model], outputs, amounts, eng.tx_first_in, eng.tx_first_out, eng.in_tx, eng.out_tx,
                         eng.in_prev, eng.in_value, eng.out_value, eng.out_spent, eng.out_addr, stop, policy,
                         eng.tx_time, eng.tx_is_cb, -(1 << 62), 1 << 62, params.max_hops, params.min_amount_sat,
                         eng.taint, eng.hops, eng.pred, eng.status, eng.qmark, eng.iv_off, eng.iv_cnt)
    dt = time.perf_counter() - t
    eng._reset(out[0], out[6])
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--nx-samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from chaintrail.analysis.tracing import TraceEngine, TraceParams
    from chaintrail.store.chainstore import ChainStore

    st = ChainStore(args.store)
    eng = TraceEngine.open(st)
    rng = np.random.default_rng(args.seed)
    spent = np.flatnonzero(np.asarray(eng.out_spent) != NONE)
    srcs = rng.choice(spent, size=min(args.samples, len(spent)), replace=False)
    eng.trace(outputs=srcs[:1], params=TraceParams(max_hops=2))  # warm the kernel
    print(f"bench/trace: {st.counts['txs']:,} txs, {st.counts['outputs']:,} outputs; {len(srcs)} sources per hop count")
    print("latency = full trace incl. endpoint table, paths and provenance; kernel = taint propagation alone")
    print(f"{'hops':>4} {'median ms':>10} {'p95 ms':>8} {'edges/trace':>12} {'kernel edges/s':>15} | "
          f"{'networkx median ms':>18} {'nx edges/s':>12} {'ours faster':>11}")
    for hops in (1, 3, 6, 10):
        lat, edges, klat = [], [], []
        for o in srcs:
            params = TraceParams(max_hops=hops, stop_categories=())
            t = time.perf_counter()
            r = eng.trace(outputs=np.array([o]), params=params)
            lat.append(time.perf_counter() - t)
            edges.append(r.totals["edges_touched"])
            klat.append(kernel_time(eng, np.array([o], np.int64), params))
        # networkx: the same traces on a graph of the txs they touch (graph build not timed).
        nlat, nedges = [], []
        for o in srcs[:args.nx_samples]:
            r = eng.trace(outputs=np.array([o]), params=TraceParams(max_hops=hops, stop_categories=()))
            txs = {int(np.searchsorted(eng.tx_first_out, int(o), side="right") - 1)}
            for s in r.steps:
                txs.add(eng.txid_to_num(s["txid"]))
            g = nx_graph(eng, txs)
            src_tx = int(np.searchsorted(eng.tx_first_out, int(o), side="right") - 1)
            t = time.perf_counter()
            total, ne = nx_haircut(g, src_tx, int(o), int(eng.out_value[o]), hops)
            nlat.append(time.perf_counter() - t)
            nedges.append(ne)
            assert abs(total - r.totals["traced_sat"]) <= max(1.0, 1e-6 * total) + r.totals["edges_touched"], (total, r.totals)
        med, p95 = statistics.median(lat), float(np.percentile(lat, 95))
        eps = sum(edges) / sum(klat)
        nmed = statistics.median(nlat)
        neps = sum(nedges) / max(sum(nlat), 1e-9)
        print(f"{hops:4d} {med * 1000:10.2f} {p95 * 1000:8.2f} {statistics.median(edges):12,.0f} {eps:14,.0f} | "
              f"{nmed * 1000:18.2f} {neps:12,.0f} {eps / max(neps, 1e-9):10.1f}x")


if __name__ == "__main__":
    main()

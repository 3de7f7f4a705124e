"""Ethereum tracing benchmark: forward haircut traces of 3, 6 and 10 hops, our kernel beside networkx.

Then kernel edges/s at 6 hops for the other models (poison, fifo, lifo, tiho; backward haircut and poison), with
no peer: the flows visited over kernel time, as above.

Run: .venv/bin/python bench/eth_trace.py --store STORE [--samples 30]
     (STORE: `chaintrail ingest eth` of a generated chain, e.g. chaintrail scenario generate --chain eth --seed 42
      --kind all --scale 1000 --out G; chaintrail scenario serve --chain eth --dir G; chaintrail ingest eth ...)

Sources are random non-fee value flows (their recipient gets the flow's amount). "kernel edges/s" counts the
flows the kernel visits (each a tainted account's out-flow, exact 128-bit haircut included) over kernel time,
best of --repeat runs. networkx: the same haircut in Python over a MultiDiGraph of accounts (edge = flow, with
its position, amount and the sender's balance before it) built from the flows the trace visits (build not
timed); its traced/unspent/fee totals are checked equal to ours, exactly.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import time
from pathlib import Path

import numpy as np


def nx_graph(g, positions):
    import networkx as nx

    G = nx.MultiDiGraph()
    for p in positions:
        G.add_edge(int(g.frm[p]), int(g.to[p]), key=int(p), amount=(int(g.hi[p]) << 64) | int(g.lo[p]),
                   bal=(int(g.bal_hi[p]) << 64) | int(g.bal_lo[p]), kind=int(g.kind[p]))
    return G


def nx_haircut(G, g, src_pos: int, fee_kinds, max_hops: int) -> tuple[int, int]:
    """Haircut in Python over the networkx graph: returns (taint left in accounts + fees + burnt, edges)."""
    amt = (int(g.hi[src_pos]) << 64) | int(g.lo[src_pos])
    T, hops = {int(g.to[src_pos]): amt}, {int(g.to[src_pos]): 0}
    heap = []

    def queue(a, after):
        if a in G:
            for _, _, p, d in G.out_edges(a, keys=True, data=True):
                if p > after:
                    heapq.heappush(heap, (p, a, d))

    queue(int(g.to[src_pos]), src_pos)
    ended, edges, seen, gas = 0, 0, set(), {}
    while heap:
        p, a, d = heapq.heappop(heap)
        if p in seen:
            continue
        seen.add(p)
        edges += 1
        x, b = d["amount"], d["bal"]
        if p in gas:                       # more of a transaction's gas: its share of the gas's taint
            left, rest = gas.pop(p)
            t = left if x == rest else x * left // rest
            if x != rest:
                gas[p + 1] = (left - t, rest - x)
        else:
            total, q = x, p                # a transaction's gas (tip, base fee, blob fee) is one movement
            while d["kind"] in fee_kinds and g.fee_next[q]:
                q += 1
                total += (int(g.hi[q]) << 64) | int(g.lo[q])
            b = 0 if b >= 1 << 127 else b
            b = max(b, total, T[a])
            t = total * T[a] // b if b else 0
            if q > p:
                share = x * t // total
                gas[p + 1] = (t - share, total - x)
                t = share
        T[a] -= t
        if not t:
            continue
        to = int(g.to[p])
        if d["kind"] in fee_kinds or to < 0:
            ended += t
            continue
        if to not in T:
            T[to], hops[to] = 0, hops[a] + 1
            if hops[to] <= max_hops:
                queue(to, p)
        T[to] += t
    return ended + sum(T.values()), edges


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--nx-samples", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from chaintrail.analysis.eth.flowgraph import FEE_KINDS
    from chaintrail.analysis.eth.trace import EthTraceParams, EthTracer
    from chaintrail.analysis.eth.u128 import join
    from chaintrail.store.chainstore import ChainStore

    st = ChainStore(args.store)
    t = time.perf_counter()
    tr = EthTracer(st)
    t_open = time.perf_counter() - t
    g = tr.g
    rng = np.random.default_rng(args.seed)
    ok = np.flatnonzero(~np.isin(g.kind, FEE_KINDS) & (g.to >= 0))
    srcs = rng.choice(ok, size=min(args.samples, len(ok)), replace=False)
    print(f"bench/eth_trace: {st.counts['eth_transactions']:,} txs, {g.n_pos:,} value flows, {g.n_acct:,} accounts "
          f"(graph open {t_open:.1f} s)")
    print(f"{'hops':>4} {'median ms':>10} {'flows/trace':>12} {'kernel edges/s':>15} | {'nx median ms':>12} "
          f"{'nx edges/s':>11} {'ours faster':>11}")
    for hops in (3, 6, 10):
        params = EthTraceParams(max_hops=hops, stop_categories=(), mixer_policy="haircut")   # the peer passes pools
        amt = lambda p: [join(g.hi[p], g.lo[p])]  # noqa: E731
        kt, edges = _time_kernel(tr, srcs, amt, params, args.repeat)
        nlat, nedges, kl = [], [], []
        for k, p in enumerate(srcs[:args.nx_samples]):
            final, out = tr.run(np.array([p]), amt(p), np.zeros(0, np.int64), params)
            visited = np.unique(np.concatenate([out[1], [p]]))   # taint edges' positions
            # the graph of every out-flow of every account the trace touched
            accts = final[0]
            pos = np.concatenate([g.out_pos[g.out_ptr[a]:g.out_ptr[a + 1]] for a in accts] + [visited])
            G = nx_graph(g, np.unique(pos))
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                total, ne = nx_haircut(G, g, int(p), set(FEE_KINDS), hops)
                best = min(best, time.perf_counter() - t)
            ours = join(g.hi[p], g.lo[p])
            assert total == ours, (total, ours)
            nlat.append(best)
            nedges.append(ne)
            kl.append(kt[k])
        eps = sum(edges) / sum(kt)
        print(f"{hops:4d} {statistics.median(kt) * 1000:10.3f} {statistics.median(edges):12,.0f} {eps:15,.0f} | "
              f"{statistics.median(nlat) * 1000:12.2f} {sum(nedges) / max(sum(nlat), 1e-9):11,.0f} "
              f"{sum(nlat) / max(sum(kl), 1e-9):10.1f}x")

    # the other models (no peer): kernel edges/s at 6 hops, forward, and backward from the same flows
    print(f"{'model':>16} {'median ms':>10} {'flows/trace':>12} {'kernel edges/s':>15}")
    for direction, model in (("forward", "poison"), ("forward", "fifo"), ("forward", "lifo"), ("forward", "tiho"),
                             ("backward", "haircut"), ("backward", "poison")):
        params = EthTraceParams(direction=direction, model=model, max_hops=6, stop_categories=(),
                                mixer_policy="haircut")
        kt, edges = _time_kernel(tr, srcs, amt, params, args.repeat)
        print(f"{direction[:4] + ' ' + model:>16} {statistics.median(kt) * 1000:10.3f} {statistics.median(edges):12,.0f} "
              f"{sum(edges) / sum(kt):15,.0f}")


def _time_kernel(tr, srcs, amt, params, repeat: int) -> tuple[list[float], list[int]]:
    """Best-of-``repeat`` seconds and flows visited per source (after one run that compiles and warms)."""
    tr.run(np.array([srcs[0]]), amt(srcs[0]), np.zeros(0, np.int64), params)
    kt, edges = [], []
    for p in srcs:
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            _, out = tr.run(np.array([p]), amt(p), np.zeros(0, np.int64), params)
            best = min(best, time.perf_counter() - t)
        kt.append(best)
        edges.append(int(out[9]))            # flows visited
    return kt, edges


if __name__ == "__main__":
    main()

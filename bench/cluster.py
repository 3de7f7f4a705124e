"""Clustering benchmark: our union-find beside scipy and networkx on the same edges.

Run: .venv/bin/python bench/cluster.py --store STORE   (a store ingested from a generated chain,
     e.g. `chaintrail scenario generate --seed 1 --scale 1000 --out /tmp/g && chaintrail ingest btc --blocks-dir /tmp/g --store STORE`,
     about 1M txs)

Prints, from one run on one store:
  * multi-input union-find over every input: inputs/s (ours), scipy connected_components (+ building
    its sparse matrix) and networkx connected_components on the same edge list (networkx on a prefix
    when the full graph would not fit in time; the prefix size is printed);
  * the same pass with set sizes kept and the large-merge guard on (what `chaintrail cluster` runs);
  * the same runs' ratios in CPU time of the one thread both engines run on (steadier than wall time on a
    loaded machine);
  * each engine's peak memory (what it allocates, traced in a run of its own; the store's arrays and
    scipy's prepared edge list are inputs, not counted), and the median of --repeat interleaved runs.
What each timing holds: ours reads the store's own arrays (tx_first_in, in_addr) and ends with one
label per address; scipy is handed the edge list ready-made (building it from the same arrays is
left out of its time, in its favour), and its time holds the COO -> CSR build and the components.
  * the incremental update for one new block (fold in its txs, save the state), median over blocks.
All three engines must agree on the partition; the benchmark checks it on the common edges.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np


def edges_of(tx_first_in, in_addr, skip):
    """(hub, other) star edges of every multi-input tx; the hub is its first input with an address."""
    n_tx = len(tx_first_in) - 1
    counts = np.diff(tx_first_in.astype(np.int64))
    in_tx = np.repeat(np.arange(n_tx), counts)
    valid = in_addr != 0xFFFFFFFF
    pos = np.where(valid, np.arange(len(in_addr)), len(in_addr))
    has = counts > 0
    hub_pos = np.full(n_tx, len(in_addr))
    hub_pos[has] = np.minimum.reduceat(pos, tx_first_in[:-1][has].astype(np.int64))
    hub = hub_pos[in_tx]
    ok = (~skip[in_tx]) & valid & (hub < len(in_addr)) & (np.arange(len(in_addr)) != hub)
    return in_addr[hub[ok]].astype(np.int64), in_addr[ok].astype(np.int64)


def peak_mb(fn) -> float:
    """Peak MB that ``fn`` allocates through numpy and Python (tracemalloc), measured in a run of its own."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def timed(fn):
    """(result, wall seconds, CPU seconds of this thread): both engines run on this one thread, so CPU time
    is what the machine's load does not inflate (a run preempted by another process only loses wall time)."""
    t, c = time.perf_counter(), time.thread_time()
    out = fn()
    return out, time.perf_counter() - t, time.thread_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--networkx-edges", type=int, default=2_000_000, help="edge prefix for networkx")
    args = ap.parse_args()

    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    import networkx as nx

    from chaintrail.analysis import union_find as uf
    from chaintrail.analysis.clustering import ClusterParams, ClusterState, update_clusters
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.analysis.tx_labels import label_transactions
    from chaintrail.store.chainstore import ChainStore

    st = ChainStore(args.store, writable=True)
    c = st.counts
    label_transactions(st)
    skip = mixer_tx_mask(st)
    tx_first_in = np.empty(c["txs"] + 1, np.uint32)
    tx_first_in[:-1] = st.column("tx_first_in")
    tx_first_in[-1] = c["inputs"]
    in_addr = np.asarray(st.column("in_addr"))
    n_addr = c["addresses"]
    events = np.zeros((16, 5), np.int64)

    def ours():
        # Same job as the peers: components only (no supercluster guard, so no set sizes kept).
        parent = np.arange(n_addr, dtype=np.uint32)
        uf.union_tx_inputs(parent, np.zeros(0, np.uint32), tx_first_in, in_addr, 0, c["txs"], skip, -1, events)
        return uf.flatten(parent)   # labels, in place

    guard_events = np.zeros((4096, 5), np.int64)

    def ours_guarded():
        # What `chaintrail cluster` runs: set sizes kept, merges of two sets of --big or more recorded.
        parent, size = uf.fresh(n_addr)
        uf.union_tx_inputs(parent, size, tx_first_in, in_addr, 0, c["txs"], skip, ClusterParams().big, guard_events)
        return uf.flatten(parent)

    a, b = edges_of(tx_first_in, in_addr, skip)

    def scipy_cc():
        m = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n_addr, n_addr)).tocsr()
        return connected_components(m, directed=False)[1]

    ours()  # compile / warm
    ours_guarded()
    scipy_cc()
    m_ours, m_sp, m_guard = peak_mb(ours), peak_mb(scipy_cc), peak_mb(ours_guarded)
    t_ours, t_sp, ratios, c_ours, c_sp, c_ratios, t_guard, c_guard = [], [], [], [], [], [], [], []
    for _ in range(args.repeat):   # interleaved, so both see the same machine load
        lab, dt_o, ct_o = timed(ours)
        sp, dt_s, ct_s = timed(scipy_cc)
        lab_g, dt_g, ct_g = timed(ours_guarded)
        t_ours.append(dt_o)
        t_sp.append(dt_s)
        ratios.append(dt_s / dt_o)
        c_ours.append(ct_o)
        c_sp.append(ct_s)
        c_ratios.append(ct_s / ct_o)
        t_guard.append(dt_g)
        c_guard.append(ct_g)
    assert np.array_equal(lab, lab_g), "the guarded pass found other entities"
    # Same partition: map each scipy component to its minimum address and compare with our labels.
    comp_min = np.full(sp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(comp_min, sp, np.arange(n_addr))
    assert np.array_equal(comp_min[sp], lab.astype(np.int64)), "scipy and union-find disagree"

    k = min(args.networkx_edges, len(a))
    t = time.perf_counter()
    g = nx.Graph()
    g.add_nodes_from(range(int(max(a[:k].max(initial=0), b[:k].max(initial=0))) + 1))
    g.add_edges_from(zip(a[:k].tolist(), b[:k].tolist()))
    ncomp = sum(1 for _ in nx.connected_components(g))
    t_nx = time.perf_counter() - t
    del g

    # Incremental: fold in the last blocks one at a time from a saved state.
    blk_first = np.asarray(st.column("blk_first_tx"), np.int64)
    params = ClusterParams()
    upd = []
    last = min(20, len(blk_first) - 1)
    full_skip = skip.copy()
    for i in range(last, 0, -1):
        upto = int(blk_first[len(blk_first) - i])
        # Build state up to `upto` (not timed), then time folding in the next block.
        cut = full_skip.copy()
        state = ClusterState(st, params, cut)
        state.parent, state.size = uf.grow(*uf.fresh(0), n_addr)
        uf.union_tx_inputs(state.parent, state.size, tx_first_in, in_addr, 0, upto, skip, -1, events)
        state.txs_done = upto
        state.mapped = False    # these new arrays are the state: written out whole, not the last run's mapped files
        state.save(st, cut)
        t = time.perf_counter()
        update_clusters(st, full_skip, params, write_table=False)
        upd.append(time.perf_counter() - t)

    n_in = c["inputs"]
    mo, ms = statistics.median(t_ours), statistics.median(t_sp)
    e = len(a)

    print(f"bench/cluster: {c['txs']:,} txs, {n_in:,} inputs, {n_addr:,} addresses, {e:,} multi-input edges")
    print(f"{'engine':42} {'edges':>12} {'seconds':>9} {'edges/s':>14} {'ours faster':>12} {'peak MB':>8}")
    print(f"{'chaintrail union-find (numba)':42} {e:12,} {mo:9.3f} {e / mo:14,.0f} {'':>12} {m_ours:8.1f}   "
          f"= {n_in / mo:,.0f} inputs/s")
    mg = statistics.median(t_guard)
    print(f"{'  the same with set sizes + large-merge guard':42} {e:12,} {mg:9.3f} {e / mg:14,.0f} {ms / mg:11.1f}x "
          f"{m_guard:8.1f}   (what `chaintrail cluster` runs)")
    print(f"{'scipy connected_components (+csr build)':42} {e:12,} {ms:9.3f} {e / ms:14,.0f} {ms / mo:11.1f}x "
          f"{m_sp:8.1f}")
    print(f"{'networkx connected_components':42} {k:12,} {t_nx:9.3f} {k / t_nx:14,.0f} "
          f"{(t_nx / k) / (mo / e):11.1f}x")
    print(f"ours vs scipy per interleaved run: {', '.join(f'{r:.1f}x' for r in ratios)} "
          f"(median {statistics.median(ratios):.1f}x over {len(ratios)} runs); labels identical")
    print(f"same runs in CPU time (this thread): {', '.join(f'{r:.1f}x' for r in c_ratios)} "
          f"(median {statistics.median(c_ratios):.1f}x; ours {statistics.median(c_ours) * 1000:.1f} ms, "
          f"scipy {statistics.median(c_sp) * 1000:.1f} ms)")
    g_ratios = [s_ / g_ for s_, g_ in zip(c_sp, c_guard)]
    print(f"guarded pass vs scipy in CPU time: median {statistics.median(g_ratios):.1f}x (min {min(g_ratios):.1f}x; "
          f"{statistics.median(c_guard) * 1000:.1f} ms)")
    print(f"incremental update per block (fold in + save state): median {statistics.median(upd) * 1000:.1f} ms, "
          f"max {max(upd) * 1000:.1f} ms over {len(upd)} blocks")


if __name__ == "__main__":
    main()

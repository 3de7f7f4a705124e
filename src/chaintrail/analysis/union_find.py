"""Union-find over address ids, compiled with numba.

Roots are always the smallest address id of their set (link the larger root
under the smaller), so a cluster's id is its minimum ``addr_num``: canonical,
independent of processing order, and what the Spark engine computes too.
Path halving keeps finds short without recursion. Every parent is at most its
child (``parent[x] <= x``), so one ascending pass flattens the forest into labels.

What the time goes on (1M-tx generated chain, 2M addresses): the random reads of
``parent`` (8 MB, past the L2 cache) and mispredicted branches at tx boundaries.
So the input kernel first lists, branch-free, the txs with two or more inputs (most
txs have one and never touch ``parent``), links by min/max (no branch on which root
is smaller), and prefetches the parent (and size) entry of the address a few inputs
ahead; the flatten pass is branch-free and prefetches the parent of the element a
few places ahead. Tried and not kept (no gain or slower, in CPU time): building a
flat edge list per batch first, 2-input txs in a list of their own, Rem's splicing,
parent and size interleaved in one array, a branch-free size update.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.store.prefetch import prefetch

NONE = np.uint32(0xFFFFFFFF)
_AHEAD = 32       # inputs to prefetch ahead (measured: 16-64 are alike)
_FLAT_AHEAD = 64  # elements to prefetch ahead in flatten (16: no gain; 64: 2.1 -> 1.8 ms on 2M)
_TX_BATCH = 8192  # txs scanned per batch when listing the multi-input ones (list stays in L1/L2)


@nb.njit(cache=True, inline="always")
def find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@nb.njit(cache=True)
def union_tx_inputs(parent, size, tx_first_in, in_addr, tx_lo, tx_hi, skip, big, events):
    """Merge the input addresses of every tx in [tx_lo, tx_hi) not flagged in ``skip``.

    ``tx_first_in`` has one trailing sentinel. When a merge joins two sets that
    both hold at least ``big`` addresses, the merge is recorded in ``events`` as
    (tx, root_a, size_a, root_b, size_b); with ``big`` < 0 nothing is recorded
    and ``size`` may be empty (set sizes are then not kept).
    Returns (inputs visited, merges done, events recorded).
    """
    merges = 0
    ne = 0
    sized = size.shape[0] > 0
    guard = sized and big >= 0
    n_in = in_addr.shape[0]
    n_par = parent.shape[0]
    multi = np.empty(_TX_BATCH, np.int64)
    for b0 in range(tx_lo, tx_hi, _TX_BATCH):
        # The txs worth a look, without a branch per tx: 3 in 4 have one input.
        k = 0
        for t in range(b0, min(b0 + _TX_BATCH, tx_hi)):
            multi[k] = t
            k += (np.int64(tx_first_in[t + 1]) - np.int64(tx_first_in[t]) >= 2) & (not skip[t])
        for j in range(k):
            t = multi[j]
            ra = NONE   # the running root of the tx's set: the first input is not found again for each input
            for i in range(np.int64(tx_first_in[t]), np.int64(tx_first_in[t + 1])):
                if i + _AHEAD < n_in:
                    q = in_addr[i + _AHEAD]
                    if q < n_par:
                        prefetch(parent, np.int64(q))
                        if sized:
                            prefetch(size, np.int64(q))
                a = in_addr[i]
                if a == NONE:
                    continue
                rb = find(parent, a)
                r0 = rb if ra == NONE else ra
                lo = min(r0, rb)
                hi = max(r0, rb)
                if sized and r0 != rb:
                    if guard and size[r0] >= big and size[rb] >= big and ne < events.shape[0]:
                        events[ne, 0] = t
                        events[ne, 1] = r0
                        events[ne, 2] = size[r0]
                        events[ne, 3] = rb
                        events[ne, 4] = size[rb]
                        ne += 1
                    size[lo] += size[hi]
                parent[hi] = lo     # a no-op when r0 == rb: no branch on it
                merges += r0 != rb
                ra = lo
    visited = np.int64(tx_first_in[tx_hi]) - np.int64(tx_first_in[tx_lo]) if tx_hi > tx_lo else np.int64(0)
    return visited, merges, ne


@nb.njit(cache=True)
def union_pairs(parent, size, a, b):
    """Merge each pair (a[i], b[i]); used for change-address links."""
    merges = 0
    for i in range(a.shape[0]):
        ra = find(parent, a[i])
        rb = find(parent, b[i])
        if ra == rb:
            continue
        if ra < rb:
            parent[rb] = ra
            size[ra] += size[rb]
        else:
            parent[ra] = rb
            size[rb] += size[ra]
        merges += 1
    return merges


@nb.njit(cache=True)
def roots(parent):
    """The root (cluster id) of every element, as a new array."""
    return flatten(parent.copy())


@nb.njit(cache=True)
def flatten(parent):
    """Point every element straight at its root, in place, and return ``parent`` (now the labels).

    Ascending order sees a parent's root before its children's, so one pass of
    ``parent[x] = parent[parent[x]]`` does it, with no branch (a root maps to itself).
    If some parent lies above its child (never made here) that pass only shortens
    paths, and a second pass resolves every element by a find.
    """
    n = parent.shape[0]
    above = False
    for x in range(n):
        if x + _FLAT_AHEAD < n:
            prefetch(parent, np.int64(parent[x + _FLAT_AHEAD]))
        p = parent[x]
        above |= p > x
        parent[x] = parent[p]
    if above:
        for x in range(n):
            parent[x] = find(parent, x)
    return parent


def fresh(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Parent and size arrays for ``n`` singleton sets."""
    return np.arange(n, dtype=np.uint32), np.ones(n, np.uint32)


def grow(parent: np.ndarray, size: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Extend both arrays to ``n`` elements with new singletons."""
    old = parent.shape[0]
    if n <= old:
        return parent, size
    p2 = np.empty(n, np.uint32)
    p2[:old] = parent
    p2[old:] = np.arange(old, n, dtype=np.uint32)
    s2 = np.ones(n, np.uint32)
    s2[:old] = size
    return p2, s2

"""Union-find over address ids, compiled with numba.

Roots are always the smallest address id of their set (link the larger root
under the smaller), so a cluster's id is its minimum ``addr_num``: canonical,
independent of processing order, and what the Spark engine computes too.
Path halving keeps finds short without recursion. Every parent is at most its
child (``parent[x] <= x``), so one ascending pass flattens the forest into labels.
The input loop prefetches the parent entry of the address a few inputs ahead: on
a large chain ``parent`` outgrows the caches and most finds start with a miss.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.store.prefetch import prefetch

NONE = np.uint32(0xFFFFFFFF)
_AHEAD = 32   # inputs to prefetch ahead (measured: 16-64 are alike)


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
    visited = 0
    merges = 0
    ne = 0
    sized = size.shape[0] > 0
    n_in = in_addr.shape[0]
    n_par = parent.shape[0]
    for t in range(tx_lo, tx_hi):
        a0 = tx_first_in[t]
        a1 = tx_first_in[t + 1]
        visited += a1 - a0
        if skip[t] or a1 - a0 < 2:
            continue
        # Keep the running root of the tx's set instead of finding the first input again each time.
        ra = NONE
        for i in range(a0, a1):
            if i + _AHEAD < n_in:
                q = in_addr[i + _AHEAD]
                if q < n_par:
                    prefetch(parent, q)
            a = in_addr[i]
            if a == NONE:
                continue
            if ra == NONE:
                ra = find(parent, a)
                continue
            rb = find(parent, a)
            if ra == rb:
                continue
            if big >= 0 and size[ra] >= big and size[rb] >= big and ne < events.shape[0]:
                events[ne, 0] = t
                events[ne, 1] = ra
                events[ne, 2] = size[ra]
                events[ne, 3] = rb
                events[ne, 4] = size[rb]
                ne += 1
            if ra < rb:
                parent[rb] = ra
                if sized:
                    size[ra] += size[rb]
            else:
                parent[ra] = rb
                if sized:
                    size[rb] += size[ra]
                ra = rb
            merges += 1
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

    Ascending order sees a parent's root before its children's, so one pass does it; an
    element whose parent is above it (never made here) is resolved by a find.
    """
    for x in range(parent.shape[0]):
        p = parent[x]
        if p < x:
            parent[x] = parent[p]
        elif p > x:
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

"""Union-find kernels against scipy's connected components and a plain reference, on random graphs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from chaintrail.analysis import union_find as uf


def min_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each node's component labelled by its smallest member, through scipy (independent of the code)."""
    comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)[1]
    low = np.full(comp.max() + 1, n)
    np.minimum.at(low, comp, np.arange(n))
    return low[comp]


@pytest.mark.parametrize("seed", range(6))
def test_tx_inputs_and_flatten_equal_scipy(seed: int):
    rng = np.random.default_rng(seed)
    n_addr, n_tx = 3000, 2500
    counts = rng.choice([0, 1, 1, 2, 3, 5, 40], n_tx)
    tx_first_in = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint32)
    in_addr = rng.integers(0, n_addr, int(counts.sum())).astype(np.uint32)
    in_addr[rng.random(len(in_addr)) < 0.1] = uf.NONE          # inputs without an address
    skip = rng.random(n_tx) < 0.05
    parent = np.arange(n_addr, dtype=np.uint32)
    uf.union_tx_inputs(parent, np.zeros(0, np.uint32), tx_first_in, in_addr, 0, n_tx, skip, -1,
                       np.zeros((1, 5), np.int64))
    assert (parent <= np.arange(n_addr)).all()                   # the invariant flatten relies on
    labels = uf.roots(parent)
    # Reference edges: every addressed input of a kept tx joined to the tx's first addressed input.
    a, b = [], []
    for t in np.flatnonzero(~skip):
        addrs = [x for x in in_addr[tx_first_in[t]:tx_first_in[t + 1]] if x != uf.NONE]
        a += addrs[:1] * max(len(addrs) - 1, 0)
        b += addrs[1:]
    want = min_labels(n_addr, np.array(a, np.int64), np.array(b, np.int64))
    assert np.array_equal(labels, want)
    assert np.array_equal(uf.flatten(parent.copy()), want)


def test_flatten_resolves_a_parent_above_its_child():
    # 0 <- 3 <- 1 (1's parent is above it), 2 alone, 5 <- 4 <- ... roots are not always the minimum here.
    parent = np.array([0, 3, 2, 0, 5, 5], np.uint32)
    assert uf.flatten(parent.copy()).tolist() == [0, 0, 2, 0, 5, 5]
    assert uf.roots(parent).tolist() == [0, 0, 2, 0, 5, 5]
    assert parent.tolist() == [0, 3, 2, 0, 5, 5]                 # roots() leaves its argument alone


def reference_sized(n_addr, tx_first_in, in_addr, skip, big):
    """Plain-Python union-find with the kernel's rules: a tx's running root, the larger root linked under the
    smaller, a merge of two sets of at least ``big`` recorded as (tx, root_a, size_a, root_b, size_b)."""
    parent, size, events, merges = list(range(n_addr)), [1] * n_addr, [], 0

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for t in range(len(tx_first_in) - 1):
        if skip[t]:
            continue
        ra = None
        for a in in_addr[tx_first_in[t]:tx_first_in[t + 1]].tolist():
            if a == uf.NONE:
                continue
            rb = root(a)
            if ra is None or ra == rb:
                ra = rb
                continue
            if size[ra] >= big and size[rb] >= big:
                events.append((t, ra, size[ra], rb, size[rb]))
            lo, hi = min(ra, rb), max(ra, rb)
            parent[hi], size[lo] = lo, size[lo] + size[hi]
            ra, merges = lo, merges + 1
    return parent, size, events, merges


@pytest.mark.parametrize("seed", range(4))
def test_sized_union_keeps_set_sizes_and_records_large_merges(seed: int):
    rng = np.random.default_rng(100 + seed)
    n_addr, n_tx = 4000, 6000
    counts = rng.choice([0, 1, 1, 1, 2, 2, 3, 7, 30], n_tx)
    tx_first_in = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint32)
    in_addr = rng.integers(0, n_addr, int(counts.sum())).astype(np.uint32)
    in_addr[rng.random(len(in_addr)) < 0.05] = uf.NONE
    skip = rng.random(n_tx) < 0.05
    parent, size = uf.fresh(n_addr)
    events = np.zeros((10_000, 5), np.int64)
    visited, merges, ne = uf.union_tx_inputs(parent, size, tx_first_in, in_addr, 0, n_tx, skip, 20, events)
    ref_parent, ref_size, ref_events, ref_merges = reference_sized(n_addr, tx_first_in, in_addr, skip, 20)
    assert visited == len(in_addr)
    assert merges == ref_merges
    assert 0 < ne == len(ref_events)
    assert [tuple(e) for e in events[:ne].tolist()] == ref_events
    labels = uf.roots(parent)
    assert np.array_equal(labels, uf.roots(np.array(ref_parent, np.uint32)))
    roots_ = np.flatnonzero(labels == np.arange(n_addr))
    assert np.array_equal(size[roots_], np.bincount(labels, minlength=n_addr)[roots_])
    assert np.array_equal(size[roots_], np.array(ref_size)[roots_])


def test_tx_range_in_chunks_equals_one_pass():
    rng = np.random.default_rng(7)
    n_addr, n_tx = 5000, 40_000
    counts = rng.choice([0, 1, 1, 2, 4], n_tx)
    tx_first_in = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint32)
    in_addr = rng.integers(0, n_addr, int(counts.sum())).astype(np.uint32)
    skip = np.zeros(n_tx, np.bool_)
    ev = np.zeros((1, 5), np.int64)
    one = np.arange(n_addr, dtype=np.uint32)
    uf.union_tx_inputs(one, np.zeros(0, np.uint32), tx_first_in, in_addr, 0, n_tx, skip, -1, ev)
    parts = np.arange(n_addr, dtype=np.uint32)
    visited = 0
    for lo in range(0, n_tx, 9_999):     # chunks that do not line up with the kernel's own tx batches
        visited += uf.union_tx_inputs(parts, np.zeros(0, np.uint32), tx_first_in, in_addr, lo, min(lo + 9_999, n_tx),
                                      skip, -1, ev)[0]
    assert visited == len(in_addr)
    assert np.array_equal(uf.roots(one), uf.roots(parts))
    assert uf.union_tx_inputs(parts, np.zeros(0, np.uint32), tx_first_in, in_addr, 5, 5, skip, -1, ev)[0] == 0

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

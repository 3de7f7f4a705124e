"""csr: the counting-sort grouping equals a stable argsort's, skips the marked rows, names bad keys."""

from __future__ import annotations

import numpy as np
import pytest

from chaintrail.store.csr import csr

NONE = 0xFFFFFFFF


@pytest.mark.parametrize("n,m", [(0, 0), (0, 5), (10, 3), (20_000, 700)])
def test_matches_stable_argsort(n, m):
    rng = np.random.default_rng(n + m)
    keys = rng.integers(0, max(m, 1), n).astype(np.uint32)
    keys[rng.random(n) < 0.1] = NONE
    order, ptr = csr(keys, m, skip=NONE)
    rows = np.flatnonzero(keys != NONE)
    assert order.tolist() == rows[np.argsort(keys[rows], kind="stable")].tolist()
    assert ptr.tolist() == [0] + np.cumsum(np.bincount(keys[rows].astype(np.int64), minlength=m)).tolist()
    for k in range(m):
        assert (keys[order[ptr[k]:ptr[k + 1]]] == k).all()


def test_key_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"row 1 has key 7, outside \[0, 5\)"):
        csr(np.array([1, 7, 2], np.int64), 5)

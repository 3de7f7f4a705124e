"""Spending links patched in place: dense patches (every page mapped at once) and sparse ones agree with numpy."""

import numpy as np
import pytest

from chaintrail.store import index as ix


@pytest.mark.parametrize("n_patches", [3, 40_000])   # sparse: a few pages faulted; dense: MAP_POPULATE
def test_patches_land_where_numpy_puts_them(tmp_path, n_patches):
    n = 100_000
    rng = np.random.default_rng(n_patches)
    base = rng.integers(0, 2**32 - 1, n, dtype=np.uint32)
    ix.append_columns(tmp_path, {"out_spent": base}, {"outputs": 0})
    pos = rng.choice(n, n_patches, replace=False).astype(np.int64)
    vals = rng.integers(0, 2**31, n_patches).astype(np.uint32)
    ix.patch_out_spent(tmp_path, pos, vals, n)
    want = base.copy()
    want[pos] = vals
    assert (np.fromfile(tmp_path / "out_spent.bin", np.uint32) == want).all()


def test_patch_past_the_committed_rows_fails_and_writes_nothing(tmp_path):
    base = np.arange(5000, dtype=np.uint32)
    ix.append_columns(tmp_path, {"out_spent": base}, {"outputs": 0})
    with pytest.raises(IndexError):
        ix.patch_out_spent(tmp_path, np.array([1, 4000], np.int64), np.array([7, 7], np.uint32), 3000)
    assert (np.fromfile(tmp_path / "out_spent.bin", np.uint32) == base).all()

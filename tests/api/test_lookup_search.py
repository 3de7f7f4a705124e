"""Lookups search the read model's narrow sorted arrays without copying them (issue 24 part 4: lookup p99).

numpy's searchsorted casts a uint32 array to int64 when the value searched is a Python int or an int64: a
copy of the whole array per search (3.7 ms on 1.3M rows), which made every lookup grow with the chain.
"""

from __future__ import annotations

import bisect

import numpy as np
import pytest

from chaintrail.api import present
from chaintrail.api.workbench import Workbench
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.sorted_search import searchsorted


@pytest.fixture(scope="module")
def store(tmp_path_factory, btc_data):
    path = tmp_path_factory.mktemp("lookups") / "store"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
    return path


@pytest.mark.parametrize("dtype", [np.uint32, np.uint16, np.int32, np.int64])
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_equals_numpy(dtype, side):
    info = np.iinfo(dtype)
    arr = np.unique(np.random.default_rng(3).integers(max(info.min, -5000), min(info.max, 60000), 500)).astype(dtype)
    arr = np.concatenate([[info.min], arr, [info.max]]).astype(dtype)
    values = [-(2**40), -1, 0, 1, int(arr[7]), int(arr[7]) + 1, int(info.max), int(info.max) + 1, 2**40]
    find = bisect.bisect_left if side == "left" else bisect.bisect_right
    for v in values:
        assert searchsorted(arr, v, side) == find(arr.tolist(), v), (v, side)
    in64 = [x for x in values if -(2**63) <= x < 2**63]
    assert searchsorted(arr, np.array(in64, np.int64), side).tolist() == [find(arr.tolist(), x) for x in in64]


def test_searchsorted_does_not_copy_the_array():
    import tracemalloc

    arr = np.arange(0, 3_000_000, 2, dtype=np.uint32)          # 6 MB; an int64 copy would be 12 MB
    tracemalloc.start()
    try:
        got = [searchsorted(arr, 1_000_001), searchsorted(arr, np.arange(5, 50, dtype=np.int64), "right")]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got[0] == 500_001 and got[1].tolist() == [(v + 2) // 2 for v in range(5, 50)]
    assert peak < 1 << 20


def test_lookups_never_make_numpy_convert_a_sorted_array(store, monkeypatch):
    """Every search a lookup, an address's txs, a tx or an entity page makes is in the sorted array's dtype."""
    wb = Workbench(store)
    v = wb.view
    real = np.searchsorted
    converted: list[tuple] = []

    def guarded(a, values, side="left", sorter=None):
        a_dt, v_dt = np.asarray(a).dtype, np.asarray(values).dtype
        if a_dt.kind in "ui" and v_dt.kind in "ui" and v_dt != a_dt and len(a) > 1:
            converted.append((a_dt, v_dt))
        return real(a, values, side=side, sorter=sorter)

    monkeypatch.setattr(np, "searchsorted", guarded)
    out_addr = np.asarray(v.out_addr)
    addrs = np.unique(out_addr[out_addr != 0xFFFFFFFF])[::97]
    for a in addrs.tolist():
        name = v.address(a)
        n = present.resolve_address(wb, name)
        assert n == a
        s = present.address_summary(wb, n)
        assert s["n_outputs"] == int((out_addr == a).sum())
        page = present.address_txs(wb, n, 0, 5, False)
        for item in page["items"][:2]:
            t = present.resolve_tx(wb, item["txid"])
            assert present.transaction(wb, t, 0, 10)["txid"] == item["txid"]
        present.entity(wb, v.cluster_of(n))
        present.members_page(wb, v.cluster_of(n), 0, 10, "id")
    assert not converted, converted[:5]
    wb.close()

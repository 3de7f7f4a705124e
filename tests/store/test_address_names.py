"""AddressNames: lazy, part-by-part address lookup agrees with the whole address table."""

from __future__ import annotations

import numpy as np
import pytest

from chaintrail.errors import StoreError
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.address_names import AddressNames
from chaintrail.store.chainstore import ChainStore


@pytest.fixture(scope="module")
def store(tmp_path_factory, btc_data):
    path = tmp_path_factory.mktemp("names") / "store"
    # Small batches: the address table is spread over many parts, as on a big chain.
    with BtcIngest(path, batch_bytes=20_000) as job:
        job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
    with ChainStore(path) as st:
        yield st


def test_lookup_matches_the_whole_table(store):
    assert len(store.part_paths("addresses")) >= 5
    t = store.read_table("addresses", ["addr_num", "address"])
    whole = dict(zip(t["addr_num"].to_pylist(), t["address"].to_pylist()))
    names = AddressNames(store)
    assert len(names) == len(whole) == store.counts["addresses"]
    rng = np.random.default_rng(3)
    few = rng.integers(0, len(whole), 20)
    many = np.concatenate([rng.integers(0, len(whole), 500), [-1, 0, len(whole) - 1, -1]])
    for ids in (few, many, np.array([-1, -1]), np.zeros(0, np.int64)):
        assert names(ids) == [whole.get(i) for i in ids.tolist()]
    # Only the parts asked for were read; load_all reads the rest.
    fresh = AddressNames(store)
    fresh([0])
    assert list(fresh._parts) == [0]
    fresh.load_all()
    assert len(fresh._parts) == len(store.part_paths("addresses"))
    assert fresh(many) == [whole.get(i) for i in many.tolist()]


def test_unknown_id_is_named(store):
    names = AddressNames(store)
    with pytest.raises(StoreError, match=f"address id {len(names)} is not in the store"):
        names([3, len(names)])


def test_parts_out_of_id_order_fall_back_to_the_whole_table(store):
    t = store.read_table("addresses", ["addr_num", "address"])
    whole = dict(zip(t["addr_num"].to_pylist(), t["address"].to_pylist()))
    names = AddressNames(store)
    # As if the manifest listed the first two parts the other way round.
    names._paths[0], names._paths[1] = names._paths[1], names._paths[0]
    rows = np.diff(names._start)
    rows[0], rows[1] = rows[1], rows[0]
    names._start = np.concatenate([[0], np.cumsum(rows)])
    ids = np.arange(len(whole))
    assert names(ids) == [whole[i] for i in ids.tolist()]
    assert names._is_whole

"""The workbench's tags open in O(tags) (issue 24 part 4): tagged addresses found through the read model, no
per-address array, the same answers as a dense reference built from the whole addresses table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chaintrail.api.workbench import Workbench
from chaintrail.store.chainstore import ChainStore
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.tagstore import TagStore


def dense_reference(store: ChainStore, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(slot, category bits) of every addr_num, from the whole addresses table (the old start-up)."""
    idx = TagStore(store.path).index
    n = len(labels)
    table = store.read_table("addresses", ["addr_num", "address"])
    nums = table["addr_num"].to_numpy()
    slots = idx.slots(table["address"])
    slot = np.full(n, -1, np.int64)
    slot[nums] = slots
    direct = np.where(slot >= 0, idx.addr_bits[np.maximum(slot, 0)], 0).astype(np.uint16)
    cluster_bits = np.zeros(n, np.uint16)
    slot_addr = np.full(idx.n_addr, -1, np.int64)
    slot_addr[slot[slot >= 0]] = np.flatnonzero(slot >= 0)
    row_addr = np.where(idx.row_addr >= 0, slot_addr[np.maximum(idx.row_addr, 0)], -1)
    definers = np.flatnonzero((row_addr >= 0) & idx.row_definer)
    np.bitwise_or.at(cluster_bits, labels[row_addr[definers]], idx.row_bits[definers])
    return slot, direct | cluster_bits[labels]


@pytest.fixture(scope="module")
def opened(demo):
    """A workbench on the demo store, opened while reading the addresses table is refused."""
    path = Path(demo.store)
    mp = pytest.MonkeyPatch()
    real = ChainStore.read_table

    def refuse(self, name, *args, **kwargs):
        if name == "addresses":
            raise AssertionError("opening the workbench read every address of the store")
        return real(self, name, *args, **kwargs)

    mp.setattr(ChainStore, "read_table", refuse)
    try:
        wb = Workbench(path)
    finally:
        mp.undo()
    yield wb
    wb.close()


def test_tags_open_without_per_address_work_and_agree_with_the_dense_reference(opened):
    wb = opened
    at = wb.tags.attribution
    assert at is not None
    labels = np.asarray(wb.view.labels, np.int64)
    every = np.arange(wb.view.n_addr)
    slot, bits = dense_reference(wb.store, labels)
    assert (slot >= 0).sum() > 10 and np.array_equal(at.addr_slot[every], slot)
    assert np.array_equal(at.addr_bits[every], bits)
    # Definer tags reach untagged members of their clusters: the case this sparse layout must not lose.
    assert ((bits != 0) & (slot < 0)).any()
    for cats in (("exchange",), ("mixer", "darknet_market"), tuple(tx.CATEGORIES)):
        want = (bits & np.uint16(tx.bits_of(cats))) != 0
        assert np.array_equal(at(cats), want), cats
    for a in np.flatnonzero(bits != 0)[:50].tolist():
        assert wb.tags.bits(a) == int(bits[a]) and wb.tags.is_tagged(a)
        assert wb.tags.risk(a) == tx.categories_from_bits(int(bits[a]))


def test_addr_nums_is_addr_num_for_many_at_once(opened):
    v = opened.view
    rng = np.random.default_rng(3)
    picks = rng.choice(v.n_addr, size=min(300, v.n_addr), replace=False)
    names = v.addresses(picks)
    bech = next((x for x in names if x and x.startswith(("bc1", "tb1", "bcrt1"))), None)
    asked = names + ["1NotAnAddressAtAll", "", None] + ([bech.upper()] if bech else [])
    got = v.addr_nums(asked)
    want = [-1 if x is None or v.addr_num(x) is None else v.addr_num(x) for x in asked]
    assert got.tolist() == want
    assert got[:len(names)].tolist() == [int(a) if x else -1 for a, x in zip(picks, names)]

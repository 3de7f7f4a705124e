"""store/tx_maps: the per-input/output tx and per-tx block maps, built once, grown by appending, cut back when
the chain they describe is not the store's; checked against the store's own tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store import tx_maps
from chaintrail.store.chainstore import ChainStore


@pytest.fixture(scope="module")
def blocks(btc_data):
    return btc_data / "mainnet" / "core-blocks-0-599"


def _hashes(st: ChainStore) -> np.ndarray:
    t = st.read_table("blocks", ["block_seq", "hash"]).sort_by("block_seq")
    return np.frombuffer(b"".join(t["hash"].to_pylist()), np.uint8).reshape(-1, 32)


def _check(st: ChainStore, m: tx_maps.TxMaps) -> int:
    """Every map equals what the Parquet tables say (not the index the maps were built from); returns how
    many outputs are spent."""
    ins = st.read_table("inputs", ["in_num", "tx_num"]).sort_by("in_num")
    outs = st.read_table("outputs", ["out_num", "tx_num"]).sort_by("out_num")
    txs = st.read_table("txs", ["tx_num", "block_seq", "is_coinbase"]).sort_by("tx_num")
    assert m.in_tx.tolist() == ins["tx_num"].to_pylist()
    assert m.out_tx.tolist() == outs["tx_num"].to_pylist()
    assert m.tx_block.tolist() == txs["block_seq"].to_pylist()
    assert m.tx_is_cb.astype(bool).tolist() == txs["is_coinbase"].to_pylist()
    n_in = np.bincount(ins["tx_num"].to_numpy(), minlength=st.counts["txs"])
    n_out = np.bincount(outs["tx_num"].to_numpy(), minlength=st.counts["txs"])
    assert m.tx_first_in.tolist() == np.concatenate(([0], np.cumsum(n_in))).tolist()      # with the sentinel
    assert m.tx_first_out.tolist() == np.concatenate(([0], np.cumsum(n_out))).tolist()
    # The tx spending each output, from the inputs' prev_out_num; links past this snapshot (maps extended
    # by a later one) read as unspent, as the kernel reads them.
    spends = st.read_table("inputs", ["tx_num", "prev_out_num"]).drop_null()
    want = np.full(st.counts["outputs"], tx_maps.NONE, np.uint32)
    want[spends["prev_out_num"].to_numpy()] = spends["tx_num"].to_numpy()
    got = np.where(m.out_next < st.counts["txs"], m.out_next, tx_maps.NONE)
    assert np.array_equal(got, want)
    return int((want != tx_maps.NONE).sum())


def _meta(path) -> dict:
    return json.loads((path / tx_maps.FOLDER / tx_maps.META).read_text())


def _inode(path, name: str) -> int:
    return (path / tx_maps.FOLDER / f"{name}.bin").stat().st_ino


def test_maps_equal_the_tables_and_grow_by_appending(tmp_path, blocks, monkeypatch):
    monkeypatch.setattr(tx_maps, "CHUNK", 37)           # several chunks per build
    path = tmp_path / "s"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    with ChainStore(path, writable=True) as st:
        st.rollback(200)
    with ChainStore(path) as st:
        assert _check(st, tx_maps.open_maps(st, _hashes(st))) == 5
    assert _meta(path)["blocks"] == 200
    before = {n: _inode(path, n) for n in ("in_tx", "out_tx", "tx_first_in", "blk_hash")}
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)                 # the other 400 blocks
    with ChainStore(path) as st:
        assert st.counts["blocks"] == 600
        # 25 spent, 3 of them outputs of the first 200 blocks: their links were set in place
        assert _check(st, tx_maps.open_maps(st, _hashes(st))) == 25
        n_tx = st.counts["txs"]
    assert _meta(path)["txs"] == n_tx and {n: _inode(path, n) for n in before} == before   # appended in place
    # A snapshot behind the maps on the same chain leaves them as they are (another reader may be ahead).
    with ChainStore(path, writable=True) as st:
        st.rollback(300)
    with ChainStore(path) as st:
        _check(st, tx_maps.open_maps(st, _hashes(st)))
    assert _meta(path)["blocks"] == 600 and {n: _inode(path, n) for n in before} == before


def test_maps_of_another_chain_are_cut_back_by_copy(tmp_path, blocks):
    path = tmp_path / "s"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    with ChainStore(path) as st:
        h = _hashes(st)
        wrong = h.copy()
        wrong[250:, 0] ^= 0xFF                     # as if blocks 250.. had been others when the maps were built
        tx_maps.open_maps(st, wrong)
        old = _inode(path, "in_tx")
        cut = []
        real_cut = tx_maps._cut
        tx_maps._cut = lambda store, root, keep: cut.append(keep) or real_cut(store, root, keep)
        try:
            m = tx_maps.open_maps(st, h)
        finally:
            tx_maps._cut = real_cut
        assert cut == [250] and _inode(path, "in_tx") != old     # a new file: mapped pages of the old stay valid
        _check(st, m)
        built = np.fromfile(path / tx_maps.FOLDER / "blk_hash.bin", np.uint8).reshape(-1, 32)
        assert np.array_equal(built, h)


def test_a_store_this_process_cannot_write_gets_the_same_maps_in_memory(tmp_path, blocks, monkeypatch):
    path = tmp_path / "s"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)

    def refuse(*a, **k):
        raise PermissionError("read-only store")

    monkeypatch.setattr(tx_maps.fcntl, "flock", refuse)
    with ChainStore(path) as st:
        m = tx_maps.open_maps(st, _hashes(st))
        assert not isinstance(m.in_tx.base, np.memmap)
        _check(st, m)
    assert not (path / tx_maps.FOLDER / tx_maps.META).exists()

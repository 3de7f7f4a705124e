"""The threaded ingest pipeline: order, errors, and blocks parsed ahead of their commit.

The parse thread runs up to two batches ahead of the last commit, so a block must count as
seen, and give its height to its children, from the moment it is parsed, not committed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.ingest.pipeline import InOrder, ahead
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.open_commit import PIECES_PER_GROUP

BTC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "btc"
BLK_0_599 = BTC / "mainnet" / "core-blocks-0-599" / "blk00000.dat"


def test_ahead_keeps_order_and_raises_where_the_error_was():
    def items():
        yield from range(5)
        raise ValueError("bad item 5")
    got = []
    with pytest.raises(ValueError, match="bad item 5"):
        for x in ahead(items(), depth=2):
            got.append(x)
    assert got == [0, 1, 2, 3, 4]


def test_ahead_produces_on_another_thread_and_stops_when_closed():
    threads, produced = set(), []

    def items():
        for i in range(1000):
            threads.add(threading.get_ident())
            produced.append(i)
            yield i
    gen = ahead(items(), depth=1)
    assert next(gen) == 0
    gen.close()
    assert threads and threading.get_ident() not in threads
    assert len(produced) <= 3          # the one consumed, one queued, one in hand


def test_in_order_runs_jobs_one_at_a_time_and_surfaces_errors():
    log, running = [], []

    def job(i):
        running.append(i)
        assert len(running) == 1
        log.append(i)
        running.pop()
        if i == 3:
            raise RuntimeError("job 3 failed")
    with pytest.raises(RuntimeError, match="job 3 failed"):
        with InOrder() as jobs:
            for i in range(6):
                jobs.submit(job, i)     # job 3's error is raised when job 4 is submitted
    assert log == [0, 1, 2, 3]


def _framed_blocks(n: int) -> list[bytes]:
    raw, out, pos = BLK_0_599.read_bytes(), [], 0
    while len(out) < n:
        size = int.from_bytes(raw[pos + 4:pos + 8], "little")
        out.append(raw[pos:pos + 8 + size])
        pos += 8 + size
    return out


def test_one_block_per_batch_heights_and_duplicates(tmp_path: Path):
    """Each block its own batch, every block given twice in a row: stored once, heights from parents."""
    blocks = _framed_blocks(60)
    paths = []
    for i, b in enumerate(blocks):
        p = tmp_path / f"b{i:03d}.raw"
        p.write_bytes(b)
        paths += [p, p]
    store = tmp_path / "store"
    with BtcIngest(store, batch_bytes=1) as job:
        rep = job.ingest_raw(paths)
    assert rep.blocks == 60 and rep.skipped_known == 60
    with ChainStore(store) as st:
        t = st.read_table("blocks", ["height", "block_seq"])
        assert t["height"].to_pylist() == list(range(60))
        assert st.counts["blocks"] == 60
        assert np.array_equal(np.asarray(st.column("blk_first_tx")), np.arange(60))
    # The same blocks in one sequential-sized batch give the same store.
    one = tmp_path / "one"
    with BtcIngest(one) as job:
        job.ingest_raw(paths[::2])
    with ChainStore(store) as a, ChainStore(one) as b:
        assert a.read_table("txs").equals(b.read_table("txs"))
        assert a.read_table("blocks").drop_columns(["source"]).equals(b.read_table("blocks").drop_columns(["source"]))


def test_slices_of_a_batch_give_the_rows_of_one_slice(tmp_path: Path):
    """Writing a batch slice by slice (one block each: a row group each) and committing it once gives the rows
    and index of writing it whole; block 170 spends block 9's coinbase from an earlier slice of the batch."""
    import pyarrow.parquet as pq

    folder = BLK_0_599.parent
    stores = []
    for name, slice_bytes in (("whole", 1 << 30), ("sliced", 1)):
        store = tmp_path / name
        with BtcIngest(store, batch_bytes=48 << 10, slice_bytes=slice_bytes) as job:
            rep = job.ingest_blocks_dir(folder)
        assert rep.blocks == 600 and rep.timeline and set(rep.stage_wall_s) == {"parse", "map", "commit"}
        stores.append(ChainStore(store))
    whole, sliced = stores
    assert whole.manifest["next_part"] == sliced.manifest["next_part"] == 3   # three batches of 48 KB either way
    assert whole.counts == sliced.counts and whole.counts["blocks"] == 600
    for table in ("blocks", "txs", "inputs", "outputs", "addresses"):
        a, b = whole.read_table(table), sliced.read_table(table)
        if table == "blocks":
            a, b = a.drop_columns(["source"]), b.drop_columns(["source"])
        assert a.equals(b), table
    blocks, txs = (pq.ParquetFile(sliced.part_paths(t)[0]).metadata for t in ("blocks", "txs"))
    # a row group per PIECES_PER_GROUP slices (of one block each here); the blocks table's in one
    assert txs.num_row_groups == -(-blocks.num_rows // PIECES_PER_GROUP) > 1 and blocks.num_row_groups == 1
    for col in ("out_spent", "in_prev", "out_addr", "in_value", "txid", "addr_key"):
        assert np.array_equal(np.asarray(whole.column(col)), np.asarray(sliced.column(col))), col
    spent, in_prev = np.asarray(sliced.column("out_spent")), np.asarray(sliced.column("in_prev"))
    linked = np.flatnonzero(spent != 0xFFFFFFFF)
    assert len(linked) >= 1 and np.array_equal(in_prev[spent[linked]], linked)

"""A store served while an ingest grows it: never a 500, a consistent snapshot, then the new data.

Real mainnet blocks 0-599 in two ingests: blk00000.dat (blocks 0-299) is
served, then blk00001.dat (blocks 300-599) is ingested into the same store
under the running server. Output 0 of 4385fc...cd79 (height 187) is unspent
in the first half and spent at height 496, so a trace from it changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ct_workbench import serve_store

from chaintrail.analysis.screening import Screener, ScreenParams
from chaintrail.analysis.tracing import TraceEngine, TraceParams
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.chainstore import ChainStore
from chaintrail.tags.tagstore import TagStore

SPENT_LATER = "4385fcf8b14497d0659adccfe06ae7e38e0b5dc95ff8a13d7c62035994a0cd79:0"
SPENT_LATER_ADDR = "15NUwyBYrZcnUgTagsm1A7M2yL2GntpuaZ"
HALF = {"blocks": 300, "txs": 307, "inputs": 307, "outputs": 312, "addresses": 307}
FULL = {"blocks": 600, "txs": 616, "inputs": 625, "outputs": 627, "addresses": 614}


def _counts(st: ChainStore) -> dict:
    return {k: st.counts[k] for k in HALF}


@pytest.fixture
def half_store(tmp_path, btc_data) -> tuple[Path, Path, Path]:
    """(store, blocks folder holding only blk00000, the full source folder)."""
    src = btc_data / "mainnet" / "core-blocks-0-599"
    folder = tmp_path / "blocks"
    folder.mkdir()
    for name in ("blk00000.dat", "rev00000.dat"):
        shutil.copy(src / name, folder / name)
    store = tmp_path / "store"
    with BtcIngest(store) as job:
        job.ingest_blocks_dir(folder)
    return store, folder, src


def _grow(store: Path, folder: Path, src: Path) -> None:
    shutil.copy(src / "blk00001.dat", folder / "blk00001.dat")
    with BtcIngest(store) as job:
        job.ingest_blocks_dir(folder)


def _ref(store: Path, source: str, params: TraceParams) -> str:
    with ChainStore(store) as st:
        return TraceEngine.open(st).trace(source, params).to_dict()["trace_hash"]


def test_a_snapshot_stays_consistent_while_an_ingest_grows_the_store(half_store):
    store, folder, src = half_store
    params = TraceParams(max_hops=20)
    before = _ref(store, SPENT_LATER, params)
    st = ChainStore(store)                      # opened before the ingest, as a server's read model is
    _grow(store, folder, src)
    assert _counts(st) == HALF
    spent = st.column("out_spent")
    # The ingest patched older outputs' links in place; the snapshot sees none past its own inputs.
    assert int(spent[(spent != 0xFFFFFFFF)].max()) < HALF["inputs"]
    assert TraceEngine.open(st).trace(SPENT_LATER, params).to_dict()["trace_hash"] == before
    screen = Screener(TagStore(store), st, ScreenParams(hops=5)).screen(SPENT_LATER_ADDR).to_dict()
    assert screen["in_store"] is True
    st.close()
    with ChainStore(store) as fresh:
        assert _counts(fresh) == FULL
    assert _ref(store, SPENT_LATER, params) != before


@pytest.mark.parametrize("workers", [0, 1])
def test_served_store_is_reopened_after_an_ingest(half_store, workers):
    store, folder, src = half_store
    q = {"source": SPENT_LATER, "max_hops": 20, "graph": "false"}
    with serve_store(store, trace_workers=workers) as api:
        assert api.ok("/meta")["counts"] == HALF
        first = api.ok("/trace", **q)
        assert first["trace_hash"] == _ref(store, SPENT_LATER, TraceParams(max_hops=20))
        assert first["totals"]["unspent_sat"] == 100_000_000
        assert api.get(f"/addresses/{SPENT_LATER_ADDR}").status_code == 200
        half_ref = {h: _ref(store, SPENT_LATER, TraceParams(max_hops=h)) for h in (7, 8)}

        _grow(store, folder, src)
        full_ref = {h: _ref(store, SPENT_LATER, TraceParams(max_hops=h)) for h in (7, 8)}
        assert full_ref[7] != half_ref[7]
        # Straight after the ingest: the old snapshot or the new store, whole, and never a 500.
        r = api.get("/trace", **{**q, "max_hops": 7})
        assert r.status_code == 200, r.text[:300]
        assert r.json()["trace_hash"] in (half_ref[7], full_ref[7])
        r = api.get("/screen", subject=SPENT_LATER_ADDR, hops=5)
        assert r.status_code == 200, r.text[:300]

        api.app.state.live.refresh()
        assert api.ok("/meta")["counts"] == FULL
        got = api.ok("/trace", **{**q, "max_hops": 8})
        assert got["trace_hash"] == full_ref[8]
        assert got["steps_total"] > first["steps_total"]
        # A cached result of the old store is not served again for the same question.
        assert api.ok("/trace", **q)["trace_hash"] == _ref(store, SPENT_LATER, TraceParams(max_hops=20)) \
            != first["trace_hash"]
        with ChainStore(store) as st:
            ref = Screener(TagStore(store), st, ScreenParams(hops=5)).screen(SPENT_LATER_ADDR).to_dict()
        assert api.ok("/screen", subject=SPENT_LATER_ADDR, hops=5) == json.loads(json.dumps(ref))
        # Blocks 300-599 are there: the tx at height 496 that spends the output.
        spender = api.ok(f"/txs/{SPENT_LATER.split(':')[0]}")["outputs"][0]
        assert spender["spent_by"] is not None


def test_a_rollback_under_the_server_is_answered_from_the_reopened_store(tmp_path, btc_data):
    # The rollback rewrites and deletes Parquet parts the served snapshot still names; the screener
    # (built on the first /screen) reads them.
    store = tmp_path / "store"
    with BtcIngest(store) as job:
        job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
    with serve_store(store, trace_workers=0) as api:
        assert api.ok("/meta")["counts"] == FULL
        with ChainStore(store, writable=True) as w:
            w.rollback(300)
        r = api.get("/screen", subject=SPENT_LATER_ADDR, hops=5)
        assert r.status_code == 200, r.text[:300]
        api.app.state.live.refresh()
        assert api.ok("/meta")["counts"] == HALF
        assert api.ok("/trace", source=SPENT_LATER, max_hops=20, graph="false")["trace_hash"] == \
            _ref(store, SPENT_LATER, TraceParams(max_hops=20))

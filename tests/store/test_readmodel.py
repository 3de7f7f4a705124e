"""The workbench's persisted read model: equal to the lookups computed from scratch, mapped, rebuilt when stale."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chaintrail.api.chainview import ChainView
from chaintrail.cli.main import app
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store import readmodel, readmodel_runs
from chaintrail.store.chainstore import ChainStore

NONE = 0xFFFFFFFF


@pytest.fixture(scope="module")
def blocks(btc_data):
    return btc_data / "mainnet" / "core-blocks-0-599"


@pytest.fixture(scope="module")
def store(tmp_path_factory, blocks):
    path = tmp_path_factory.mktemp("rm") / "store"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    return path


def _runs(keys: np.ndarray, n: int) -> list[list[int]]:
    """Row ids per key, ascending (the reference: a plain loop)."""
    out: list[list[int]] = [[] for _ in range(n)]
    for i, k in enumerate(keys.tolist()):
        if k != NONE:
            out[k].append(i)
    return out


def test_view_equals_lookups_computed_from_the_store(store):
    with ChainStore(store) as st:
        _check_view(st, ChainView(st))


def _check_view(st, v) -> None:
    """Every lookup of ``v`` equals the one recomputed from the store's columns and tables with plain loops."""
    c = st.counts
    names = st.read_table("addresses", ["addr_num", "address"]).sort_by("addr_num")["address"].to_pylist()
    out_addr, in_addr = np.asarray(st.column("out_addr")), np.asarray(st.column("in_addr"))
    out_value, in_value = np.asarray(st.column("out_value")), np.asarray(st.column("in_value"))
    spent = np.asarray(st.column("out_spent"))
    txids = [bytes(x[::-1]).hex() for x in np.asarray(st.column("txid"))]
    n = c["addresses"]
    outs, ins = _runs(out_addr, n), _runs(in_addr, n)
    for a in range(n):
        assert v.addr_outputs(a).tolist() == outs[a]
        assert v.addr_inputs(a).tolist() == ins[a]
        assert int(v.addr_received[a]) == sum(int(out_value[o]) for o in outs[a])
        assert int(v.addr_sent[a]) == sum(max(0, int(in_value[i])) for i in ins[a])
        assert int(v.addr_balance[a]) == sum(int(out_value[o]) for o in outs[a] if spent[o] == NONE)
        assert v.address(a) == names[a] and v.addr_num(names[a]) == a
    by_string = sorted(range(n), key=lambda a: names[a].encode())
    for prefix in ("1", "1A", "12c", "1Q", "3", "zz"):
        want = [a for a in by_string if names[a].startswith(prefix)][:7]
        assert v.address_prefix(prefix, 7) == want
    assert v.addr_num("1" * 34) is None
    for t, x in enumerate(txids):
        assert v.tx_num(x) == t and v.txid(t) == x
    assert v.txid_prefix(txids[123][:6], 3)[0] == 123
    assert v.tx_num("ab" * 32) is None
    last = c["blocks"] - 1
    assert (v.tx_height(0), v.tx_height(len(txids) - 1)) == (0, last)     # coinbase of block 0, a tx of the last
    assert int(np.asarray(v.tx_is_cb).sum()) == c["blocks"] and v.tx_is_cb[0] and v.tx_is_cb[1]
    # Before any clustering every address is its own entity.
    assert v.members(17).tolist() == [17] and int(v.cluster_received[17]) == int(v.addr_received[17])


def test_arrays_are_mapped_from_the_store_not_rebuilt(store):
    with ChainStore(store) as st:
        folder = store / readmodel.FOLDER / readmodel.key_of(st)
        v = ChainView(st)
        assert (folder / readmodel.META).exists()
        meta_ino = (folder / readmodel.META).stat().st_ino
        run = v._runs[0]
        for arr in (run["out_order"], run["in_ptr"], run["out_sum"], run["addr_sort"], run["txid_sort"],
                    run["tx_fee"], run["addr_blob"]):
            base = arr
            while getattr(base, "base", None) is not None and not isinstance(base, np.memmap):
                base = base.base
            assert isinstance(base, np.memmap) and str(base.filename).startswith(str(folder))
        ChainView(st)
        assert (folder / readmodel.META).stat().st_ino == meta_ino      # opened, not rebuilt


def test_a_store_from_before_gets_one_on_first_open_and_stale_ones_are_replaced(tmp_path, blocks):
    path = tmp_path / "s"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    assert not (path / readmodel.FOLDER).exists()          # the library ingest leaves it to the CLI or a reader
    (path / readmodel.FOLDER / ".tmp-1-dead").mkdir(parents=True)   # a builder that crashed
    with ChainStore(path) as st:
        with pytest.raises(Exception, match="no read model"):
            readmodel.open_read_model(st, build_if_missing=False)
        v1 = ChainView(st)
        key1 = readmodel.key_of(st)
    # New entities: the key changes, the old model is never served, and a fresh one replaces it.
    labels = np.arange(v1.n_addr, dtype=np.int64)
    labels[[3, 4, 5]] = 3
    from chaintrail.analysis.clustering import write_clusters_table
    with ChainStore(path, writable=True) as st:
        write_clusters_table(st, labels)
    with ChainStore(path) as st:
        assert readmodel.key_of(st) != key1
        v2 = ChainView(st)
        assert v2.members(3).tolist() == [3, 4, 5] and v2.cluster_of(5) == 3
        assert int(v2.cluster_received[3]) == sum(int(v2.addr_received[a]) for a in (3, 4, 5))
    folders = sorted(p.name for p in (path / readmodel.FOLDER).iterdir())
    assert readmodel.key_of(ChainStore(path)) in folders and key1 not in folders
    assert v1.members(4).tolist() == [4]                   # the old view still reads its (unlinked) pages


def test_cli_ingest_and_cluster_leave_a_current_read_model(tmp_path, blocks):
    path = tmp_path / "c"
    res = CliRunner().invoke(app, ["ingest", "btc", "--blocks-dir", str(blocks), "--store", str(path), "--json"])
    assert res.exit_code == 0, res.output
    with ChainStore(path) as st:
        assert (path / readmodel.FOLDER / readmodel.key_of(st) / readmodel.META).exists()
    res = CliRunner().invoke(app, ["cluster", "--store", str(path), "--json"])
    assert res.exit_code == 0, res.output
    with ChainStore(path) as st:
        key = readmodel.key_of(st)
        assert [p.name for p in (path / readmodel.FOLDER).iterdir()] == [key]
        v = ChainView(st, model=readmodel.open_read_model(st, build_if_missing=False))
        labels = pq.read_table(path / "analysis" / "clusters.parquet")["cluster_id"].to_numpy()
        assert np.array_equal(np.asarray(v.labels), labels)


def _small_runs(monkeypatch, max_runs: int) -> None:
    """Runs of a few dozen rows, merges in chunks of a few rows: every path of the build on 600 blocks."""
    monkeypatch.setattr(readmodel_runs, "ROWS", 40)
    monkeypatch.setattr(readmodel_runs, "CHUNK", 7)
    monkeypatch.setattr(readmodel, "MAX_RUNS", max_runs)


def _inodes(folder) -> dict[str, int]:
    return {f"{d.name}/{f.name}": f.stat().st_ino for d in folder.iterdir() if d.is_dir() for f in d.iterdir()}


def test_builds_are_incremental_runs_are_reused_and_merged_and_equal_the_chain(tmp_path, blocks, monkeypatch):
    _small_runs(monkeypatch, max_runs=2)
    path = tmp_path / "s"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    seen = []
    for keep in (200, 400, 600):
        with ChainStore(path, writable=True) as st:
            st.rollback(keep)
        if keep > 200:
            with BtcIngest(path) as job:           # resume: the blocks after the rollback again
                job.ingest_blocks_dir(blocks)
            with ChainStore(path, writable=True) as st:
                st.rollback(keep)
        with ChainStore(path) as st:
            assert st.counts["blocks"] == keep
            folder = readmodel.build(st)
            v = ChainView(st)
            _check_view(st, v)
            seen.append((folder, _inodes(folder), [r["b"] for r in v.model.meta["runs"]]))
    (_, ino1, runs1), (_, ino2, runs2), (_, ino3, runs3) = seen
    assert runs1 == [[0, 200]] and runs2 == [[0, 200], [200, 400]]       # the built runs merged into one each time
    assert runs3 == [[0, 400], [400, 600]]           # three runs over MAX_RUNS: the pair with the fewest rows merged
    shared = [f for f in ino1 if f.startswith("r-0000000000-0000000200/")]
    assert shared and all(ino2[f] == ino1[f] for f in shared)              # reused by hard link, never rewritten
    assert not (seen[0][0]).exists() and not (seen[1][0]).exists()      # older models pruned


def test_a_crash_mid_build_leaves_the_old_model(tmp_path, blocks, monkeypatch):
    _small_runs(monkeypatch, max_runs=8)
    path = tmp_path / "s"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    with ChainStore(path, writable=True) as st:
        st.rollback(300)
    with ChainStore(path) as st:
        old = readmodel.build(st)
    before = _inodes(old)
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    calls = []

    def dies(*a, **k):
        if calls:
            raise KeyboardInterrupt("killed")
        calls.append(1)
        return build_run(*a, **k)

    build_run = readmodel_runs.build_run
    monkeypatch.setattr(readmodel_runs, "build_run", dies)
    with ChainStore(path) as st, pytest.raises(KeyboardInterrupt):
        readmodel.build(st)
    assert sorted(p.name for p in (path / readmodel.FOLDER).iterdir()) == [old.name]
    assert _inodes(old) == before
    with ChainStore(path) as st:
        with pytest.raises(Exception, match="no read model"):
            readmodel.open_read_model(st, build_if_missing=False)
    monkeypatch.setattr(readmodel_runs, "build_run", build_run)
    with ChainStore(path) as st:
        _check_view(st, ChainView(st))


def test_entities_are_kept_when_clusters_do_not_change_and_later_rows_reach_their_totals(tmp_path, blocks,
                                                                                         monkeypatch):
    from chaintrail.analysis.clustering import write_clusters_table
    _small_runs(monkeypatch, max_runs=8)
    path = tmp_path / "s"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    with ChainStore(path, writable=True) as st:
        st.rollback(450)
        n = st.counts["addresses"]
        labels = np.arange(n, dtype=np.int64)
        labels[[0, 9, 40, n - 1]] = 0            # block 0's coinbase address with others, one of the last ones
        labels[[5, 6]] = 5
        write_clusters_table(st, labels)
    with ChainStore(path) as st:
        first = readmodel.build(st)
    ent_ino = _inodes(first)["ent/labels.bin"]
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(blocks)
    with ChainStore(path) as st:
        folder = readmodel.build(st)
        v = ChainView(st)
        assert _inodes(folder)["ent/labels.bin"] == ent_ino          # not rewritten: the clusters are the same
        assert v.model.meta["ent"]["counts"]["addresses"] == n < v.n_addr
        assert v.members(0).tolist() == [0, 9, 40, n - 1] and v.cluster_of(n - 1) == 0 and v.cluster_of(n) == n
        assert v.members(n).tolist() == [n] and not v.is_cluster(9)
        out_addr, out_value = np.asarray(st.column("out_addr")), np.asarray(st.column("out_value"))
        in_addr, in_value = np.asarray(st.column("in_addr")), np.asarray(st.column("in_value"))
        spent = np.asarray(st.column("out_spent"))
        for cid in [0, 5, n - 2, n, v.n_addr - 1]:
            m = set(v.members(cid).tolist())
            o = [k for k in range(len(out_addr)) if out_addr[k] in m]
            i = [k for k in range(len(in_addr)) if in_addr[k] in m]
            assert int(v.cluster_received[cid]) == sum(int(out_value[k]) for k in o)
            assert int(v.cluster_sent[cid]) == sum(max(0, int(in_value[k])) for k in i)
            assert int(v.cluster_balance[cid]) == sum(int(out_value[k]) for k in o if spent[k] == NONE)
        assert int(v.cluster_received[0]) > int(v.addr_received[0])    # rows of block 450+ on member n - 1 or 0

"""The workbench's persisted read model: equal to the lookups computed from scratch, mapped, rebuilt when stale."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chaintrail.api.chainview import ChainView
from chaintrail.cli.main import app
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store import readmodel
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
        v = ChainView(st)
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
    assert (v.tx_height(0), v.tx_height(len(txids) - 1)) == (0, 599)     # coinbase of block 0, a tx of block 599
    assert int(np.asarray(v.tx_is_cb).sum()) == 600 and v.tx_is_cb[0] and v.tx_is_cb[1]
    # Before any clustering every address is its own entity.
    assert v.members(17).tolist() == [17] and int(v.cluster_received[17]) == int(v.addr_received[17])


def test_arrays_are_mapped_from_the_store_not_rebuilt(store):
    with ChainStore(store) as st:
        folder = store / readmodel.FOLDER / readmodel.key_of(st)
        v = ChainView(st)
        assert (folder / readmodel.META).exists()
        meta_ino = (folder / readmodel.META).stat().st_ino
        for arr in (v.out_order, v.in_ptr, v.addr_received, v.member_order, v.labels, v.tx_fee):
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

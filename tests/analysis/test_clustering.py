"""Multi-input clustering: real block 540107 against an independent computation; Spark == local."""

from __future__ import annotations

import hashlib

import networkx as nx
import numpy as np
import pytest
from bitcoin.core import CBlock
from bitcoin.core.script import CScript
from bitcoin.wallet import CBitcoinAddress, P2PKHBitcoinAddress, P2SHBitcoinAddress

from chaintrail.analysis import mixers as M
from chaintrail.analysis import union_find as uf
from chaintrail.analysis.clustering import ClusterParams, ClusterState, cluster_labels, update_clusters
from chaintrail.analysis.tx_labels import label_transactions
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query


def _spent_address(txin, wit) -> str | None:
    """The address an input spends from, derived with python-bitcoinlib (independent of chaintrail)."""
    items = list(CScript(txin.scriptSig))
    stack = list(wit.scriptWitness.stack) if wit is not None else []
    if len(stack) == 2 and len(stack[1]) == 33 and not txin.scriptSig:
        h = hashlib.new("ripemd160", hashlib.sha256(stack[1]).digest()).digest()
        return str(CBitcoinAddress.from_scriptPubKey(CScript(b"\x00\x14" + h)))
    if stack and len(items) == 1 and isinstance(items[0], bytes) and len(items[0]) in (22, 34):
        return str(P2SHBitcoinAddress.from_redeemScript(CScript(items[0])))
    if stack and not txin.scriptSig:
        return str(CBitcoinAddress.from_scriptPubKey(CScript(b"\x00\x20" + hashlib.sha256(stack[-1]).digest())))
    if len(items) == 2 and isinstance(items[1], bytes) and len(items[1]) in (33, 65):
        return str(P2PKHBitcoinAddress.from_pubkey(items[1]))
    if len(items) >= 2 and items[0] == 0 and isinstance(items[-1], bytes):
        return str(P2SHBitcoinAddress.from_redeemScript(CScript(items[-1])))
    return None


def test_block_540107_multi_input_equals_independent_union(tmp_path, btc_data):
    raw = btc_data / "mainnet" / "raw" / "block540107.raw"
    with BtcIngest(tmp_path / "s") as job:
        job.ingest_raw([raw])
    st = ChainStore(tmp_path / "s", writable=True)
    labels = np.asarray(label_transactions(st)["label"].combine_chunks().indices)
    skip = M.MIXING[labels]
    update_clusters(st, skip, ClusterParams())
    ours = query(st, "SELECT address, cluster FROM clusters").to_pylist()
    ours_of = {r["address"]: r["cluster"] for r in ours}

    # Independent: python-bitcoinlib parse, addresses from the spending data, networkx components.
    blk = CBlock.deserialize(raw.read_bytes())
    g = nx.Graph()
    txids = query(st, "SELECT lower(hex(txid)) FROM raw.txs ORDER BY tx_num").column(0).to_pylist()
    skipped = {txids[i] for i in np.flatnonzero(skip)}
    n_inputs = 0
    for tx in blk.vtx[1:]:
        wits = tx.wit.vtxinwit if tx.wit and not tx.wit.is_null() else [None] * len(tx.vin)
        addrs = [a for a in (_spent_address(i, w) for i, w in zip(tx.vin, wits)) if a]
        n_inputs += len(tx.vin)
        g.add_nodes_from(addrs)
        if tx.GetTxid()[::-1].hex() not in skipped:
            g.add_edges_from((addrs[0], a) for a in addrs[1:])
    assert n_inputs == 7032
    # Both derive the same spent addresses (consolidations reuse them: far fewer than inputs).
    mine = set(query(st, """SELECT DISTINCT a.address FROM raw.inputs i JOIN raw.addresses a USING (addr_num)
                            JOIN raw.txs t USING (tx_num) WHERE NOT t.is_coinbase""").column(0).to_pylist())
    assert set(g.nodes) == mine and len(mine) > 4000
    theirs = list(nx.connected_components(g))
    assert max(len(c) for c in theirs) > 100  # the block's large consolidations
    # Same partition of the input addresses: each independent component is exactly one of our clusters.
    for comp in theirs:
        assert len({ours_of[a] for a in comp}) == 1
    sizes = {}
    for a in g.nodes:
        sizes[ours_of[a]] = sizes.get(ours_of[a], 0) + 1
    assert sorted(sizes.values()) == sorted(len(c) for c in theirs)


def _state_up_to(st: ChainStore, params: ClusterParams, skip: np.ndarray, k: int) -> None:
    """Saved clustering state with the first ``k`` txs folded in, as an earlier run would leave it."""
    c = st.counts
    tx_first_in = np.append(np.asarray(st.column("tx_first_in")), c["inputs"]).astype(np.uint32)
    state = ClusterState(st, params, skip)
    state.parent, state.size = uf.fresh(c["addresses"])
    uf.union_tx_inputs(state.parent, state.size, tx_first_in, st.column("in_addr"), 0, k, skip, -1,
                       np.zeros((1, 5), np.int64))
    state.txs_done = k
    state.mapped = False    # new arrays, written out whole (not the mapped files of the last run)
    state.save(st, skip)


def test_an_incremental_run_names_the_same_large_merges_and_blocks_them_by_tx_num(tmp_path, btc_data):
    with BtcIngest(tmp_path / "s") as job:
        job.ingest_raw([btc_data / "mainnet" / "raw" / "block540107.raw"])
    st = ChainStore(tmp_path / "s", writable=True)
    skip = M.MIXING[np.asarray(label_transactions(st)["label"].combine_chunks().indices)]
    n = st.counts["txs"]
    skip |= np.random.default_rng(3).random(n) < 0.2    # no CoinJoin in this block: skip some txs to check skipping too
    params = ClusterParams(big=3)
    full = update_clusters(st, skip, params)
    labels_full = cluster_labels(st)
    assert len(full.large_merges) >= 6
    k = full.large_merges[len(full.large_merges) // 2]["tx_num"]     # large merges on both sides of the cut
    late = [e for e in full.large_merges if e["tx_num"] >= k]
    # The same txs folded in later: from a saved state of the txs before k, the run sees only the rest.
    _state_up_to(st, params, skip, k)
    inc = update_clusters(st, skip, params)
    assert inc.txs_new == n - k
    assert inc.large_merges == late
    assert np.array_equal(cluster_labels(st), labels_full)
    txids = np.asarray(st.column("txid"))
    assert all(bytes(txids[e["tx_num"]][::-1]).hex() == e["txid"] for e in inc.large_merges)
    # Blocking refuses those txs: the entities are those of a plain run that never merges their inputs.
    blocking = ClusterParams(big=3, block_big_merges=True)
    _state_up_to(st, blocking, skip, k)
    blocked = update_clusters(st, skip, blocking)
    refused = sorted({e["tx_num"] for e in blocked.large_merges})
    assert refused and refused[0] >= k and all(e["blocked"] for e in blocked.large_merges)
    labels = cluster_labels(st)
    assert len(np.unique(labels)) > len(np.unique(labels_full))
    skip2 = skip.copy()
    skip2[refused] = True
    update_clusters(st, skip2, params)      # other parameters: a fresh run over every tx
    assert np.array_equal(cluster_labels(st), labels)


@pytest.mark.slow
def test_spark_clusters_equal_local_on_a_generated_chain(tmp_path):
    from chaintrail.analysis.spark_clustering import spark_cluster_labels
    from chaintrail.scenario.generator import generate

    generate(tmp_path / "g", seed=5, kind="all", scale=1.0)
    with BtcIngest(tmp_path / "s") as job:
        job.ingest_blocks_dir(tmp_path / "g")
    st = ChainStore(tmp_path / "s", writable=True)
    labels = np.asarray(label_transactions(st)["label"].combine_chunks().indices)
    skip = M.MIXING[labels]
    update_clusters(st, skip, ClusterParams())
    local = cluster_labels(st)
    spark = spark_cluster_labels(st, skip)
    assert np.array_equal(local, spark)
    assert len(np.unique(local)) < len(local)  # something was actually merged

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
from chaintrail.analysis.clustering import ClusterParams, cluster_labels, update_clusters
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

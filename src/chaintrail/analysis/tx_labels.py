"""Label every transaction once: protocol/pattern class and peel-chain membership.

Writes ``analysis/tx_labels.parquet`` (tx_num, label, is_mixing, peel_chain, peel_pos),
which clustering, tracing, SQL and reports all read.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.analysis import mixers as M
from chaintrail.analysis.peel_chains import peel_chains
from chaintrail.store.chainstore import ChainStore

VERSION = "tx-labels/1"


def index_arrays(store: ChainStore) -> dict[str, np.ndarray]:
    """The index columns the classifiers need, with sentinels on the first-id arrays."""
    c = store.counts
    def with_end(name, total):
        a = np.empty(c["txs"] + 1, np.uint32)
        a[:-1] = store.column(name)
        a[-1] = total
        return a
    blk_first = np.asarray(store.column("blk_first_tx"), np.int64)
    is_cb = np.zeros(c["txs"], np.bool_)
    is_cb[blk_first[blk_first < c["txs"]]] = True
    out_type = store.read_table("outputs", ["script_type"])["script_type"].to_numpy()
    return {"tx_first_in": with_end("tx_first_in", c["inputs"]), "tx_first_out": with_end("tx_first_out", c["outputs"]),
            "in_value": np.asarray(store.column("in_value")), "out_value": np.asarray(store.column("out_value")),
            "out_spent": np.asarray(store.column("out_spent")), "out_type": out_type, "tx_is_cb": is_cb}


def label_transactions(store: ChainStore, arrays: dict[str, np.ndarray] | None = None,
                       cluster_of_addr: np.ndarray | None = None) -> pa.Table:
    """Classify every tx and write the labels table; returns it.

    With ``cluster_of_addr`` (after clustering) the chip-mixer labels that need the
    mixer's entity are added too; CoinJoin labels never depend on clusters.
    """
    a = arrays or index_arrays(store)
    n = store.counts["txs"]
    labels = np.zeros(n, np.uint8)
    M.classify_all(a["tx_first_in"], a["tx_first_out"], a["in_value"], a["out_value"], a["out_type"], a["tx_is_cb"],
                   M.POOLS, M.CHIPS, M.W2DENOMS, labels)
    if cluster_of_addr is not None:
        labels = M.refine_with_clusters(labels, cluster_of_addr, a["tx_first_in"], a["tx_first_out"],
                                        np.asarray(store.column("in_addr")), np.asarray(store.column("in_prev")),
                                        a["out_value"]).astype(np.uint8)
    chain = np.empty(n, np.int64)
    pos = np.empty(n, np.int64)
    peel_chains(a["tx_first_in"], a["tx_first_out"], a["out_value"], a["out_spent"], a["tx_is_cb"], 4, 3, chain, pos)
    table = pa.table({
        "tx_num": np.arange(n, dtype=np.int64),
        "label": pa.DictionaryArray.from_arrays(pa.array(labels.astype(np.int32)), pa.array(list(M.LABELS))),
        "is_mixing": M.MIXING[labels],
        "mixer_related": M.MIXER_RELATED[labels],
        "peel_chain": pa.array(chain, mask=chain < 0),
        "peel_pos": pa.array(pos.astype(np.int32), mask=pos < 0),
    })
    out = store.path / "analysis" / "tx_labels.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out)
    return table

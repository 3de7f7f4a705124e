"""Label every transaction once: protocol/pattern class and peel-chain membership.

Writes ``analysis/tx_labels.parquet`` (tx_num, label, is_mixing, peel_chain, peel_pos),
which clustering, tracing, SQL and reports all read.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.analysis import label_evidence
from chaintrail.analysis import mixers as M
from chaintrail.analysis.peel_chains import peel_chains
from chaintrail.store.chainstore import ChainStore

VERSION = "tx-labels/2"
LABELS_FILE = "tx_labels.parquet"


def index_arrays(store: ChainStore, from_tx: int = 0) -> dict[str, np.ndarray]:
    """The index columns the classifiers need, with sentinels on the first-id arrays; output script
    types are read only from the outputs of txs ``from_tx`` on (zero before)."""
    c = store.counts
    def with_end(name, total):
        a = np.empty(c["txs"] + 1, np.uint32)
        a[:-1] = store.column(name)
        a[-1] = total
        return a
    blk_first = np.asarray(store.column("blk_first_tx"), np.int64)
    is_cb = np.zeros(c["txs"], np.bool_)
    is_cb[blk_first[blk_first < c["txs"]]] = True
    first = with_end("tx_first_out", c["outputs"])
    out_type = _script_types(store, int(first[min(from_tx, c["txs"])]))
    return {"tx_first_in": with_end("tx_first_in", c["inputs"]), "tx_first_out": first,
            "in_value": np.asarray(store.column("in_value")), "in_addr": np.asarray(store.column("in_addr")),
            "out_value": np.asarray(store.column("out_value")),
            "out_spent": np.asarray(store.column("out_spent")), "out_type": out_type, "tx_is_cb": is_cb}


def classify_store(store: ChainStore, a: dict[str, np.ndarray], lo: int = 0) -> np.ndarray:
    """Structural labels of txs ``lo`` .. the last (no clusters needed): the classifier, the published
    coordinators' evidence, and Whirlpool post-mix spends told apart from chip merges."""
    labels = M.classify(a["tx_first_in"], a["tx_first_out"], a["in_value"], a["in_addr"], a["out_value"],
                        a["out_type"], a["tx_is_cb"], coordinator_txs(store, a["tx_first_out"]), lo)
    if lo:
        return labels
    return M.whirlpool_postmix(labels, a["tx_first_in"], a["tx_first_out"], np.asarray(store.column("in_prev")))


def label_transactions(store: ChainStore, arrays: dict[str, np.ndarray] | None = None,
                       cluster_of_addr: np.ndarray | None = None) -> pa.Table:
    """Classify every tx and write the labels table; returns it.

    With ``cluster_of_addr`` (after clustering) the chip-mixer labels that need the
    mixer's entity are added too; CoinJoin labels never depend on clusters.
    """
    a = arrays or index_arrays(store)
    n = store.counts["txs"]
    in_prev = np.asarray(store.column("in_prev"))
    labels = classify_store(store, a)
    if cluster_of_addr is not None:
        labels = M.refine_with_clusters(labels, cluster_of_addr, a["tx_first_in"], a["tx_first_out"],
                                        np.asarray(store.column("in_addr")), in_prev,
                                        a["out_value"]).astype(np.uint8)
    chain = np.empty(n, np.int64)
    pos = np.empty(n, np.int64)
    peel_chains(a["tx_first_in"], a["tx_first_out"], a["out_value"], a["out_spent"], a["tx_is_cb"], 4, 3, chain, pos)
    table = pa.table({
        "tx_num": np.arange(n, dtype=np.int64),
        "label": pa.DictionaryArray.from_arrays(pa.array(labels.astype(np.int32)), pa.array(list(M.LABELS))),
        "is_mixing": M.MIXING[labels],
        "mixer_related": M.MIXER_RELATED[labels],
        # A label made without every input's value rests on the outputs alone: reduced confidence.
        "values_known": M.values_known(a["tx_first_in"], a["in_value"]),
        # protocol, confidence (0-100) and the rule in words, for SQL and reports (the tx_labels view)
        **label_evidence.columns(labels, M.values_known(a["tx_first_in"], a["in_value"])),
        "peel_chain": pa.array(chain, mask=chain < 0),
        "peel_pos": pa.array(pos.astype(np.int32), mask=pos < 0),
    })
    out = store.path / "analysis" / LABELS_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out)
    return table


def coordinator_txs(store: ChainStore, tx_first_out: np.ndarray) -> np.ndarray:
    """Per tx (uint8): does it pay a published CoinJoin coordinator (``mixers.WASABI1_COORDINATORS``)?"""
    table = store.read_table("addresses", ["addr_num", "address"])
    hit = pc.is_in(table["address"], value_set=pa.array(list(M.WASABI1_COORDINATORS)))
    nums = table["addr_num"].filter(hit).to_numpy()
    n_tx = len(tx_first_out) - 1
    if len(nums) == 0:
        return np.zeros(n_tx, np.uint8)
    paid = np.isin(np.asarray(store.column("out_addr")), nums.astype(np.uint32))
    out_tx = np.searchsorted(tx_first_out.astype(np.int64), np.flatnonzero(paid), side="right") - 1
    flags = np.zeros(n_tx, np.uint8)
    flags[out_tx] = 1
    return flags


def _script_types(store: ChainStore, from_out: int) -> np.ndarray:
    """Per output its script type, read from the table parts holding outputs ``from_out`` on."""
    out = np.zeros(store.counts["outputs"], np.uint8)
    at = 0
    for path in store.part_paths("outputs"):
        n = pq.ParquetFile(path).metadata.num_rows
        if at + n > from_out and at < len(out):
            types = pq.read_table(path, columns=["script_type"])["script_type"].to_numpy()
            out[at:at + n] = types[:len(out) - at]
        at += n
    return out


def labelled_txs(store: ChainStore) -> int:
    """How many txs, from the first, the labels file covers (0 before ``chaintrail cluster``)."""
    path = store.path / "analysis" / LABELS_FILE
    return min(pq.ParquetFile(path).metadata.num_rows, store.counts["txs"]) if path.exists() else 0


_unlabelled: dict[tuple, tuple[int, np.ndarray]] = {}


def classify_unlabelled(store: ChainStore) -> tuple[int, np.ndarray]:
    """The txs the labels file does not cover (every tx before ``chaintrail cluster``, the blocks
    ingested since after it), classified from their structure now: (first such tx, their labels).

    Tracing and linking must know CoinJoins on any store: a mixer policy that never sees a mix
    would silently spread taint over every participant. The labels that need the mixer's entity
    (``refine_with_clusters``) come only with ``chaintrail cluster``. Memoised per store state.
    """
    n, lo = store.counts["txs"], labelled_txs(store)
    if lo >= n:
        return n, np.zeros(0, np.uint8)
    key = (str(store.path.resolve()), n, lo, store.manifest.get("next_part"))
    if key not in _unlabelled:
        a = index_arrays(store, from_tx=lo)
        labels = classify_store(store, a, lo)
        _unlabelled.clear()             # one store state kept: the last one asked about
        _unlabelled[key] = (lo, labels)
    return _unlabelled[key]

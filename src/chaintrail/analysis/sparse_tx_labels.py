"""The tx classifier's labels as the few txs that carry one: CoinJoins and mixes are thousands of millions.

A trace asks "is this tx a mix, and which kind" for the txs it pops; a byte per tx of the chain answered
that at the price of a gigabyte per trace worker on a full chain. Here the labelled txs are a sorted
array (with their label codes), and a lookup is a binary search in it (``x[t]`` for an int or an array).
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from chaintrail.analysis.mixers import LABELS, MIXING
from chaintrail.analysis.tx_labels import LABELS_FILE, classify_unlabelled
from chaintrail.store.chainstore import ChainStore


def _find(txs: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``t`` (an array) in the sorted ``txs`` and whether each is there."""
    j = np.searchsorted(txs, t)
    if not len(txs):
        return j, np.zeros(len(j), np.bool_)
    return j, txs[np.minimum(j, len(txs) - 1)] == t


class TxFlags:
    """The txs carrying a flag (sorted int64 ``txs``): ``x[t]`` is a bool, ``x[array]`` a bool array."""

    def __init__(self, txs: np.ndarray):
        self.txs = np.ascontiguousarray(txs, np.int64)

    @classmethod
    def of_mask(cls, mask: np.ndarray) -> "TxFlags":
        return cls(np.flatnonzero(np.asarray(mask, np.bool_)))

    def __getitem__(self, t):
        if np.ndim(t) == 0:         # one tx (demixing asks ~10^5 times a trace): no per-call arrays
            j = int(self.txs.searchsorted(t))
            return j < len(self.txs) and int(self.txs[j]) == int(t)
        _, hit = _find(self.txs, np.asarray(t, np.int64))
        return hit

    def __len__(self) -> int:
        return len(self.txs)

    def dense(self, n_tx: int) -> np.ndarray:
        """As a bool per tx (for a whole-chain pass that wants one)."""
        mask = np.zeros(n_tx, np.bool_)
        mask[self.txs] = True
        return mask


class TxLabels:
    """Per labelled tx its code in ``mixers.LABELS`` (sorted ``txs``, ``codes``); others are "none" (0)."""

    def __init__(self, txs: np.ndarray, codes: np.ndarray):
        self.txs, self.codes = np.ascontiguousarray(txs, np.int64), np.ascontiguousarray(codes, np.int8)

    def __getitem__(self, t):
        scalar = np.ndim(t) == 0
        j, hit = _find(self.txs, np.atleast_1d(np.asarray(t, np.int64)))
        out = np.zeros(len(j), np.int8)
        out[hit] = self.codes[j[hit]]
        return int(out[0]) if scalar else out

    def with_code(self, code: int) -> np.ndarray:
        """The txs labelled ``code``, ascending."""
        return self.txs[self.codes == code]

    def flags(self, which: np.ndarray) -> TxFlags:
        """The txs whose code is flagged in ``which`` (a bool per code, e.g. ``mixers.MIXING``)."""
        return TxFlags(self.txs[which[self.codes]])


def tx_label_list(store: ChainStore) -> TxLabels:
    """The classifier's labels: from ``analysis/tx_labels.parquet``, and for txs it does not cover, from
    their structure (``tx_labels.classify_unlabelled``)."""
    n = store.counts["txs"]
    lo, tail = classify_unlabelled(store)
    txs, codes = np.zeros(0, np.int64), np.zeros(0, np.int8)
    path = store.path / "analysis" / LABELS_FILE
    if path.exists():
        # Only the labelled rows, filtered while reading (a row group at a time, not a column per tx).
        t = pq.read_table(path, columns=["tx_num", "label"], filters=[("label", "!=", "none")])
        lab = t["label"].combine_chunks()
        remap = np.array([LABELS.index(x) if x in LABELS else 0 for x in lab.dictionary.to_pylist()], np.int8)
        got = remap[np.asarray(lab.indices)]
        nums = t["tx_num"].to_numpy().astype(np.int64)
        keep = (got != 0) & (nums < min(lo, n))                  # most txs are "none"; the tail is classified below
        txs, codes = nums[keep], got[keep]
    hit = np.flatnonzero(tail)
    txs = np.concatenate([txs, lo + hit.astype(np.int64)])
    codes = np.concatenate([codes, np.asarray(tail[hit], np.int8)])
    order = np.argsort(txs, kind="stable")
    return TxLabels(txs[order], codes[order])


def mixer_tx_list(store: ChainStore) -> TxFlags:
    """Txs labelled CoinJoin or mixer: by ``analysis/tx_labels.parquet``, and for txs it does not cover
    (no ``chaintrail cluster`` yet, or blocks ingested since), by their structure."""
    n = store.counts["txs"]
    lo, tail = classify_unlabelled(store)
    nums = np.zeros(0, np.int64)
    path = store.path / "analysis" / LABELS_FILE
    if path.exists():
        t = pq.read_table(path, columns=["tx_num"], filters=[("is_mixing", "=", True)])
        nums = t["tx_num"].to_numpy().astype(np.int64)
        nums = nums[nums < min(lo, n)]
    return TxFlags(np.sort(np.concatenate([nums, lo + np.flatnonzero(MIXING[tail]).astype(np.int64)])))

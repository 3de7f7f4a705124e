"""A trace engine's lookups through the store's current read model: O(log n) instead of O(chain) per engine.

Without it a trace engine found an address by a DuckDB scan of the addresses table (1.7-3.7 s per trace on
a 10M-tx chain), an address's outputs by building an index of every output (0.7-2.6 s per engine), read the
cluster labels (120 MB per 15M addresses) and the tx classifier's labels from Parquet (1.1-1.6 s). The read
model (``store.readmodel``: built by ingest and ``chaintrail cluster``) already holds all of these, sorted and
memory-mapped:

* address string -> addr_num: a binary search over each run's addresses in string order;
* an address's outputs: each run's CSR slice, in output order;
* per address its cluster: the entities' mapped labels (when they cover every address);
* the labelled txs with their pattern and mixing flag (labels ``chaintrail cluster`` wrote; txs it did not
  cover are classified from their structure, as without a read model).

``ModelLookups.open`` returns None where the store has no read model for its current state (never built,
or stale after an ingest or clustering since): the engine then falls back to the store's tables.
"""

from __future__ import annotations

import numpy as np

from chaintrail.analysis.mixers import LABELS, MIXING
from chaintrail.analysis.sparse_tx_labels import TxFlags, TxLabels
from chaintrail.analysis.tx_labels import classify_unlabelled
from chaintrail.errors import StoreError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.model_addresses import ModelAddresses
from chaintrail.store.readmodel import ReadModel, open_read_model
from chaintrail.store.sorted_search import searchsorted


class ModelLookups:
    """Address, output, cluster and tx-label lookups over one read model (mapped; nothing O(chain) copied)."""

    def __init__(self, store: ChainStore, model: ReadModel):
        self.store, self.model = store, model
        self.key: str = model.meta["key"]
        self._runs = [a for _, a in model.runs]
        self._names = ModelAddresses(model)

    @classmethod
    def open(cls, store: ChainStore) -> "ModelLookups | None":
        """The lookups of the store's current read model, or None where it has none (never built, or stale)."""
        try:
            model = open_read_model(store, build_if_missing=False)
        except (StoreError, OSError, ValueError):
            return None
        if model.meta.get("counts") != {k: store.counts[k] for k in model.meta.get("counts", {})}:
            return None
        return cls(store, model)

    # -- addresses --------------------------------------------------------------------------------------
    def addr_num(self, address: str) -> int | None:
        """The addr_num of an exact address string (bech32 in either case, as the workbench finds it), or None."""
        return self._names.num(address)

    def addr_nums(self, addresses) -> np.ndarray:
        """addr_nums of many address strings at once (-1 where absent; bech32 in any case)."""
        return self._names.nums(addresses)

    def address_names(self, addr) -> list[str | None]:
        """The address string of each addr_num (None for -1: an output with no address)."""
        return self._names.names(addr)

    def outputs_of(self, a: int) -> np.ndarray:
        """Every output paid to address ``a`` (int64, ascending out_num)."""
        got = []
        for run in self._runs:
            keys = run["out_keys"]
            j = searchsorted(keys, int(a))
            if j < len(keys) and int(keys[j]) == a:
                got.append(run["out_order"][int(run["out_ptr"][j]):int(run["out_ptr"][j + 1])])
        return np.concatenate(got).astype(np.int64) if got else np.zeros(0, np.int64)

    # -- clusters and tx labels -------------------------------------------------------------------------
    def labels(self) -> np.ndarray | None:
        """Per address its cluster (the mapped entity labels), or None where they do not cover every address."""
        ent = self.model.ent
        n = self.store.counts["addresses"]
        return ent["labels"] if ent is not None and len(ent["labels"]) == n else None

    def tx_label_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The classifier's labelled txs: (tx_nums ascending int64, code in ``mixers.LABELS`` int8, mixing bool),
        txs with neither a label nor the mixing flag left out. As ``analysis/tx_labels.parquet`` says for the
        txs it covers, and classified from their structure for the txs after them (``classify_unlabelled``)."""
        txl = self.model.txl
        names = self.model.pattern_names
        remap = np.array([LABELS.index(x) if x in LABELS else 0 for x in names] or [0], np.int8)
        lo, tail = classify_unlabelled(self.store)
        txs = np.asarray(txl["tx"], np.int64)
        keep = txs < lo
        codes = remap[np.asarray(txl["pattern"], np.int64)[keep]] if keep.any() else np.zeros(0, np.int8)
        mixing = np.asarray(txl["mixing"], np.bool_)[keep]
        hit = np.flatnonzero(tail)
        tail = np.asarray(tail, np.int64)
        return (np.concatenate([txs[keep], lo + hit.astype(np.int64)]),
                np.concatenate([codes, tail[hit].astype(np.int8)]),
                np.concatenate([mixing, MIXING[tail[hit]]]))

    def tx_labels(self) -> TxLabels:
        """As ``sparse_tx_labels.tx_label_list``, from the mapped labels."""
        txs, codes, _ = self.tx_label_arrays()
        has = codes != 0
        return TxLabels(txs[has], codes[has])

    def mixer_txs(self) -> TxFlags:
        """As ``sparse_tx_labels.mixer_tx_list``, from the mapped labels."""
        txs, _, mixing = self.tx_label_arrays()
        return TxFlags(txs[mixing])

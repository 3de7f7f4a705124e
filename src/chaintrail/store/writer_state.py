"""What an ingest keeps in memory between batches: growable columns and key tables."""

from __future__ import annotations

import numpy as np

from chaintrail.store.hashtable import KeyTable
from chaintrail.store.index import load_columns


class Grow:
    """A 1-D numpy array with amortised O(1) appends."""

    def __init__(self, initial: np.ndarray):
        self._a = np.empty(max(1024, 2 * len(initial)), initial.dtype)
        self._a[: len(initial)] = initial
        self.n = len(initial)

    def extend(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self._a):
            grown = np.empty(max(need, 2 * len(self._a)), self._a.dtype)
            grown[: self.n] = self._a[: self.n]
            self._a = grown
        self._a[self.n:need] = rows
        self.n = need

    def view(self) -> np.ndarray:
        return self._a[: self.n]


class WriterState:
    """The columns an ingest needs to resolve spends and intern addresses."""

    def __init__(self, index_dir, counts: dict[str, int]):
        cols = load_columns(index_dir, counts)
        self.n_blocks = counts["blocks"]
        self.n_tx = counts["txs"]
        self.n_in = counts["inputs"]
        self.n_out = counts["outputs"]
        self.n_addr = counts["addresses"]
        self.txids = KeyTable(32, cols["txid"])
        self.addrs = KeyTable(33, cols["addr_key"])
        self.tx_first_out = Grow(cols["tx_first_out"])
        self.out_value = Grow(cols["out_value"])
        self.out_addr = Grow(cols["out_addr"])

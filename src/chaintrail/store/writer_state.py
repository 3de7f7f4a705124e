"""What an ingest keeps in memory between batches: growable columns and key tables."""

from __future__ import annotations

import numpy as np

from chaintrail.store.hashtable import KeyTable
from chaintrail.store.index import load_columns
from chaintrail.store.prefault import prefault_async

# Rows expected per byte of blocks, on the high side (a 1M-tx generated chain: 399 B per tx, 196 per address,
# 190 per output; the 10M-tx one 353, 232, 168; mainnet has more bytes per row): room made for them up front
# spares the key tables their rehashes while they double (a third of the mapping thread's CPU on a fresh 1M-tx
# ingest; on the 10M-tx chain, reserving at most 8M keys left 2.9 s of rehashing and copying to the mapping thread).
BYTES_PER_TX, BYTES_PER_ADDR, BYTES_PER_OUT = 250, 160, 150
# Keys reserved at most per table ahead of need: 256 MB of txid keys and 512 MB of hash table (only the table is
# touched before it fills: the keys' and columns' pages are mapped as they are written).
EXPECT_MAX = 1 << 25


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

    def reserve(self, n: int) -> None:
        """Room for ``n`` rows in all (untouched pages of the room cost no memory)."""
        if n > len(self._a):
            grown = np.empty(n, self._a.dtype)
            grown[: self.n] = self._a[: self.n]
            self._a = grown

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

    def expect(self, block_bytes: int) -> None:
        """Make room for the rows that about ``block_bytes`` of blocks are likely to add (see ``BYTES_PER_TX``)."""
        def more(per: int) -> int:
            return min(block_bytes // per, EXPECT_MAX)
        self.txids.reserve(self.txids.n + more(BYTES_PER_TX))
        self.addrs.reserve(self.addrs.n + more(BYTES_PER_ADDR))
        # Random inserts touch every page of the tables at once: zero them on the idle core meanwhile.
        prefault_async([self.txids._table, self.addrs._table])
        self.tx_first_out.reserve(self.tx_first_out.n + more(BYTES_PER_TX))
        self.out_value.reserve(self.out_value.n + more(BYTES_PER_OUT))
        self.out_addr.reserve(self.out_addr.n + more(BYTES_PER_OUT))

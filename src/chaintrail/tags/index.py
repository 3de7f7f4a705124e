"""Address -> tag rows in constant time, one at a time or a whole batch at once.

The distinct addresses sit in a hash table (a dict keyed by the address
string, built in C from the Arrow dictionary); each maps to a run of row ids
in a CSR layout. Batches go through Arrow's hash join (``index_in``), so
screening 100,000 addresses never loops in Python. Per row the index also
keeps the screening-category bitmask and the cluster-definer flag as numpy
arrays, which is what the screening kernels read.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.tags import taxonomy as tx
from chaintrail.tags.model import normalize_address, normalize_addresses


class TagIndex:
    """Built from a ``tags`` table; read-only."""

    def __init__(self, tags: pa.Table):
        self.n_rows = tags.num_rows
        addr = tags.column("address").combine_chunks() if tags.num_rows else pa.array([], pa.string())
        enc = pc.dictionary_encode(addr)
        self.addresses: pa.Array = enc.dictionary           # distinct addresses (nulls: tx-hash tags)
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        self.n_addr = len(self.addresses)
        self._slot_table: dict[str, int] | None = None   # built on the first single lookup
        valid = codes >= 0
        self.order = np.argsort(codes[valid], kind="stable").astype(np.int64)
        self.order = np.flatnonzero(valid)[self.order]
        self.ptr = np.zeros(self.n_addr + 1, np.int64)
        np.cumsum(np.bincount(codes[valid], minlength=self.n_addr), out=self.ptr[1:])
        self.row_addr = codes                                 # slot of each row's address (-1 none)
        self.row_bits = _risk_bits(tags)
        self.row_definer = tags.column("is_cluster_definer").to_numpy(zero_copy_only=False).astype(np.bool_) \
            if tags.num_rows else np.zeros(0, np.bool_)
        # Per distinct address: the union of its tags' categories.
        self.addr_bits = np.zeros(self.n_addr, np.uint16)
        if valid.any():
            np.bitwise_or.at(self.addr_bits, codes[valid], self.row_bits[valid])

    ARRAYS = ("order", "ptr", "row_addr", "row_bits", "row_definer", "addr_bits")

    @classmethod
    def from_arrays(cls, addresses: pa.Array, arrays: dict[str, np.ndarray]) -> "TagIndex":
        """The index as saved earlier (``addresses`` and ``ARRAYS``, e.g. memory-mapped): nothing recomputed."""
        self = cls.__new__(cls)
        self.addresses, self.n_addr, self._slot_table = addresses, len(addresses), None
        for name in cls.ARRAYS:
            setattr(self, name, arrays[name])
        self.n_rows = len(self.row_addr)
        return self

    @property
    def _slot(self) -> dict[str, int]:
        if self._slot_table is None:
            self._slot_table = dict(zip(self.addresses.to_pylist(), range(self.n_addr)))
        return self._slot_table

    def slot(self, address: str) -> int:
        """Slot of one address in ``addresses`` (-1 if untagged). O(1): a hash-table probe."""
        table = self._slot
        s = table.get(address)
        if s is None:
            s = table.get(normalize_address(address), -1)
        return s

    def rows(self, address: str) -> np.ndarray:
        """Row ids of every tag on ``address``. O(1) plus the number of tags."""
        s = self.slot(address)
        return self.order[self.ptr[s]:self.ptr[s + 1]] if s >= 0 else np.zeros(0, np.int64)

    def slots(self, addresses: pa.Array | list[str]) -> np.ndarray:
        """Slots of a whole batch of addresses at once (-1 where untagged)."""
        arr = addresses if isinstance(addresses, pa.Array) else pa.array(addresses, pa.string())
        idx = pc.index_in(normalize_addresses(arr), value_set=self.addresses)
        return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def categories(self, address: str) -> list[str]:
        """Screening categories of the tags on ``address`` (most severe first). O(1)."""
        s = self.slot(address)
        return tx.categories_from_bits(int(self.addr_bits[s])) if s >= 0 else []

    def rows_of_slot(self, s: int) -> np.ndarray:
        return self.order[self.ptr[s]:self.ptr[s + 1]]


def _risk_bits(tags: pa.Table) -> np.ndarray:
    """Bitmask of screening categories per row (taxonomy.BIT)."""
    n = tags.num_rows
    bits = np.zeros(n, np.uint16)
    if n == 0:
        return bits
    col = tags.column("risk_categories").combine_chunks()
    flat = pc.list_flatten(col)
    if len(flat) == 0:
        return bits
    parents = pc.list_parent_indices(col).to_numpy()
    codes = pc.index_in(flat, value_set=pa.array(tx.CATEGORIES)).fill_null(-1).to_numpy(zero_copy_only=False)
    ok = codes >= 0
    np.bitwise_or.at(bits, parents[ok], (np.left_shift(1, codes[ok])).astype(np.uint16))
    return bits

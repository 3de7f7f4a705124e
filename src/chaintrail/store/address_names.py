"""Address strings by address id, read from the store's parts only as they are asked for.

A trace names a few endpoint addresses; reading the whole address table for them took 5.7 s of
the first trace on a 10M-tx chain (104 parts, 14.8M addresses). Each part covers a contiguous id
range (addresses are appended in id order), so a lookup reads only the parts its ids fall in,
~13-50 ms each, and keeps them for the next lookup; ``load_all`` reads the rest up front for a
long-lived engine. (A background thread reading them slowed the foreground's first traces 2x.)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.errors import StoreError
from chaintrail.store.chainstore import ChainStore


class AddressNames:
    def __init__(self, store: ChainStore):
        self._store = store
        self._paths = store.part_paths("addresses")
        rows = [pq.ParquetFile(p).metadata.num_rows for p in self._paths]
        self._start = np.concatenate([[0], np.cumsum(rows, dtype=np.int64)]).astype(np.int64)
        self._parts: dict[int, pa.Array] = {}
        self._is_whole = False
        self._all: pa.Array | None = None

    def __len__(self) -> int:
        return int(self._start[-1])

    def __call__(self, ids) -> list[str | None]:
        """The address of each id; None for ids < 0 (an output with no address)."""
        ids = np.asarray(ids, np.int64)
        bad = ids >= len(self)
        if bad.any():
            raise StoreError(f"address id {int(ids[bad][0])} is not in the store ({len(self)} addresses)")
        out: list[str | None] = [None] * len(ids)
        at = np.flatnonzero(ids >= 0)
        if self._all is not None and len(at) > 16:   # one take (a take costs ~30 us, an element ~1 us)
            for i, name in zip(at.tolist(), self._all.take(pa.array(ids[at])).to_pylist()):
                out[i] = name
            return out
        part = np.searchsorted(self._start, ids[at], side="right") - 1
        for i, a, p in zip(at.tolist(), ids[at].tolist(), part.tolist()):
            out[i] = self._part(p)[a - int(self._start[p])].as_py()
        return out

    def load_all(self) -> None:
        """Read every part now and keep them as one array (a long-lived engine)."""
        if self._all is None:
            for p in range(len(self._paths)):
                self._part(p)
            parts = [self._parts[p] for p in range(len(self._paths))]
            if sum(x.nbytes for x in parts) >= 1 << 31:     # past 32-bit string offsets
                parts = [x.cast(pa.large_string()) for x in parts]
            self._all = pa.concat_arrays(parts) if parts else pa.array([], pa.string())
            self._parts = {p: self._all.slice(int(self._start[p]), int(self._start[p + 1] - self._start[p]))
                           for p in range(len(self._paths))}

    def _part(self, p: int) -> pa.Array:
        got = self._parts.get(p)
        if got is None:
            t = pq.read_table(self._paths[p], columns=["addr_num", "address"])
            nums = t["addr_num"].to_numpy()
            if len(nums) and not (nums == np.arange(self._start[p], self._start[p + 1])).all():
                self._whole()                    # parts out of id order: index the table as a whole
                return self._parts[p]
            got = self._parts[p] = t["address"].combine_chunks()
        return got

    def _whole(self) -> None:
        t = self._store.read_table("addresses", ["addr_num", "address"])
        nums = t["addr_num"].to_numpy()
        if not (np.sort(nums) == np.arange(len(nums))).all():
            raise StoreError("address ids in the store are not 0..n-1")
        names = t["address"].take(pa.array(np.argsort(nums, kind="stable"))).combine_chunks()
        self._parts = {p: names.slice(int(self._start[p]), int(self._start[p + 1] - self._start[p]))
                       for p in range(len(self._paths))}
        self._all, self._is_whole = names, True

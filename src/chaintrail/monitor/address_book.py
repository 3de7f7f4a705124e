"""Address strings <-> the store's address ids, for the few addresses a monitor cares about.

Resolving goes through Arrow's hash join (one C pass over the store's addresses), and names are read only for
the ids asked, so a store of millions of addresses costs no Python loop.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.store.chainstore import ChainStore
from chaintrail.tags.model import normalize_address


class AddressBook:
    """One chain family's addresses in ``store`` (``chain`` btc or eth)."""

    def __init__(self, store: ChainStore, chain: str):
        self.store = store
        self.chain = chain

    def __len__(self) -> int:
        return int(self.store.counts.get("eth_addresses" if self.chain == "eth" else "addresses", 0))

    def _all(self) -> pa.Array:
        if self.chain == "eth":
            keys = np.ascontiguousarray(self.store.column("eth_addr_key"))
            n = len(keys)
            return pa.Array.from_buffers(pa.binary(20), n, [None, pa.py_buffer(keys.tobytes())])
        return self.store.read_table("addresses", ["address"])["address"].combine_chunks()

    def resolve(self, addresses: list[str]) -> list[int]:
        """Address id of each address (-1 where the store has not seen it)."""
        if not addresses or len(self) == 0:
            return [-1] * len(addresses)
        if self.chain == "eth":
            wanted = pa.array([bytes.fromhex(a[2:]) for a in addresses], pa.binary(20))
        else:
            wanted = pa.array(addresses, pa.string())
        idx = pc.index_in(wanted, value_set=self._all())
        return [-1 if i is None else int(i) for i in idx.to_pylist()]

    def names(self, ids) -> list[str | None]:
        """The address of each id (None for -1)."""
        ids = np.asarray(ids, np.int64)
        if self.chain == "eth":
            keys = self.store.column("eth_addr_key")
            return [None if i < 0 else "0x" + bytes(keys[i]).hex() for i in ids.tolist()]
        from chaintrail.store.address_names import AddressNames
        out: list[str | None] = [None] * len(ids)
        ok = np.flatnonzero(ids >= 0)
        if len(ok):
            for k, name in zip(ok.tolist(), AddressNames(self.store)(ids[ok])):
                out[k] = name
        return out

    @staticmethod
    def normal(address: str) -> str:
        return normalize_address(address)

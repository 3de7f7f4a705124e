"""The API's read model of a chain store: every lookup the workbench needs, in O(answer), memory-mapped.

The arrays come from the store's persisted read model (``store.readmodel``: built by ingest and
``cluster``, or on first open), so opening a view does no O(chain) work and holds no O(chain) memory
beyond the mapped files' pages:

* address string -> addr_num by binary search over the addresses in string order (also answers
  prefix searches), addr_num -> string from a mapped blob;
* txid -> tx_num likewise, over the txids in display order;
* per address, its outputs and the inputs that spend from it as CSR runs, and its received, sent and
  unspent totals;
* per cluster, its members as a CSR run and its totals.

A page of an address's outputs or an entity's members is then a slice of a sorted array, whatever the
size of the address or the entity, so the API never loads a supercluster of millions to show its first
hundred members.
"""

from __future__ import annotations

import numpy as np

from chaintrail.chains.bitcoin.script_types import SCRIPT_TYPE_NAMES
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.csr import csr
from chaintrail.store.readmodel import ReadModel, open_read_model

_ADDR_WIDTH = 96          # longer strings are not addresses any chain uses


def gather(order: np.ndarray, ptr: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The CSR runs of several keys, concatenated (vectorised; no loop over keys)."""
    keys = np.asarray(keys, np.int64)
    lo = np.asarray(ptr[keys], np.int64)
    n = np.asarray(ptr[keys + 1], np.int64) - lo
    if not len(keys) or not n.sum():
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - (np.cumsum(n) - n), n)
    return np.asarray(order[starts + np.arange(int(n.sum()))], np.int64)


def _sums(values: np.ndarray, order: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Exact int64 sum of ``values`` over each CSR run (empty runs give 0)."""
    out = np.zeros(len(ptr) - 1, np.int64)
    if len(order) == 0:
        return out
    vals = np.asarray(values, np.int64)[order]
    nonempty = np.flatnonzero(ptr[1:] > ptr[:-1])
    out[nonempty] = np.add.reduceat(vals, ptr[:-1][nonempty])
    return out


def _lower_bound(n: int, key: bytes, at) -> int:
    """First i in [0, n) with at(i) >= key (``at(i)`` ascending)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if at(mid) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


class _Sizes:
    """Members per cluster id, read off the member CSR's offsets (no O(addresses) array kept)."""

    def __init__(self, ptr: np.ndarray):
        self._ptr = ptr

    def __len__(self) -> int:
        return len(self._ptr) - 1

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return int(self._ptr[int(i) + 1]) - int(self._ptr[int(i)])
        i = np.asarray(i, np.int64)
        return np.asarray(self._ptr[i + 1], np.int64) - np.asarray(self._ptr[i], np.int64)

    def __array__(self, dtype=None, copy=None):
        out = np.diff(np.asarray(self._ptr, np.int64))
        return out if dtype is None else out.astype(dtype)


class ChainView:
    """Read-only, thread-safe lookups over one chain store (nothing here mutates after ``__init__``)."""

    def __init__(self, store: ChainStore, labels: np.ndarray | None = None, model: ReadModel | None = None):
        self.store = store
        self.model = rm = model if model is not None else open_read_model(store)
        c = rm.meta["counts"]
        self.n_tx, self.n_in, self.n_out, self.n_addr = c["txs"], c["inputs"], c["outputs"], c["addresses"]
        if c != {k: store.counts[k] for k in c}:
            raise ValueError(f"read model {rm.folder} holds {c}, not the store's counts")
        col = lambda name: store.column(name).view(np.ndarray)  # noqa: E731 - plain views of the mapped columns
        self.tx_first_in, self.tx_first_out = rm["tx_first_in"], rm["tx_first_out"]
        self.in_prev, self.in_value, self.in_addr = col("in_prev"), col("in_value"), col("in_addr")
        self.out_value, self.out_addr = col("out_value"), col("out_addr")
        self.out_spent = rm["out_spent"]           # as of the model's counts (not the live, patched file)
        self._txid_bytes = col("txid")
        self.network = store.network
        self.blk_time, self.blk_height, self._blk_hash = rm["blk_time"], rm["blk_height"], rm["blk_hash"]
        self._blk_first_tx = col("blk_first_tx")
        self.tx_fee, self.tx_vsize = rm["tx_fee"], rm["tx_vsize"]
        self.tx_is_cb, self.tx_mixing, self.tx_pattern = rm["tx_is_cb"], rm["tx_mixing"], rm["tx_pattern"]
        self.tx_pattern_names: list[str] = rm.meta["pattern_names"]
        self._txid_order = rm["txid_sort"]
        self._addr_off, self._addr_blob, self._addr_order = rm["addr_off"], rm["addr_blob"], rm["addr_sort"]
        self.addr_type = rm["addr_type"]
        self.out_order, self.out_ptr = rm["out_order"], rm["out_ptr"]
        self.in_order, self.in_ptr = rm["in_order"], rm["in_ptr"]
        self.addr_received, self.addr_sent, self.addr_balance = rm["received"], rm["sent"], rm["balance"]
        if labels is None:
            self.labels = rm["labels"]
            self.member_order, self.member_ptr = rm["member_order"], rm["member_ptr"]
            self.cluster_received, self.cluster_sent = rm["cluster_received"], rm["cluster_sent"]
            self.cluster_balance = rm["cluster_balance"]
        else:
            self.set_labels(labels)

    def pattern(self, t: int) -> str | None:
        name = self.tx_pattern_names[int(self.tx_pattern[t])]
        return None if name == "none" else name

    def set_labels(self, labels: np.ndarray) -> None:
        """Entities from other cluster labels (addr_num -> cluster id), built in memory (O(addresses))."""
        labels = np.asarray(labels, np.int64)[: self.n_addr]
        if len(labels) < self.n_addr:
            labels = np.concatenate([labels, np.arange(len(labels), self.n_addr, dtype=np.int64)])
        self.labels = labels
        self.member_order, self.member_ptr = csr(labels, self.n_addr)
        self.cluster_received = _sums(self.addr_received, self.member_order, self.member_ptr)
        self.cluster_sent = _sums(self.addr_sent, self.member_order, self.member_ptr)
        self.cluster_balance = _sums(self.addr_balance, self.member_order, self.member_ptr)

    @property
    def cluster_size(self) -> "_Sizes":
        return _Sizes(self.member_ptr)

    def tx_block_of(self, t: int) -> int:
        return int(np.searchsorted(self._blk_first_tx, np.uint32(t), side="right")) - 1

    # -- addresses -------------------------------------------------------------------
    def _addr_bytes(self, a: int) -> bytes:
        return self._addr_blob[int(self._addr_off[a]):int(self._addr_off[a + 1])].tobytes()

    def _sorted_addr(self, i: int) -> bytes:
        return self._addr_bytes(int(self._addr_order[i]))

    def addr_num(self, address: str) -> int | None:
        """The addr_num of an exact address string (bech32 in any case), or None."""
        for cand in dict.fromkeys((address, address.lower())):
            key = cand.encode("utf-8", "replace")
            if not key or len(key) > _ADDR_WIDTH:
                continue
            i = _lower_bound(self.n_addr, key, self._sorted_addr)
            if i < self.n_addr and self._sorted_addr(i) == key:
                return int(self._addr_order[i])
        return None

    def address(self, a: int) -> str | None:
        return (self._addr_bytes(a).decode("utf-8", "replace") or None) if 0 <= a < self.n_addr else None

    def addresses(self, nums) -> list[str | None]:
        return [self._addr_bytes(a).decode("utf-8", "replace") or None for a in np.asarray(nums, np.int64).tolist()]

    def address_prefix(self, prefix: str, limit: int) -> list[int]:
        """addr_nums whose address starts with ``prefix`` (sorted by address), at most ``limit``."""
        key = prefix.encode("utf-8", "replace")
        if not key or len(key) > _ADDR_WIDTH:
            return []
        lo = _lower_bound(self.n_addr, key, self._sorted_addr)
        out: list[int] = []
        for i in range(lo, min(lo + limit, self.n_addr)):
            if not self._sorted_addr(i).startswith(key):
                break
            out.append(int(self._addr_order[i]))
        return out

    def script_type(self, a: int) -> str:
        return SCRIPT_TYPE_NAMES[int(self.addr_type[a])] if int(self.addr_type[a]) < len(SCRIPT_TYPE_NAMES) else "unknown"

    def addr_outputs(self, a: int) -> np.ndarray:
        return self.out_order[self.out_ptr[a]:self.out_ptr[a + 1]]

    def addr_inputs(self, a: int) -> np.ndarray:
        return self.in_order[self.in_ptr[a]:self.in_ptr[a + 1]]

    def outputs_of(self, addrs: np.ndarray) -> np.ndarray:
        """Every output paying any of ``addrs``, in chain order."""
        return np.sort(gather(self.out_order, self.out_ptr, addrs))

    def addr_txs(self, a: int) -> np.ndarray:
        """Every tx that pays or spends from ``a``, in chain order."""
        t_out = self.tx_of_outs(self.addr_outputs(a))
        t_in = self.tx_of_ins(self.addr_inputs(a))
        return np.union1d(t_out, t_in)

    def addr_first_last_tx(self, a: int) -> tuple[int | None, int | None]:
        outs, ins = self.addr_outputs(a), self.addr_inputs(a)
        firsts = [self.tx_of_out(int(outs[0]))] if len(outs) else []
        lasts = [self.tx_of_out(int(outs[-1]))] if len(outs) else []
        if len(ins):
            firsts.append(self.tx_of_in(int(ins[0])))
            lasts.append(self.tx_of_in(int(ins[-1])))
        return (min(firsts), max(lasts)) if firsts else (None, None)

    # -- transactions ----------------------------------------------------------------
    def _sorted_txid(self, i: int) -> bytes:
        return self._txid_bytes[int(self._txid_order[i]), ::-1].tobytes()      # display order

    def tx_num(self, txid_hex: str) -> int | None:
        if not self.n_tx or len(txid_hex) != 64:
            return None
        try:
            key = bytes.fromhex(txid_hex)
        except ValueError:
            return None
        i = _lower_bound(self.n_tx, key, self._sorted_txid)
        return int(self._txid_order[i]) if i < self.n_tx and self._sorted_txid(i) == key else None

    def txid_prefix(self, prefix_hex: str, limit: int) -> list[int]:
        """tx_nums whose txid starts with an even-length hex prefix."""
        if len(prefix_hex) % 2:
            prefix_hex = prefix_hex[:-1]
        try:
            key = bytes.fromhex(prefix_hex)
        except ValueError:
            return []
        if not key:
            return []
        lo = _lower_bound(self.n_tx, key, self._sorted_txid)
        out: list[int] = []
        for i in range(lo, min(lo + limit, self.n_tx)):
            if not self._sorted_txid(i).startswith(key):
                break
            out.append(int(self._txid_order[i]))
        return out

    def txid(self, t: int) -> str:
        return bytes(self._txid_bytes[t][::-1]).hex()

    def tx_of_out(self, o: int) -> int:
        return int(np.searchsorted(self.tx_first_out, o, side="right") - 1)

    def tx_of_in(self, i: int) -> int:
        return int(np.searchsorted(self.tx_first_in, i, side="right") - 1)

    def tx_of_outs(self, outs: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.tx_first_out, outs, side="right") - 1

    def tx_of_ins(self, ins: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.tx_first_in, ins, side="right") - 1

    def tx_outputs(self, t: int) -> np.ndarray:
        return np.arange(self.tx_first_out[t], self.tx_first_out[t + 1], dtype=np.int64)

    def tx_inputs(self, t: int) -> np.ndarray:
        return np.arange(self.tx_first_in[t], self.tx_first_in[t + 1], dtype=np.int64)

    def tx_time(self, t: int) -> int:
        return int(self.blk_time[self.tx_block_of(t)])

    def tx_height(self, t: int) -> int | None:
        h = int(self.blk_height[self.tx_block_of(t)])
        return None if h < 0 else h

    def tx_block_hash(self, t: int) -> str:
        return self._blk_hash[self.tx_block_of(t)].tobytes().hex()

    def outpoint(self, o: int) -> str:
        t = self.tx_of_out(o)
        return f"{self.txid(t)}:{o - int(self.tx_first_out[t])}"

    # -- entities --------------------------------------------------------------------
    def cluster_of(self, a: int) -> int:
        return int(self.labels[a])

    def is_cluster(self, cid: int) -> bool:
        return 0 <= cid < self.n_addr and int(self.cluster_size[cid]) > 0

    def members(self, cid: int) -> np.ndarray:
        return self.member_order[self.member_ptr[cid]:self.member_ptr[cid + 1]]

"""The API's read model of a chain store: every lookup the workbench needs, in memory, in O(answer).

Built once when the server starts, from the store's index columns:

* address string -> addr_num through a sorted fixed-width byte array
  (binary search; also answers prefix searches), addr_num -> string from the
  ``addresses`` table;
* txid -> tx_num through the store's own ``KeyTable``;
* per address, its outputs and the inputs that spend from it as CSR runs
  (stable argsort of ``out_addr`` / ``in_addr``), and its received and sent
  totals;
* per cluster, its members as a CSR run and its totals.

A page of an address's outputs or an entity's members is then a slice of a
sorted array, whatever the size of the address or the entity, so the API never
loads a supercluster of millions to show its first hundred members.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.analysis.clustering import cluster_labels
from chaintrail.chains.bitcoin.script_types import SCRIPT_TYPE_NAMES
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.csr import csr
from chaintrail.store.hashtable import KeyTable
from chaintrail.store.index import NONE

_NONE = int(NONE)
_ADDR_WIDTH = 96          # longer strings are not addresses any chain uses


def gather(order: np.ndarray, ptr: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The CSR runs of several keys, concatenated (vectorised; no loop over keys)."""
    keys = np.asarray(keys, np.int64)
    lo = ptr[keys]
    n = ptr[keys + 1] - lo
    if not len(keys) or not n.sum():
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - (np.cumsum(n) - n), n)
    return order[starts + np.arange(int(n.sum()))]


def _sums(values: np.ndarray, order: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Exact int64 sum of ``values`` over each CSR run (empty runs give 0)."""
    n = len(ptr) - 1
    out = np.zeros(n, np.int64)
    if len(order) == 0:
        return out
    vals = np.asarray(values, np.int64)[order]
    nonempty = np.flatnonzero(ptr[1:] > ptr[:-1])
    out[nonempty] = np.add.reduceat(vals, ptr[:-1][nonempty])
    return out


class ChainView:
    """Read-only, thread-safe lookups over one chain store (nothing here mutates after ``__init__``)."""

    def __init__(self, store: ChainStore, labels: np.ndarray | None = None):
        self.store = store
        c = store.counts
        self.n_tx, self.n_in, self.n_out, self.n_addr = c["txs"], c["inputs"], c["outputs"], c["addresses"]
        col = store.column
        self.tx_first_in = np.append(np.asarray(col("tx_first_in"), np.int64), self.n_in)
        self.tx_first_out = np.append(np.asarray(col("tx_first_out"), np.int64), self.n_out)
        self.in_prev = np.asarray(col("in_prev"))
        self.in_value = np.asarray(col("in_value"))
        self.in_addr = np.asarray(col("in_addr"))
        self.out_value = np.asarray(col("out_value"))
        self.out_addr = np.asarray(col("out_addr"))
        self.out_spent = np.asarray(col("out_spent"))
        self._txid_bytes = np.asarray(col("txid"))
        self.network = store.network
        self._load_blocks()
        self._load_txs()
        self._load_addresses()
        self._index_addresses()
        self._load_tx_labels()
        self.set_labels(cluster_labels(store) if labels is None else labels)

    # -- loading ---------------------------------------------------------------------
    def _load_blocks(self) -> None:
        blocks = self.store.read_table("blocks", ["block_seq", "height", "time", "hash"]).sort_by("block_seq")
        self.blk_height = blocks["height"].to_numpy(zero_copy_only=False)      # float with NaN where unknown
        self.blk_time = blocks["time"].to_numpy().astype(np.int64)
        self.blk_hash = [h.hex() for h in blocks["hash"].to_pylist()]
        blk_first_tx = np.asarray(self.store.column("blk_first_tx"), np.int64)
        self.tx_block = np.repeat(np.arange(len(blk_first_tx)), np.diff(np.append(blk_first_tx, self.n_tx)))
        self.tx_is_cb = np.zeros(self.n_tx, np.bool_)
        self.tx_is_cb[blk_first_tx[blk_first_tx < self.n_tx]] = True

    def _load_txs(self) -> None:
        txs = self.store.read_table("txs", ["tx_num", "fee_sat", "vsize"])
        order = np.argsort(txs["tx_num"].to_numpy(), kind="stable")
        fee = txs["fee_sat"].take(pa.array(order))
        self.tx_fee = pc.fill_null(fee, -1).to_numpy().astype(np.int64)
        self.tx_vsize = txs["vsize"].take(pa.array(order)).to_numpy().astype(np.int64)
        self._txids = KeyTable(32, self._txid_bytes) if self.n_tx else None
        # Display-order txids, sorted, for prefix search.
        disp = np.ascontiguousarray(self._txid_bytes[:, ::-1]).view("S32").reshape(-1) if self.n_tx \
            else np.zeros(0, "S32")
        self._txid_order = np.argsort(disp, kind="stable")
        self._txid_sorted = disp[self._txid_order]

    def _load_addresses(self) -> None:
        table = self.store.read_table("addresses", ["addr_num", "address", "script_type"])
        nums = table["addr_num"].to_numpy()
        if len(nums) and not (np.diff(nums) > 0).all():
            table = table.take(pa.array(np.argsort(nums, kind="stable")))
        self.addr_str: pa.StringArray = table["address"].combine_chunks() if table.num_rows else pa.array([], pa.string())
        self.addr_type = table["script_type"].to_numpy().astype(np.uint8)
        raw = pc.fill_null(self.addr_str, "").to_numpy(zero_copy_only=False).astype(f"S{_ADDR_WIDTH}") \
            if table.num_rows else np.zeros(0, f"S{_ADDR_WIDTH}")
        self._addr_order = np.argsort(raw, kind="stable")
        self._addr_sorted = raw[self._addr_order]

    def _index_addresses(self) -> None:
        n = self.n_addr
        self.out_order, self.out_ptr = csr(self.out_addr, n, skip=NONE)
        self.in_order, self.in_ptr = csr(self.in_addr, n, skip=NONE)
        self.addr_received = _sums(self.out_value, self.out_order, self.out_ptr)
        known = np.where(self.in_value >= 0, self.in_value, 0)
        self.addr_sent = _sums(known, self.in_order, self.in_ptr)
        unspent = np.where(self.out_spent == NONE, self.out_value, 0)
        self.addr_balance = _sums(unspent, self.out_order, self.out_ptr)

    def _load_tx_labels(self) -> None:
        """Pattern of each tx (CoinJoin, consolidation, ...) from ``analysis/tx_labels.parquet``, if written."""
        self.tx_pattern_names: list[str] = ["none"]
        self.tx_pattern = np.zeros(self.n_tx, np.int32)
        self.tx_mixing = np.zeros(self.n_tx, np.bool_)
        path = self.store.path / "analysis" / "tx_labels.parquet"
        if not path.exists():
            return
        t = pq.read_table(path, columns=["tx_num", "label", "is_mixing"])
        nums = t["tx_num"].to_numpy()
        ok = nums < self.n_tx
        lab = t["label"].combine_chunks()
        if pa.types.is_dictionary(lab.type):
            self.tx_pattern_names = lab.dictionary.to_pylist()
            codes = lab.indices.to_numpy(zero_copy_only=False)
        else:
            enc = pc.dictionary_encode(lab)
            self.tx_pattern_names = enc.dictionary.to_pylist()
            codes = enc.indices.to_numpy(zero_copy_only=False)
        self.tx_pattern[nums[ok]] = codes[ok]
        self.tx_mixing[nums[ok]] = t["is_mixing"].to_numpy(zero_copy_only=False)[ok]

    def pattern(self, t: int) -> str | None:
        name = self.tx_pattern_names[int(self.tx_pattern[t])]
        return None if name == "none" else name

    def set_labels(self, labels: np.ndarray) -> None:
        """(Re)build the entity view from cluster labels (addr_num -> cluster id)."""
        labels = np.asarray(labels, np.int64)[: self.n_addr]
        if len(labels) < self.n_addr:
            labels = np.concatenate([labels, np.arange(len(labels), self.n_addr, dtype=np.int64)])
        self.labels = labels
        n = self.n_addr
        self.member_order, self.member_ptr = csr(labels, n)
        self.cluster_size = np.diff(self.member_ptr)
        self.cluster_received = _sums(self.addr_received, self.member_order, self.member_ptr)
        self.cluster_sent = _sums(self.addr_sent, self.member_order, self.member_ptr)
        self.cluster_balance = _sums(self.addr_balance, self.member_order, self.member_ptr)

    # -- addresses -------------------------------------------------------------------
    def addr_num(self, address: str) -> int | None:
        """The addr_num of an exact address string (bech32 in any case), or None."""
        for cand in dict.fromkeys((address, address.lower())):
            key = cand.encode("utf-8", "replace")
            if not key or len(key) > _ADDR_WIDTH:
                continue
            i = int(np.searchsorted(self._addr_sorted, key))
            if i < len(self._addr_sorted) and self._addr_sorted[i] == key:
                return int(self._addr_order[i])
        return None

    def address(self, a: int) -> str | None:
        return self.addr_str[a].as_py() if 0 <= a < self.n_addr else None

    def addresses(self, nums) -> list[str | None]:
        nums = np.asarray(nums, np.int64)
        return self.addr_str.take(pa.array(nums)).to_pylist() if len(nums) else []

    def address_prefix(self, prefix: str, limit: int) -> list[int]:
        """addr_nums whose address starts with ``prefix`` (sorted by address), at most ``limit``."""
        key = prefix.encode("utf-8", "replace")
        if not key or len(key) > _ADDR_WIDTH:
            return []
        lo = int(np.searchsorted(self._addr_sorted, key))
        out: list[int] = []
        for i in range(lo, min(lo + limit, len(self._addr_sorted))):
            if not self._addr_sorted[i].startswith(key):
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
    def tx_num(self, txid_hex: str) -> int | None:
        if self._txids is None or len(txid_hex) != 64:
            return None
        try:
            key = bytes.fromhex(txid_hex)[::-1]
        except ValueError:
            return None
        t = int(self._txids.lookup(np.frombuffer(key, np.uint8).reshape(1, 32))[0])
        return t if t >= 0 else None

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
        lo = int(np.searchsorted(self._txid_sorted, key))
        out: list[int] = []
        for i in range(lo, min(lo + limit, len(self._txid_sorted))):
            if not self._txid_sorted[i].startswith(key):
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
        return int(self.blk_time[self.tx_block[t]])

    def tx_height(self, t: int) -> int | None:
        h = self.blk_height[self.tx_block[t]]
        return None if h is None or np.isnan(h) else int(h)

    def tx_block_hash(self, t: int) -> str:
        return self.blk_hash[int(self.tx_block[t])]

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

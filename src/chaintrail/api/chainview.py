"""The API's read model of a chain store: every lookup the workbench needs, in O(answer), memory-mapped.

The arrays come from the store's persisted read model (``store.readmodel``: built by ingest and
``cluster``, or on first open), so opening a view does no O(chain) work and holds no O(chain) memory
beyond the mapped files' pages. The model is a few *runs* of blocks (at most ``readmodel.MAX_RUNS``),
each with its own sorted arrays; a lookup searches each run and joins the answers in chain order:

* address string -> addr_num by binary search over each run's addresses in string order (also answers
  prefix searches), addr_num -> string from the run's mapped blob;
* txid -> tx_num likewise, over each run's txids in display order;
* per address, its outputs and the inputs that spend from it (each run's CSR run, concatenated), and
  its received, sent and unspent totals (each run's sums, added);
* per cluster, its members as a CSR run and its totals (as of the clustering, plus a sparse delta for
  rows ingested since).

A page of an address's outputs or an entity's members is then a slice of a sorted array, whatever the
size of the address or the entity, so the API never loads a supercluster of millions to show its first
hundred members.
"""

from __future__ import annotations

import numpy as np

from chaintrail.chains.bitcoin.script_types import SCRIPT_TYPE_NAMES
from chaintrail.store import index as ix
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.csr import csr
from chaintrail.store.model_addresses import ModelAddresses, lower_bound
from chaintrail.store.readmodel import ReadModel, open_read_model
from chaintrail.store.sorted_search import searchsorted

_NONE = int(ix.NONE)


def gather(order: np.ndarray, ptr: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The CSR runs of several keys, concatenated (vectorised; no loop over keys)."""
    keys = np.asarray(keys, np.int64)
    lo = np.asarray(ptr[keys], np.int64)
    n = np.asarray(ptr[keys + 1], np.int64) - lo
    if not len(keys) or not n.sum():
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - (np.cumsum(n) - n), n)
    return np.asarray(order[starts + np.arange(int(n.sum()))], np.int64)


# A per-address total from each run's sorted sums: (column prefix, sign).
_TOTAL_PARTS = {"received": (("out", 1),), "sent": (("in", 1),), "balance": (("out", 1), ("sp", -1))}
_TOTAL_KINDS = ("received", "sent", "balance")       # the order ``addr_totals_of`` returns them in


def _find(keys: np.ndarray, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``want`` in the sorted ``keys`` and whether each is there."""
    if not len(keys):
        return np.zeros(len(want), np.int64), np.zeros(len(want), np.bool_)
    j = searchsorted(keys, want)
    jc = np.minimum(j, len(keys) - 1)
    return jc, (j < len(keys)) & (keys[jc] == want)


class _Rows:
    """One per-row array split over the runs (txs, blocks or addresses): ``x[i]`` for an int or an array."""

    def __init__(self, runs: list[dict], name: str, starts: np.ndarray, n: int):
        self._parts, self._starts, self._n = [r[name] for r in runs], starts, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            i = int(i) + (self._n if i < 0 else 0)
            j = int(np.searchsorted(self._starts, i, side="right")) - 1
            return self._parts[j][i - int(self._starts[j])]
        i = np.asarray(i, np.int64)
        j = np.searchsorted(self._starts, i, side="right") - 1
        out = np.empty(i.shape + self._parts[0].shape[1:], self._parts[0].dtype)
        for r in np.unique(j).tolist():
            sel = j == r
            out[sel] = self._parts[r][i[sel] - int(self._starts[r])]
        return out

    def __array__(self, dtype=None, copy=None):
        out = np.concatenate(self._parts) if self._parts else np.zeros(0)
        return out if dtype is None else out.astype(dtype)


class _Firsts:
    """``tx_first_in`` / ``tx_first_out`` from the index, with ``x[n_tx]`` the total (a sentinel)."""

    def __init__(self, col: np.ndarray, total: int):
        self._col, self._total = col, total

    def __len__(self) -> int:
        return len(self._col) + 1

    def __getitem__(self, t):
        if isinstance(t, (int, np.integer)):
            return self._total if int(t) == len(self._col) else int(self._col[t])
        t = np.asarray(t, np.int64)
        out = np.full(t.shape, self._total, np.int64)
        inside = t < len(self._col)
        out[inside] = self._col[t[inside]]
        return out


class _Spent:
    """``out_spent`` as of the view's counts, read from the index's mapped file (links to later inputs,
    which a concurrent ingest patches in place, read as unspent): no private copy."""

    def __init__(self, col: np.ndarray, n_in: int):
        self._col, self._n_in = col, n_in

    def __len__(self) -> int:
        return len(self._col)

    def __getitem__(self, o):
        v = np.asarray(self._col[o])
        v = np.where(v < self._n_in, v, ix.NONE).astype(np.uint32)
        return int(v) if v.ndim == 0 else v


class _Totals:
    """Per-address received / sent / balance, added up over the runs."""

    def __init__(self, view: "ChainView", kind: str):
        self._v, self._kind = view, kind

    def __len__(self) -> int:
        return self._v.n_addr

    def __getitem__(self, a):
        if isinstance(a, (int, np.integer)):
            return self._v.addr_totals_of(int(a))[_TOTAL_KINDS.index(self._kind)]
        return self._v._addr_totals(np.atleast_1d(np.asarray(a, np.int64)), self._kind)


class _ClusterTotals(_Totals):
    def __getitem__(self, c):
        scalar = isinstance(c, (int, np.integer))
        got = self._v._cluster_totals(np.atleast_1d(np.asarray(c, np.int64)), self._kind)
        return int(got[0]) if scalar else got


class _Labels:
    """addr_num -> cluster id: the clustering's labels, each later address its own entity."""

    def __init__(self, base: np.ndarray, n: int):
        self._base, self._n = base, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, a):
        if isinstance(a, (int, np.integer)):
            return int(self._base[a]) if a < len(self._base) else int(a)
        a = np.asarray(a, np.int64)
        out = a.copy()
        old = a < len(self._base)
        out[old] = self._base[a[old]]
        return out

    def __array__(self, dtype=None, copy=None):
        out = np.concatenate([np.asarray(self._base, np.int64), np.arange(len(self._base), self._n, dtype=np.int64)])
        return out if dtype is None else out.astype(dtype)


class _Sizes:
    """Members per cluster id, from the member CSR's offsets; 1 for ids past the clustering."""

    def __init__(self, ptr: np.ndarray, n: int):
        self._ptr, self._n = ptr, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        i = np.asarray(i, np.int64)
        n_ent = len(self._ptr) - 1
        inside = i < n_ent
        ic = np.where(inside, i, 0)
        got = np.where(inside, np.asarray(self._ptr[ic + 1], np.int64) - np.asarray(self._ptr[ic], np.int64),
                       (i < self._n).astype(np.int64)) if n_ent else (i < self._n).astype(np.int64)
        return int(got) if got.ndim == 0 else got

    def __array__(self, dtype=None, copy=None):
        out = self[np.arange(self._n)]
        return out if dtype is None else out.astype(dtype)


class _MixingOf:
    """Whether a tx mixes, from the sparse tx labels (``x[t]`` for an int or an array)."""

    def __init__(self, txl: dict):
        self._tx, self._mix = txl["tx"], txl["mixing"]

    def __getitem__(self, t):
        j, hit = _find(self._tx, np.atleast_1d(np.asarray(t, np.int64)))
        out = np.zeros(len(j), np.bool_)
        out[hit] = self._mix[j[hit]]
        return bool(out[0]) if isinstance(t, (int, np.integer)) else out


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
        runs = self._runs = [a for _, a in rm.runs]
        metas = [m for m, _ in rm.runs]
        starts = {k: np.asarray([m[k][0] for m in metas], np.int64) for k in "btioa"}
        self._names = ModelAddresses(rm)
        self._first_in, self._first_out = col("tx_first_in"), col("tx_first_out")
        self.tx_first_in, self.tx_first_out = _Firsts(self._first_in, self.n_in), _Firsts(self._first_out, self.n_out)
        self.in_prev, self.in_value, self.in_addr = col("in_prev"), col("in_value"), col("in_addr")
        self.out_value, self.out_addr = col("out_value"), col("out_addr")
        spent = ix.open_column(store.index_dir, "out_spent", self.n_out)
        self.out_spent = _Spent(np.asarray(spent).view(np.ndarray) if self.n_out else spent, self.n_in)
        self._txid_bytes = col("txid")
        self.network = store.network
        cat = lambda name: np.concatenate([r[name] for r in runs]) if runs else np.zeros(0, np.int64)  # noqa: E731
        self.blk_time, self.blk_height = cat("blk_time"), cat("blk_height")     # O(blocks): small
        self._blk_hash = _Rows(runs, "blk_hash", starts["b"], c["blocks"])
        self._blk_first_tx = col("blk_first_tx")
        self.tx_fee = _Rows(runs, "tx_fee", starts["t"], self.n_tx)
        self.tx_vsize = _Rows(runs, "tx_vsize", starts["t"], self.n_tx)
        self.tx_is_cb = _Rows(runs, "tx_is_cb", starts["t"], self.n_tx)
        self.addr_type = _Rows(runs, "addr_type", starts["a"], self.n_addr)
        self.tx_pattern_names: list[str] = rm.pattern_names
        self._txl = rm.txl
        self.tx_mixing = _MixingOf(self._txl)
        self.addr_received, self.addr_sent = _Totals(self, "received"), _Totals(self, "sent")
        self.addr_balance = _Totals(self, "balance")
        self.cluster_received, self.cluster_sent = _ClusterTotals(self, "received"), _ClusterTotals(self, "sent")
        self.cluster_balance = _ClusterTotals(self, "balance")
        if labels is not None:
            self.set_labels(labels)
        else:
            self._ent, self._delta = rm.ent, rm.delta
            self._use_ent()

    def _use_ent(self) -> None:
        ent = self._ent
        if ent is None:
            self.labels = _Labels(np.zeros(0, np.int64), self.n_addr)
            self.member_order, self.member_ptr = np.zeros(0, np.uint32), np.zeros(1, np.int64)
        else:
            self.labels = ent["labels"] if len(ent["labels"]) == self.n_addr else _Labels(ent["labels"], self.n_addr)
            self.member_order, self.member_ptr = ent["member_order"], ent["member_ptr"]

    def pattern(self, t: int) -> str | None:
        txs = self._txl["tx"]
        j = searchsorted(txs, t)
        if j < len(txs) and int(txs[j]) == t:
            name = self.tx_pattern_names[int(self._txl["pattern"][j])]
            return None if name == "none" else name
        return None

    def set_labels(self, labels: np.ndarray) -> None:
        """Entities from other cluster labels (addr_num -> cluster id), built in memory (O(addresses))."""
        labels = np.asarray(labels, np.int64)[: self.n_addr]
        if len(labels) < self.n_addr:
            labels = np.concatenate([labels, np.arange(len(labels), self.n_addr, dtype=np.int64)])
        order, ptr = csr(labels, self.n_addr)
        every = np.arange(self.n_addr, dtype=np.int64)
        recv, sent = self._addr_totals(every, "received"), self._addr_totals(every, "sent")
        spent = recv - self._addr_totals(every, "balance")
        sums: dict[str, np.ndarray] = {}
        for name, v in (("received", recv), ("sent", sent), ("spent", spent)):
            sums[name] = np.zeros(self.n_addr, np.int64)
            np.add.at(sums[name], labels, v)
        self._ent = {"labels": labels, "member_order": order, "member_ptr": ptr,
                     **{f"cluster_{k}": v for k, v in sums.items()}}
        self._delta = {k: np.zeros(0, np.int64) for k in ("keys", "received", "sent", "spent")}
        self._use_ent()

    def addr_totals_of(self, a: int) -> tuple[int, int, int]:
        """(received, sent, balance) of one address in one pass over the runs, in Python ints: a lookup's totals
        without a dozen numpy calls."""
        got = {"out": 0, "in": 0, "sp": 0}
        for run in self._runs:
            for g in got:
                keys = run[g + "_keys"]
                j = searchsorted(keys, a)
                if j < len(keys) and keys[j] == a:
                    got[g] += int(run[g + "_sum"][j])
        return got["out"], got["in"], got["out"] - got["sp"]

    def _addr_totals(self, a: np.ndarray, kind: str) -> np.ndarray:
        groups = _TOTAL_PARTS[kind]
        out = np.zeros(len(a), np.int64)
        for run in self._runs:
            for g, sign in groups:
                j, hit = _find(run[g + "_keys"], a)
                if hit.any():
                    out[hit] += sign * np.asarray(run[g + "_sum"][j[hit]], np.int64)
        return out

    def _cluster_totals(self, cid: np.ndarray, kind: str) -> np.ndarray:
        ent = self._ent
        if ent is None:
            return self._addr_totals(cid, kind)
        parts = {"received": (("received", 1),), "sent": (("sent", 1),),
                 "balance": (("received", 1), ("spent", -1))}[kind]
        out = np.zeros(len(cid), np.int64)
        n_ent = len(ent["labels"])
        inside = cid < n_ent
        j, hit = _find(self._delta["keys"], cid)
        for name, sign in parts:
            out[inside] += sign * np.asarray(ent["cluster_" + name][cid[inside]], np.int64)
            out[hit] += sign * np.asarray(self._delta[name][j[hit]], np.int64)
        return out

    @property
    def cluster_size(self) -> "_Sizes":
        return _Sizes(self.member_ptr, self.n_addr)

    def tx_block_of(self, t: int) -> int:
        return searchsorted(self._blk_first_tx, t, side="right") - 1

    def tx_blocks(self, txs: np.ndarray) -> np.ndarray:
        """The block of each tx_num in ``txs``."""
        return searchsorted(self._blk_first_tx, np.asarray(txs, np.int64), side="right") - 1

    # -- addresses -------------------------------------------------------------------
    def addr_num(self, address: str) -> int | None:
        """The addr_num of an exact address string (bech32 in any case), or None."""
        return self._names.num(address)

    def addr_nums(self, addresses) -> np.ndarray:
        """addr_nums of many exact address strings at once (-1 where absent; bech32 in any case): one binary
        search per run, vectorised over the strings, so O(k log n) for k strings and nothing O(chain)."""
        return self._names.nums(addresses)

    def address(self, a: int) -> str | None:
        return (self._names.name_bytes(a).decode("utf-8", "replace") or None) if 0 <= a < self.n_addr else None

    def addresses(self, nums) -> list[str | None]:
        return self._names.names(nums)

    def address_prefix(self, prefix: str, limit: int) -> list[int]:
        """addr_nums whose address starts with ``prefix`` (sorted by address), at most ``limit``."""
        return self._names.with_prefix(prefix, limit)

    def script_type(self, a: int) -> str:
        t = int(self.addr_type[a])
        return SCRIPT_TYPE_NAMES[t] if t < len(SCRIPT_TYPE_NAMES) else "unknown"

    def _runs_of(self, g: str, a: int) -> list[np.ndarray]:
        got = []
        for run in self._runs:
            keys = run[g + "_keys"]
            j = searchsorted(keys, a)
            if j < len(keys) and int(keys[j]) == a:
                got.append(run[g + "_order"][int(run[g + "_ptr"][j]):int(run[g + "_ptr"][j + 1])])
        return got

    def addr_outputs(self, a: int) -> np.ndarray:
        got = self._runs_of("out", int(a))
        return np.concatenate(got).astype(np.int64) if got else np.zeros(0, np.int64)

    def addr_inputs(self, a: int) -> np.ndarray:
        got = self._runs_of("in", int(a))
        return np.concatenate(got).astype(np.int64) if got else np.zeros(0, np.int64)

    def _count(self, g: str, a: int) -> int:
        n = 0
        for run in self._runs:
            keys = run[g + "_keys"]
            j = searchsorted(keys, a)
            if j < len(keys) and int(keys[j]) == a:
                n += int(run[g + "_ptr"][j + 1]) - int(run[g + "_ptr"][j])
        return n

    def n_outputs(self, a: int) -> int:
        return self._count("out", int(a))

    def n_inputs(self, a: int) -> int:
        return self._count("in", int(a))

    def _of(self, g: str, addrs: np.ndarray) -> np.ndarray:
        addrs = np.asarray(addrs, np.int64)
        got = []
        for run in self._runs:
            j, hit = _find(run[g + "_keys"], addrs)
            if hit.any():
                got.append(gather(run[g + "_order"], run[g + "_ptr"], j[hit]))
        return np.sort(np.concatenate(got)) if got else np.zeros(0, np.int64)

    def rows_with_owner(self, kind: str, addrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every output (``kind`` "out") or input ("in") of ``addrs``, and the position in ``addrs`` of its owner."""
        addrs = np.asarray(addrs, np.int64)
        rows, owner = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for run in self._runs:
            j, hit = _find(run[kind + "_keys"], addrs)
            if hit.any():
                ptr = run[kind + "_ptr"]
                jj = j[hit]
                rows.append(gather(run[kind + "_order"], ptr, jj))
                n = np.asarray(ptr[jj + 1], np.int64) - np.asarray(ptr[jj], np.int64)
                owner.append(np.repeat(np.flatnonzero(hit), n))
        return np.concatenate(rows), np.concatenate(owner)

    def outputs_of(self, addrs: np.ndarray) -> np.ndarray:
        """Every output paying any of ``addrs``, in chain order."""
        return self._of("out", addrs)

    def inputs_of(self, addrs: np.ndarray) -> np.ndarray:
        """Every input spending from any of ``addrs``, in chain order."""
        return self._of("in", addrs)

    def addr_txs(self, a: int) -> np.ndarray:
        """Every tx that pays or spends from ``a``, in chain order."""
        t_out = self.tx_of_outs(self.addr_outputs(a))
        t_in = self.tx_of_ins(self.addr_inputs(a))
        return np.union1d(t_out, t_in)

    def addr_first_last_tx(self, a: int) -> tuple[int | None, int | None]:
        _, first, last = self.tx_span(self.addr_outputs(a), self.addr_inputs(a))
        return first, last

    def tx_span(self, outs: np.ndarray, ins: np.ndarray) -> tuple[int, int | None, int | None]:
        """(distinct txs, first tx, last tx) of an address's outputs and the inputs spending from it (both in
        chain order, so each side's txs come sorted)."""
        t_out, t_in = self.tx_of_outs(outs), self.tx_of_ins(ins)
        if not len(t_out) and not len(t_in):
            return 0, None, None
        ends = [int(t[i]) for t in (t_out, t_in) if len(t) for i in (0, -1)]
        if len(t_out) + len(t_in) <= 64:          # a typical address: sets beat numpy's sort on a few items
            n = len(set(t_out.tolist()).union(t_in.tolist()))
        else:
            n = len(np.union1d(t_out, t_in))
        return n, min(ends), max(ends)

    # -- transactions ----------------------------------------------------------------
    def _sorted_txid(self, run: dict, i: int) -> bytes:
        return self._txid_bytes[int(run["txid_sort"][i]), ::-1].tobytes()      # display order

    def tx_num(self, txid_hex: str) -> int | None:
        if not self.n_tx or len(txid_hex) != 64:
            return None
        try:
            key = bytes.fromhex(txid_hex)
        except ValueError:
            return None
        for run in self._runs:
            order = run["txid_sort"]
            i = lower_bound(len(order), key, lambda k: self._sorted_txid(run, k))
            if i < len(order) and self._sorted_txid(run, i) == key:
                return int(order[i])
        return None

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
        hits: list[tuple[bytes, int]] = []
        for run in self._runs:
            order = run["txid_sort"]
            lo = lower_bound(len(order), key, lambda k: self._sorted_txid(run, k))
            for i in range(lo, min(lo + limit, len(order))):
                s = self._sorted_txid(run, i)
                if not s.startswith(key):
                    break
                hits.append((s, int(order[i])))
        return [t for _, t in sorted(hits)[:limit]]

    def txid(self, t: int) -> str:
        return bytes(self._txid_bytes[t][::-1]).hex()

    def tx_of_out(self, o: int) -> int:
        return searchsorted(self._first_out, o, side="right") - 1

    def tx_of_in(self, i: int) -> int:
        return searchsorted(self._first_in, i, side="right") - 1

    def tx_of_outs(self, outs: np.ndarray) -> np.ndarray:
        return searchsorted(self._first_out, np.asarray(outs, np.int64), side="right") - 1

    def tx_of_ins(self, ins: np.ndarray) -> np.ndarray:
        return searchsorted(self._first_in, np.asarray(ins, np.int64), side="right") - 1

    def tx_outputs(self, t: int) -> np.ndarray:
        return np.arange(self.tx_first_out[t], self.tx_first_out[t + 1], dtype=np.int64)

    def tx_inputs(self, t: int) -> np.ndarray:
        return np.arange(self.tx_first_in[t], self.tx_first_in[t + 1], dtype=np.int64)

    def tx_place(self, t: int) -> tuple[int | None, int, str]:
        """(height, time, block hash) of tx ``t``: its block found once."""
        b = self.tx_block_of(t)
        h = int(self.blk_height[b])
        return (None if h < 0 else h), int(self.blk_time[b]), self._blk_hash[b].tobytes().hex()

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
        if cid < len(self.member_ptr) - 1:
            return self.member_order[self.member_ptr[cid]:self.member_ptr[cid + 1]]
        return np.array([cid], np.int64) if 0 <= cid < self.n_addr else np.zeros(0, np.int64)

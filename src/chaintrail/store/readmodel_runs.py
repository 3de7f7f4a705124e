"""Runs of the workbench's read model: one per range of blocks, built and merged in bounded memory.

A run covers blocks ``[b0, b1)`` and the txs, inputs, outputs and addresses they introduced (ranges
``t``, ``i``, ``o``, ``a`` in META). The chain is append-only, so a run never changes once written: a
new ingest adds runs, and a handful of runs are merged k-way into one when there are too many.

Files (ids are the store's global ones; ``ptr`` arrays hold ``len(keys) + 1`` offsets into ``order``):
    rows:   tx_fee int64 (-1 unknown) | tx_vsize int32 | tx_is_cb bool | blk_time, blk_height int64 |
            blk_hash (n, 32) | addr_type uint8 | addr_off int64 (+1, into this run's addr_blob) | addr_blob
    sorted: txid_sort uint32 (by display txid, then tx_num) | addr_sort uint32 (by string, then addr_num)
    keyed:  out_keys uint32 (addresses paid here, ascending), out_ptr, out_order uint32 (out_nums),
            out_sum int64 (value received) | in_keys, in_ptr, in_order (in_nums), in_sum (value sent,
            unknown as 0) | sp_keys, sp_sum: value of outputs of the key spent by this run's inputs
            (balance = received - spent, summed over runs)

Building a run holds O(run) memory (``ROWS`` inputs + outputs at most, one block more); merging streams
every file in chunks of ``CHUNK`` rows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.errors import StoreError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.index import NONE
from chaintrail.store.sorted_search import searchsorted

META = "META.json"
ROWS = 1 << 21           # inputs + outputs per built run
CHUNK = 1 << 18          # rows per step of a merge
ADDR_WIDTH = 96          # longer strings are not addresses any chain uses (sorted on their first 96 bytes)
ROW_FILES = ("tx_fee", "tx_vsize", "tx_is_cb", "blk_time", "blk_height", "blk_hash", "addr_type")
KEYED = ("out", "in", "sp")


# -- reading the store's tables by row range ---------------------------------------------------------
class Parts:
    """Rows ``[lo, hi)`` of a raw table, reading only the Parquet parts that hold them."""

    def __init__(self, store: ChainStore):
        self.store = store
        self._ends: dict[str, tuple[list[Path], np.ndarray]] = {}

    def _index(self, table: str) -> tuple[list[Path], np.ndarray]:
        if table not in self._ends:
            paths = self.store.part_paths(table)
            rows = [pq.ParquetFile(p).metadata.num_rows for p in paths]
            self._ends[table] = (paths, np.cumsum(np.asarray(rows, np.int64)))
        return self._ends[table]

    def rows(self, table: str, num: str, lo: int, hi: int, columns: list[str]) -> pa.Table:
        paths, ends = self._index(table)
        first = int(np.searchsorted(ends, lo, side="right"))
        last = int(np.searchsorted(ends, hi, side="left"))
        got = []
        for k in range(first, min(last + 1, len(paths))):
            at = int(ends[k - 1]) if k else 0       # streamed in batches: a part may hold a whole ingest's rows
            for batch in pq.ParquetFile(paths[k]).iter_batches(batch_size=1 << 16, columns=[num] + columns):
                s, e = max(lo - at, 0), min(hi - at, batch.num_rows)
                if e > s:
                    got.append(pa.Table.from_batches([batch.slice(s, e - s)]))
                at += batch.num_rows
                if at >= hi:
                    break
        t = pa.concat_tables(got) if got else None
        if t is not None:
            nums = t[num].to_numpy()
            if len(nums) and not (np.diff(nums) > 0).all():
                t = t.take(pa.array(np.argsort(nums, kind="stable")))
        if t is None or t.num_rows != hi - lo or (hi > lo and (int(t[num][0].as_py()) != lo)):
            raise StoreError(f"store {self.store.path}: table {table} lacks rows {lo}..{hi}")
        return t


# -- one run from the store --------------------------------------------------------------------------
def _keyed(keys: np.ndarray, vals: np.ndarray, base: int, with_order: bool = True) -> dict[str, np.ndarray]:
    """Rows grouped by key (NONE left out): sorted unique keys, their runs of global row ids, their sums."""
    idx = np.flatnonzero(keys != NONE)
    k = keys[idx]
    order = np.argsort(k, kind="stable")
    ks = k[order]
    uniq, start = np.unique(ks, return_index=True)
    v = np.asarray(vals, np.int64)[idx[order]]
    out = {"keys": uniq.astype(np.uint32),
           "sum": np.add.reduceat(v, start) if len(v) else np.zeros(0, np.int64)}
    if with_order:
        out["ptr"] = np.append(start, len(ks)).astype(np.int64)
        out["order"] = (idx[order] + base).astype(np.uint32)
    return out


def _display_keys(txid: np.ndarray, nums: np.ndarray) -> np.ndarray:
    """Sort keys of txs: display txid (reversed bytes), then tx_num big-endian (ties in chain order)."""
    m = len(nums)
    out = np.empty((m, 36), np.uint8)
    out[:, :32] = np.asarray(txid[nums])[:, ::-1]
    out[:, 32:] = np.asarray(nums, ">u4").view(np.uint8).reshape(m, 4)
    return out.view("S36").reshape(m)


@nb.njit(cache=True)
def _fill_addr_keys(blob, off, local, out):
    for r in range(local.shape[0]):
        a = local[r]
        lo, hi = off[a], off[a + 1]
        n = min(hi - lo, out.shape[1] - 4)
        for j in range(n):
            out[r, j] = blob[lo + j]


def _addr_keys(blob: np.ndarray, off: np.ndarray, local: np.ndarray, nums: np.ndarray) -> np.ndarray:
    """Sort keys of addresses: the string NUL-padded to ``ADDR_WIDTH``, then addr_num big-endian."""
    m = len(nums)
    out = np.zeros((m, ADDR_WIDTH + 4), np.uint8)
    _fill_addr_keys(blob, off, np.asarray(local, np.int64), out)
    out[:, ADDR_WIDTH:] = np.asarray(nums, ">u4").view(np.uint8).reshape(m, 4)
    return out.view(f"S{ADDR_WIDTH + 4}").reshape(m)


def spans(store: ChainStore, b0: int) -> list[dict]:
    """Block ranges from ``b0`` to the store's end, each with at most ``ROWS`` inputs + outputs (or one block)."""
    c = store.counts
    nb_, n_tx = c["blocks"], c["txs"]
    if b0 >= nb_:
        return []
    bft = np.append(np.asarray(store.column("blk_first_tx")[b0:], np.int64), n_tx)
    bfa = np.append(np.asarray(store.column("blk_first_addr")[b0:], np.int64), c["addresses"])
    first_in, first_out = store.column("tx_first_in"), store.column("tx_first_out")
    inside = bft < n_tx
    i_at = np.full(len(bft), c["inputs"], np.int64)
    o_at = np.full(len(bft), c["outputs"], np.int64)
    i_at[inside] = np.asarray(first_in[bft[inside]], np.int64)
    o_at[inside] = np.asarray(first_out[bft[inside]], np.int64)
    rows = i_at + o_at
    out, s = [], 0
    while s < len(bft) - 1:
        e = max(s + 1, int(np.searchsorted(rows, rows[s] + ROWS, side="right")) - 1)
        e = min(e, len(bft) - 1)
        out.append({"b": [b0 + s, b0 + e], "t": [int(bft[s]), int(bft[e])], "i": [int(i_at[s]), int(i_at[e])],
                    "o": [int(o_at[s]), int(o_at[e])], "a": [int(bfa[s]), int(bfa[e])]})
        s = e
    return out


def build_run(store: ChainStore, parts: Parts, span: dict, folder: Path) -> dict:
    """Write the run of ``span`` into ``folder`` (created); its META."""
    (b0, b1), (t0, t1), (i0, i1), (o0, o1), (a0, a1) = (span[k] for k in "btioa")
    col = store.column
    a: dict[str, np.ndarray] = {}
    txs = parts.rows("txs", "tx_num", t0, t1, ["fee_sat", "vsize"])
    a["tx_fee"] = pc.fill_null(txs["fee_sat"], -1).to_numpy().astype(np.int64)
    a["tx_vsize"] = txs["vsize"].to_numpy().astype(np.int32)
    blocks = parts.rows("blocks", "block_seq", b0, b1, ["height", "time", "hash"])
    a["blk_time"] = blocks["time"].to_numpy().astype(np.int64)
    a["blk_height"] = pc.fill_null(blocks["height"], -1).to_numpy().astype(np.int64)
    a["blk_hash"] = np.frombuffer(b"".join(blocks["hash"].to_pylist()), np.uint8).reshape(-1, 32)
    bft = np.asarray(col("blk_first_tx")[b0:b1], np.int64)
    a["tx_is_cb"] = np.zeros(t1 - t0, np.bool_)
    a["tx_is_cb"][bft[bft < t1] - t0] = True
    nums = np.arange(t0, t1, dtype=np.int64)
    a["txid_sort"] = nums[np.argsort(_display_keys(col("txid"), nums), kind="stable")].astype(np.uint32)

    table = parts.rows("addresses", "addr_num", a0, a1, ["address", "script_type"])
    strings = pc.fill_null(table["address"].combine_chunks(), "").cast(pa.large_binary())
    a["addr_type"] = table["script_type"].to_numpy().astype(np.uint8)
    n = a1 - a0
    off = np.frombuffer(strings.buffers()[1], np.int64)[strings.offset:strings.offset + n + 1].copy() \
        if n else np.zeros(1, np.int64)
    a["addr_blob"] = np.frombuffer(strings.buffers()[2], np.uint8)[off[0]:off[-1]].copy() if n \
        else np.zeros(0, np.uint8)
    a["addr_off"] = off - off[0]
    del strings, table
    anums = np.arange(a0, a1, dtype=np.int64)
    keys = _addr_keys(a["addr_blob"], a["addr_off"], anums - a0, anums)
    a["addr_sort"] = anums[np.argsort(keys, kind="stable")].astype(np.uint32)
    del keys

    out_addr, out_value = np.asarray(col("out_addr")[o0:o1]), np.asarray(col("out_value")[o0:o1])
    for k, v in _keyed(out_addr, out_value, o0).items():
        a["out_" + k] = v
    in_addr, in_value = np.asarray(col("in_addr")[i0:i1]), np.asarray(col("in_value")[i0:i1])
    for k, v in _keyed(in_addr, np.where(in_value >= 0, in_value, 0), i0).items():
        a["in_" + k] = v
    prev = np.asarray(col("in_prev")[i0:i1])
    prev = np.sort(prev[prev != NONE]).astype(np.int64)     # ascending: the mapped columns are read in order
    for k, v in _keyed(np.asarray(col("out_addr")[prev]), np.asarray(col("out_value")[prev]), 0, False).items():
        a["sp_" + k] = v
    last = a["blk_hash"][-1].tobytes().hex() if b1 > b0 else ""
    return write_run(folder, a, dict(span, last_hash=last))


def write_run(folder: Path, arrays: dict[str, np.ndarray], span: dict) -> dict:
    folder.mkdir(parents=True)
    for name, arr in arrays.items():
        with open(folder / f"{name}.bin", "wb") as f:
            f.write(np.ascontiguousarray(arr).tobytes())
    return _finish(folder, span, {k: (v.dtype.str, list(v.shape)) for k, v in arrays.items()})


def _finish(folder: Path, span: dict, specs: dict) -> dict:
    for name in specs:
        with open(folder / f"{name}.bin", "rb+") as f:
            os.fsync(f.fileno())
    meta = dict(span, arrays={k: {"dtype": d, "shape": s} for k, (d, s) in specs.items()})
    with open(folder / META, "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    return meta


def open_run(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """A run's META and its arrays, memory-mapped read-only."""
    meta = json.loads((folder / META).read_text())
    arrays = {}
    for name, spec in meta["arrays"].items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        arrays[name] = np.zeros(shape, dtype) if int(np.prod(shape)) == 0 else \
            np.memmap(folder / f"{name}.bin", dtype=dtype, mode="r", shape=shape).view(np.ndarray)
    return meta, arrays


# -- merging adjacent runs ---------------------------------------------------------------------------
class _Out:
    """Files of a run being written by appending chunks."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True)
        self.folder, self.files, self.specs = folder, {}, {}

    def put(self, name: str, arr: np.ndarray) -> None:
        if name not in self.files:
            self.files[name] = open(self.folder / f"{name}.bin", "wb")
            self.specs[name] = [arr.dtype.str, [0] + list(arr.shape[1:])]
        self.files[name].write(np.ascontiguousarray(arr).tobytes())
        self.specs[name][1][0] += len(arr)

    def close(self) -> dict:
        for f in self.files.values():
            f.close()
        return {k: (d, s) for k, (d, s) in self.specs.items()}


def _merge_sorted(out: _Out, name: str, runs: list[dict], key_of) -> None:
    """k-way merge of the runs' sorted id lists (keys unique: they end with the id), CHUNK rows at a time."""
    pos = [0] * len(runs)
    step = max(1024, CHUNK // len(runs))     # rows held: about CHUNK whatever the number of runs
    out.put(name, np.zeros(0, np.uint32))
    while True:
        chunks = []
        for r, run in enumerate(runs):
            ids = run[name][pos[r]:pos[r] + step]
            chunks.append((ids, key_of(r, ids)))
        live = [(r, c) for r, c in enumerate(chunks) if len(c[0])]
        if not live:
            return
        bounded = [c[1][-1] for r, c in live if pos[r] + len(c[0]) < len(runs[r][name])]
        bound = min(bounded) if bounded else None
        ids, keys = [], []
        for r, (i, k) in live:
            n = len(k) if bound is None else int(np.searchsorted(k, bound, side="right"))
            ids.append(i[:n])
            keys.append(k[:n])
            pos[r] += n
        keys_all = np.concatenate(keys)
        out.put(name, np.concatenate(ids)[np.argsort(keys_all, kind="stable")].astype(np.uint32))


def _merge_keyed(out: _Out, g: str, runs: list[dict], with_order: bool) -> None:
    """Merge one keyed group: per key, the runs' rows in run (chain) order and the sum of their sums."""
    keys_all = [run[g + "_keys"] for run in runs]
    hi_key = max((int(k[-1]) for k in keys_all if len(k)), default=-1)
    cur = [0] * len(runs)
    base = 0
    out.put(g + "_keys", np.zeros(0, np.uint32))
    out.put(g + "_sum", np.zeros(0, np.int64))
    if with_order:
        out.put(g + "_ptr", np.zeros(1, np.int64))
        out.put(g + "_order", np.zeros(0, np.uint32))
    lo = 0
    step = max(1024, CHUNK // len(runs))
    while lo <= hi_key:
        # The next key bound: at most ``step`` keys from each run (rows per key may exceed it: one key's whole run).
        stop = min((int(k[cur[r] + step]) for r, k in enumerate(keys_all) if cur[r] + step < len(k)),
                   default=hi_key + 1)
        ks, sums, rows, counts = [], [], [], []
        for r, run in enumerate(runs):
            k = keys_all[r]
            e = searchsorted(k, stop, side="left")        # k: uint32 (numpy would copy it to int64)
            ks.append(np.asarray(k[cur[r]:e], np.int64))
            sums.append(np.asarray(run[g + "_sum"][cur[r]:e], np.int64))
            if with_order:
                ptr = np.asarray(run[g + "_ptr"][cur[r]:e + 1], np.int64)
                rows.append(np.asarray(run[g + "_order"][ptr[0]:ptr[-1]]))
                counts.append(np.diff(ptr))
            cur[r] = e
        k = np.concatenate(ks)
        order = np.argsort(k, kind="stable")          # runs concatenated in chain order: stable keeps it
        uniq, start = np.unique(k[order], return_index=True)
        out.put(g + "_keys", uniq.astype(np.uint32))
        out.put(g + "_sum", np.add.reduceat(np.concatenate(sums)[order], start) if len(k) else np.zeros(0, np.int64))
        if with_order and len(k):
            cnt = np.concatenate(counts)
            starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
            # Expand each (run, key) block in merged key order.
            blk_start, blk_len = starts[order], cnt[order]
            total = int(blk_len.sum())
            idx = np.repeat(blk_start - (np.cumsum(blk_len) - blk_len), blk_len) + np.arange(total)
            out.put(g + "_order", np.concatenate(rows)[idx].astype(np.uint32))
            per_key = np.add.reduceat(blk_len, start)
            out.put(g + "_ptr", base + np.cumsum(per_key))
            base += total
        lo = stop


def merge_runs(folders: list[Path], dest: Path, txid: np.ndarray) -> dict:
    """One run holding adjacent runs ``folders`` (in chain order), streamed into ``dest``; its META."""
    opened = [open_run(f) for f in folders]
    metas, runs = [m for m, _ in opened], [a for _, a in opened]
    for x, y in zip(metas, metas[1:]):
        if any(x[k][1] != y[k][0] for k in "btioa"):
            raise StoreError(f"read model runs {folders} are not adjacent")
    out = _Out(dest)
    for name in ROW_FILES:
        for run in runs:
            arr = run[name]
            for s in range(0, max(len(arr), 1), CHUNK * 4):
                out.put(name, np.asarray(arr[s:s + CHUNK * 4]))
    shift = 0
    out.put("addr_off", np.zeros(1, np.int64))
    for run in runs:
        off = run["addr_off"]
        for s in range(1, len(off), CHUNK * 4):
            out.put("addr_off", np.asarray(off[s:s + CHUNK * 4], np.int64) + shift)
        blob = run["addr_blob"]
        for s in range(0, len(blob), CHUNK * 64):
            out.put("addr_blob", np.asarray(blob[s:s + CHUNK * 64]))
        shift += len(blob)
    if "addr_blob" not in out.files:
        out.put("addr_blob", np.zeros(0, np.uint8))
    _merge_sorted(out, "txid_sort", runs, lambda r, ids: _display_keys(txid, np.asarray(ids, np.int64)))
    a0s = [m["a"][0] for m in metas]
    _merge_sorted(out, "addr_sort", runs, lambda r, ids: _addr_keys(
        runs[r]["addr_blob"], runs[r]["addr_off"], np.asarray(ids, np.int64) - a0s[r], ids))
    for g in KEYED:
        _merge_keyed(out, g, runs, with_order=g != "sp")
    span = {k: [metas[0][k][0], metas[-1][k][1]] for k in "btioa"}
    span["last_hash"] = metas[-1]["last_hash"]
    return _finish(dest, span, out.close())

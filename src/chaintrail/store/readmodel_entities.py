"""Entities of the workbench's read model: cluster labels, member runs and totals, and tx labels.

Written only when ``chaintrail cluster`` changed its files (or when much was ingested after it): the labels
of the first ``n`` addresses (``n`` = the addresses at that time; later ones are their own entity), the
members of each cluster id as a CSR run, and each cluster's received/sent/balance over the rows as of then.
Rows ingested later reach a cluster's totals through ``delta``: per cluster id touched since, the change
(O(rows since), recomputed by each build from the index columns).

The O(addresses) arrays are written through file mappings (labels, member runs, totals), so the build's own
memory stays bounded; the pages are the OS's page cache.

Files:
    ent/:   labels int64 | member_order uint32 + member_ptr int64 (n + 1) | cluster_received, cluster_sent,
            cluster_spent int64 (balance = received - spent)
    delta/: keys int64 (cluster ids, ascending) | received, sent, spent int64
    txl/:   tx uint32 (labelled tx_nums, ascending) | pattern uint16 (index into META's names) | mixing bool
"""

from __future__ import annotations

from pathlib import Path

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.index import NONE

STEP = 1 << 21        # rows per step


def _mapped(folder: Path, name: str, dtype, n: int, fill=None) -> np.ndarray:
    path = folder / f"{name}.bin"
    with open(path, "wb") as f:
        f.truncate(np.dtype(dtype).itemsize * n)
    if n == 0:
        return np.zeros(0, dtype)
    arr = np.memmap(path, dtype=dtype, mode="r+", shape=(n,))
    if fill is not None:
        arr[:] = fill
    return arr


@nb.njit(cache=True)
def _count(labels, ptr):
    for i in range(labels.shape[0]):
        ptr[labels[i] + 1] += 1
    for k in range(ptr.shape[0] - 1):
        ptr[k + 1] += ptr[k]


@nb.njit(cache=True)
def _place(labels, ptr, fill, order):
    for i in range(labels.shape[0]):
        k = labels[i]
        order[ptr[k] + fill[k]] = i
        fill[k] += 1


def build_entities(store: ChainStore, folder: Path, n: int, runs: list[dict]) -> dict:
    """Labels, members and totals of the first ``n`` addresses from ``analysis/clusters.parquet``."""
    folder.mkdir(parents=True)
    labels = _mapped(folder, "labels", np.int64, n)
    done = 0
    pf = pq.ParquetFile(store.path / "analysis" / "clusters.parquet")
    for batch in pf.iter_batches(batch_size=STEP, columns=["cluster_id"]):
        take = min(batch.num_rows, n - done)
        if take <= 0:
            break
        labels[done:done + take] = batch.column(0).to_numpy()[:take]
        done += take
    for s in range(done, n, STEP):       # addresses newer than the clustering are their own entity
        labels[s:min(n, s + STEP)] = np.arange(s, min(n, s + STEP), dtype=np.int64)
    if n and (int(labels.min()) < 0 or int(labels.max()) >= n):
        raise ValueError(f"{store.path}: clusters.parquet has cluster ids outside [0, {n})")
    ptr = _mapped(folder, "member_ptr", np.int64, n + 1, 0)
    order = _mapped(folder, "member_order", np.uint32, n)
    if n:
        _count(labels, ptr)
        fill = _mapped(folder, "fill.tmp", np.int64, n, 0)
        _place(labels, ptr, fill, order)
        del fill
        (folder / "fill.tmp.bin").unlink()
    totals = {g: _mapped(folder, f"cluster_{g}", np.int64, n, 0) for g in ("received", "sent", "spent")}
    for run in runs:
        for g, name in (("out", "received"), ("in", "sent"), ("sp", "spent")):
            keys, sums = run[g + "_keys"], run[g + "_sum"]
            for s in range(0, len(keys), STEP):
                k = np.asarray(keys[s:s + STEP], np.int64)
                ok = k < n
                np.add.at(totals[name], labels[k[ok]], np.asarray(sums[s:s + STEP], np.int64)[ok])
    for arr in (labels, ptr, order, *totals.values()):
        if isinstance(arr, np.memmap):
            arr.flush()
    return {"n": n, "arrays": {k: {"dtype": np.dtype(d).str, "shape": [m]} for k, d, m in (
        ("labels", np.int64, n), ("member_ptr", np.int64, n + 1), ("member_order", np.uint32, n),
        ("cluster_received", np.int64, n), ("cluster_sent", np.int64, n), ("cluster_spent", np.int64, n))}}


def _accumulate(acc: list, cid: np.ndarray, vals: np.ndarray, which: int) -> None:
    if len(cid):
        v = np.zeros((len(cid), 3), np.int64)
        v[:, which] = vals
        acc.append((cid, v))
        if sum(len(c) for c, _ in acc) > STEP:
            acc[:] = [_reduce(acc)]


def _reduce(acc: list) -> tuple[np.ndarray, np.ndarray]:
    if not acc:
        return np.zeros(0, np.int64), np.zeros((0, 3), np.int64)
    cid = np.concatenate([c for c, _ in acc])
    vals = np.concatenate([v for _, v in acc])
    order = np.argsort(cid, kind="stable")
    uniq, start = np.unique(cid[order], return_index=True)
    return uniq, (np.add.reduceat(vals[order], start, axis=0) if len(uniq) else vals[:0])


def build_delta(store: ChainStore, folder: Path, labels: np.ndarray, since: dict) -> dict:
    """Per cluster id, what the rows after ``since`` (counts of inputs and outputs) add to its totals."""
    folder.mkdir(parents=True)
    c = store.counts
    n_lab = len(labels)

    def cid_of(addr: np.ndarray) -> np.ndarray:
        a = np.asarray(addr, np.int64)
        out = a.copy()
        old = a < n_lab
        out[old] = labels[a[old]]
        return out

    col = store.column
    acc: list = []
    for s in range(since["outputs"], c["outputs"], STEP):
        e = min(c["outputs"], s + STEP)
        addr, val = np.asarray(col("out_addr")[s:e]), np.asarray(col("out_value")[s:e], np.int64)
        ok = addr != NONE
        _accumulate(acc, cid_of(addr[ok]), val[ok], 0)
    for s in range(since["inputs"], c["inputs"], STEP):
        e = min(c["inputs"], s + STEP)
        addr, val = np.asarray(col("in_addr")[s:e]), np.asarray(col("in_value")[s:e], np.int64)
        ok = addr != NONE
        _accumulate(acc, cid_of(addr[ok]), np.maximum(val[ok], 0), 1)
        prev = np.asarray(col("in_prev")[s:e])
        prev = np.sort(prev[prev != NONE]).astype(np.int64)
        pa_, pv = np.asarray(col("out_addr")[prev]), np.asarray(col("out_value")[prev], np.int64)
        ok = pa_ != NONE
        _accumulate(acc, cid_of(pa_[ok]), pv[ok], 2)
    keys, vals = _reduce(acc)
    arrays = {"keys": keys, "received": vals[:, 0].copy(), "sent": vals[:, 1].copy(), "spent": vals[:, 2].copy()}
    for name, arr in arrays.items():
        arr.tofile(folder / f"{name}.bin")
    return {"arrays": {k: {"dtype": v.dtype.str, "shape": [len(v)]} for k, v in arrays.items()}}


def _code(names: list[str], name: str) -> int:
    """Index of ``name`` in ``names`` ("none" first), appended when new."""
    if name not in names:
        names.append(name)
    return names.index(name)


def build_tx_labels(path: Path, folder: Path, n_tx: int) -> dict:
    """The labelled txs of ``analysis/tx_labels.parquet`` (sparse: only the txs it names)."""
    folder.mkdir(parents=True)
    names = ["none"]
    tx, pattern, mixing = np.zeros(0, np.uint32), np.zeros(0, np.uint16), np.zeros(0, np.bool_)
    if path.exists():
        pf = pq.ParquetFile(path)
        got: list = []
        for batch in pf.iter_batches(batch_size=STEP, columns=["tx_num", "label", "is_mixing"]):
            lab = batch.column(1)
            enc = lab if pa.types.is_dictionary(lab.type) else pc.dictionary_encode(lab)
            book = enc.dictionary.to_pylist()
            codes = np.asarray([_code(names, x) for x in book], np.int64)[enc.indices.to_numpy(zero_copy_only=False)]
            nums = batch.column(0).to_numpy()
            mix = batch.column(2).to_numpy(zero_copy_only=False).astype(np.bool_)
            keep = np.flatnonzero((nums < n_tx) & ((codes != 0) | mix))
            got.append((nums[keep], codes[keep], mix[keep]))
        if got:
            nums = np.concatenate([g[0] for g in got])
            order = np.argsort(nums, kind="stable")
            tx = nums[order].astype(np.uint32)
            pattern = np.concatenate([g[1] for g in got])[order].astype(np.uint16)
            mixing = np.concatenate([g[2] for g in got])[order]
    arrays = {"tx": tx, "pattern": pattern, "mixing": mixing}
    for name, arr in arrays.items():
        arr.tofile(folder / f"{name}.bin")
    return {"names": names, "arrays": {k: {"dtype": v.dtype.str, "shape": [len(v)]} for k, v in arrays.items()}}

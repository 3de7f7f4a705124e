"""The workbench's read model, persisted beside the index and memory-mapped: per-address and per-entity runs.

``chaintrail serve`` answers from sorted arrays (address string -> addr_num, an address's outputs and the
inputs that spend from it, an entity's members, their totals). Building them takes O(chain) time and
memory (71 s and 9 GB on a 10M-tx chain), so they are built once per state of the store and kept as
fixed-width files under ``readmodel/<key>/``; a server maps them and starts in O(1).

``key`` names the state they were built from: the manifest's counts and part sequence (every commit and
rollback changes one of them) and the files ``chaintrail cluster`` writes (``analysis/clusters.parquet``,
``analysis/tx_labels.parquet``). A read model whose key differs from the store's is stale and never read.

Built whole, not incrementally: ``ingest`` and ``cluster`` rebuild it at the end of their run, and a
server that finds none for its store builds it on open (a store written before this file existed). The
build writes a private folder and renames it into place, so readers see all of it or none of it; two
builders racing end with one copy. Older folders are removed once a newer one is in place: a server
still serving them keeps its mapped pages (removed files stay readable through their mappings).

Files (``n`` rows of the entity named; ``ptr`` arrays hold ``n + 1`` offsets):
    tx:   tx_first_in, tx_first_out int64 (+ sentinel) | tx_fee int64 (-1 unknown) | tx_vsize int32 |
          tx_is_cb, tx_mixing bool | tx_pattern uint8/16 (names in META) | txid_sort uint32 (display order)
    block: blk_time int64 | blk_height int64 (-1 unknown) | blk_hash 32 bytes
    address: addr_off int64 (+1) and addr_blob (UTF-8) | addr_sort uint32 (by string) | addr_type uint8 |
          out_order + out_ptr | in_order + in_ptr | received, sent, balance | labels | member_order +
          member_ptr | cluster_received/sent/balance (all int64, the dtypes the API computes with)
    output: out_spent uint32 (as of the key's counts: links to later inputs cleared)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.errors import StoreError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.csr import csr
from chaintrail.store.index import NONE

log = logging.getLogger(__name__)
VERSION = 1
FOLDER = "readmodel"
META = "META.json"
# What ``chaintrail cluster`` writes (analysis/clustering.py, analysis/tx_labels.py): part of the key.
ANALYSIS_FILES = ("clusters.parquet", "tx_labels.parquet")


def _file_sig(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_size]      # both files are replaced whole (tmp + rename)


def key_of(store: ChainStore) -> str:
    """The state of ``store`` a read model must have been built from to serve it."""
    m = store.manifest
    state = {"v": VERSION, "counts": {e: int(m["counts"].get(e, 0)) for e in ("blocks", "txs", "inputs",
                                                                              "outputs", "addresses")},
             "next_part": m.get("next_part"), "network": m.get("network"),
             "analysis": [_file_sig(store.path / "analysis" / f) for f in ANALYSIS_FILES]}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:20]


# -- building -------------------------------------------------------------------------------------------
def _sums(values: np.ndarray, order: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Exact int64 sum of ``values`` over each CSR run (empty runs give 0)."""
    out = np.zeros(len(ptr) - 1, np.int64)
    if len(order) == 0:
        return out
    vals = np.asarray(values, np.int64)[order]
    nonempty = np.flatnonzero(ptr[1:] > ptr[:-1])
    out[nonempty] = np.add.reduceat(vals, ptr[:-1][nonempty])
    return out


def _cluster_labels(store: ChainStore, n: int) -> np.ndarray:
    path = store.path / "analysis" / ANALYSIS_FILES[0]
    if not path.exists():
        return np.arange(n, dtype=np.int64)
    labels = pq.read_table(path, columns=["cluster_id"])["cluster_id"].to_numpy().astype(np.int64)[:n]
    if len(labels) < n:   # addresses newer than the last clustering are singletons
        labels = np.concatenate([labels, np.arange(len(labels), n, dtype=np.int64)])
    return labels


def _tx_labels(store: ChainStore, n_tx: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    names, pattern, mixing = ["none"], np.zeros(n_tx, np.uint16), np.zeros(n_tx, np.bool_)
    path = store.path / "analysis" / ANALYSIS_FILES[1]
    if not path.exists():
        return names, pattern, mixing
    t = pq.read_table(path, columns=["tx_num", "label", "is_mixing"])
    nums = t["tx_num"].to_numpy()
    ok = nums < n_tx
    lab = t["label"].combine_chunks()
    enc = lab if pa.types.is_dictionary(lab.type) else pc.dictionary_encode(lab)
    names = enc.dictionary.to_pylist()
    pattern[nums[ok]] = enc.indices.to_numpy(zero_copy_only=False)[ok]
    mixing[nums[ok]] = t["is_mixing"].to_numpy(zero_copy_only=False)[ok]
    return names, pattern, mixing


def _by_num(table: pa.Table, num: str) -> pa.Table:
    nums = table[num].to_numpy()
    if len(nums) and not (np.diff(nums) > 0).all():
        table = table.take(pa.array(np.argsort(nums, kind="stable")))
    return table


def _arrays(store: ChainStore) -> tuple[dict[str, np.ndarray], dict]:
    """Every file of the read model, computed in memory (O(chain): run by ingest, cluster, or a first open)."""
    c = store.counts
    n_tx, n_in, n_out, n_addr = c["txs"], c["inputs"], c["outputs"], c["addresses"]
    col = store.column
    a: dict[str, np.ndarray] = {}
    a["tx_first_in"] = np.append(np.asarray(col("tx_first_in"), np.int64), n_in)
    a["tx_first_out"] = np.append(np.asarray(col("tx_first_out"), np.int64), n_out)
    blocks = store.read_table("blocks", ["block_seq", "height", "time", "hash"]).sort_by("block_seq")
    a["blk_time"] = blocks["time"].to_numpy().astype(np.int64)
    a["blk_height"] = pc.fill_null(blocks["height"], -1).to_numpy().astype(np.int64)
    a["blk_hash"] = (np.frombuffer(b"".join(blocks["hash"].to_pylist()), np.uint8).reshape(-1, 32)
                     if blocks.num_rows else np.zeros((0, 32), np.uint8))
    blk_first_tx = np.asarray(col("blk_first_tx"), np.int64)
    a["tx_is_cb"] = np.zeros(n_tx, np.bool_)
    a["tx_is_cb"][blk_first_tx[blk_first_tx < n_tx]] = True
    txs = _by_num(store.read_table("txs", ["tx_num", "fee_sat", "vsize"]), "tx_num")
    a["tx_fee"] = pc.fill_null(txs["fee_sat"], -1).to_numpy().astype(np.int64)
    a["tx_vsize"] = txs["vsize"].to_numpy().astype(np.int32)
    names, pattern, a["tx_mixing"] = _tx_labels(store, n_tx)
    a["tx_pattern"] = pattern.astype(np.uint8 if len(names) <= 256 else np.uint16)
    txid = np.asarray(col("txid"))
    disp = np.ascontiguousarray(txid[:, ::-1]).view("S32").reshape(-1) if n_tx else np.zeros(0, "S32")
    a["txid_sort"] = np.argsort(disp, kind="stable").astype(np.uint32)
    del disp

    table = _by_num(store.read_table("addresses", ["addr_num", "address", "script_type"]), "addr_num")
    if table.num_rows != n_addr:
        raise StoreError(f"store {store.path}: {table.num_rows} address rows for {n_addr} addresses")
    strings = pc.fill_null(table["address"].combine_chunks(), "").cast(pa.large_binary())
    a["addr_type"] = table["script_type"].to_numpy().astype(np.uint8)
    off = np.frombuffer(strings.buffers()[1], np.int64)[strings.offset:strings.offset + n_addr + 1].copy() \
        if n_addr else np.zeros(1, np.int64)
    a["addr_blob"] = np.frombuffer(strings.buffers()[2], np.uint8)[off[0]:off[-1]].copy() if n_addr \
        else np.zeros(0, np.uint8)
    a["addr_off"] = off - off[0]
    a["addr_sort"] = pc.sort_indices(strings).to_numpy().astype(np.uint32)      # bytewise, stable
    del strings, table

    out_addr, in_addr = np.asarray(col("out_addr")), np.asarray(col("in_addr"))
    out_value, in_value = np.asarray(col("out_value")), np.asarray(col("in_value"))
    out_spent = np.array(_spent_snapshot(store), np.uint32)
    a["out_spent"] = out_spent
    out_order, a["out_ptr"] = csr(out_addr, n_addr, skip=NONE)
    in_order, a["in_ptr"] = csr(in_addr, n_addr, skip=NONE)
    a["received"] = _sums(out_value, out_order, a["out_ptr"])
    a["sent"] = _sums(np.where(in_value >= 0, in_value, 0), in_order, a["in_ptr"])
    a["balance"] = _sums(np.where(out_spent == NONE, out_value, 0), out_order, a["out_ptr"])
    a["out_order"], a["in_order"] = out_order, in_order

    labels = _cluster_labels(store, n_addr)
    member_order, a["member_ptr"] = csr(labels, n_addr)
    a["labels"], a["member_order"] = labels, member_order
    for name in ("received", "sent", "balance"):
        a["cluster_" + name] = _sums(a[name], member_order, a["member_ptr"])
    meta = {"version": VERSION, "counts": {"txs": n_tx, "inputs": n_in, "outputs": n_out, "addresses": n_addr,
                                           "blocks": int(len(a["blk_time"]))},
            "pattern_names": names,
            "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in a.items()}}
    return a, meta


def _spent_snapshot(store: ChainStore) -> np.ndarray:
    """``out_spent`` as of the store's manifest (a read-only store's snapshot copy; the writer's own file)."""
    return store.column("out_spent") if store.counts["outputs"] else np.zeros(0, np.uint32)


def build(store: ChainStore) -> Path:
    """Build the read model for the store's current state and put it in place atomically; its folder."""
    root = store.path / FOLDER
    key = key_of(store)
    final = root / key
    if (final / META).exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        arrays, meta = _arrays(store)
        for name, arr in arrays.items():
            with open(tmp / f"{name}.bin", "wb") as f:
                f.write(np.ascontiguousarray(arr).tobytes())
                f.flush()
                os.fsync(f.fileno())
        meta["key"] = key
        with open(tmp / META, "w") as f:       # last: a folder with META is complete
            json.dump(meta, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / META).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)   # another process built the same state first
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep=key)
    log.info("read model for %s built in %s", store.path, final)
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(root: Path, keep: str) -> None:
    """Remove complete read models of older states (a builder's unfinished .tmp folder is its own)."""
    for d in root.iterdir():
        if d.name != keep and not d.name.startswith(".tmp-"):
            shutil.rmtree(d, ignore_errors=True)


# -- reading --------------------------------------------------------------------------------------------
class ReadModel:
    """The read model's arrays, memory-mapped read-only (plain ndarray views: cheap element access)."""

    def __init__(self, folder: Path):
        try:
            self.meta = json.loads((folder / META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"read model {folder} is unreadable: {exc}") from exc
        if self.meta.get("version") != VERSION:
            raise StoreError(f"read model {folder} has version {self.meta.get('version')}, not {VERSION}")
        self.folder = folder
        self.arrays: dict[str, np.ndarray] = {}
        for name, spec in self.meta["arrays"].items():
            dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
            if int(np.prod(shape)) == 0:
                arr = np.zeros(shape, dtype)
            else:
                arr = np.memmap(folder / f"{name}.bin", dtype=dtype, mode="r", shape=shape).view(np.ndarray)
            self.arrays[name] = arr

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


def open_read_model(store: ChainStore, build_if_missing: bool = True) -> ReadModel:
    """The read model of the store's current state; built now (O(chain), once) if there is none yet."""
    folder = store.path / FOLDER / key_of(store)
    for _ in range(2):
        if (folder / META).exists():
            try:
                return ReadModel(folder)
            except (FileNotFoundError, StoreError):
                if not build_if_missing:
                    raise
        elif not build_if_missing:
            raise StoreError(f"store {store.path} has no read model for its current state")
        log.warning("building the read model of %s (once per ingest or cluster run)", store.path)
        folder = build(store)
    return ReadModel(folder)

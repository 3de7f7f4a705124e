"""The hot index: fixed-width little-endian arrays, one file per column.

Layout (BlockSci-style, 16 bytes per input and per output):

    output  out_value int64 | out_addr uint32 | out_spent uint32 (in_num spending it)
    input   in_value  int64 | in_addr  uint32 | in_prev   uint32 (out_num it spends)
    tx      tx_first_in uint32 | tx_first_out uint32 | txid 32 bytes (internal order)
    block   blk_first_tx uint32 | blk_first_addr uint32
    address addr_key 33 bytes (kind + payload, see chains/bitcoin/scripts.py)

Ethereum's columns (``ETH_COLUMNS``, entities named after its tables) sit in the same folder under the same
commit protocol: per value flow 33 bytes (tx, from, to, asset, kind, amount as two 64-bit halves).

``NONE`` (0xFFFFFFFF) marks a missing id and -1 an unknown value. Every column
is a plain file that ``numpy.memmap`` maps read-only for analysis.
``out_spent`` is the only column ever rewritten in place; it is derived from
``in_prev``, so after a crash it is recomputed rather than trusted.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NONE = np.uint32(0xFFFFFFFF)
UNKNOWN_VALUE = -1


@dataclass(frozen=True)
class Column:
    name: str
    entity: str        # which count sizes it: blocks, txs, inputs, outputs, addresses
    dtype: np.dtype
    width: int = 1     # bytes per row for byte-matrix columns


COLUMNS: tuple[Column, ...] = (
    Column("blk_first_tx", "blocks", np.dtype("<u4")),
    Column("blk_first_addr", "blocks", np.dtype("<u4")),
    Column("tx_first_in", "txs", np.dtype("<u4")),
    Column("tx_first_out", "txs", np.dtype("<u4")),
    Column("txid", "txs", np.dtype("u1"), 32),
    Column("in_value", "inputs", np.dtype("<i8")),
    Column("in_addr", "inputs", np.dtype("<u4")),
    Column("in_prev", "inputs", np.dtype("<u4")),
    Column("out_value", "outputs", np.dtype("<i8")),
    Column("out_addr", "outputs", np.dtype("<u4")),
    Column("out_spent", "outputs", np.dtype("<u4")),
    Column("addr_key", "addresses", np.dtype("u1"), 33),
)
ETH_COLUMNS: tuple[Column, ...] = (
    Column("eth_blk_first_tx", "eth_blocks", np.dtype("<u4")),
    Column("eth_blk_first_flow", "eth_blocks", np.dtype("<u8")),
    Column("eth_blk_hash", "eth_blocks", np.dtype("u1"), 32),
    Column("eth_tx_hash", "eth_transactions", np.dtype("u1"), 32),
    Column("eth_tx_first_flow", "eth_transactions", np.dtype("<u8")),
    Column("eth_flow_tx", "eth_value_flows", np.dtype("<u4")),        # NONE for block rewards, withdrawals
    Column("eth_flow_from", "eth_value_flows", np.dtype("<u4")),      # addr_num; NONE: minted
    Column("eth_flow_to", "eth_value_flows", np.dtype("<u4")),        # addr_num; NONE: burnt
    Column("eth_flow_asset", "eth_value_flows", np.dtype("<u4")),     # token contract's addr_num; NONE: ETH
    Column("eth_flow_kind", "eth_value_flows", np.dtype("u1")),       # eth_schema.FLOW_KINDS | AMOUNT_OVERFLOW
    Column("eth_flow_amount_lo", "eth_value_flows", np.dtype("<u8")),
    Column("eth_flow_amount_hi", "eth_value_flows", np.dtype("<u8")),
    Column("eth_addr_key", "eth_addresses", np.dtype("u1"), 20),
)
ALL_COLUMNS = COLUMNS + ETH_COLUMNS
BY_NAME = {c.name: c for c in ALL_COLUMNS}


def _path(root: Path, col: Column) -> Path:
    return root / f"{col.name}.bin"


def _shape(col: Column, n: int) -> tuple[int, ...]:
    return (n, col.width) if col.width > 1 else (n,)


def open_column(root: Path, name: str, n: int, mode: str = "r") -> np.ndarray:
    """Memory-map the first ``n`` rows of one column (empty array for n == 0)."""
    col = BY_NAME[name]
    if n == 0:
        return np.zeros(_shape(col, 0), col.dtype)
    return np.memmap(_path(root, col), dtype=col.dtype, mode=mode, shape=_shape(col, n))


def load_columns(root: Path, counts: dict[str, int], cols: tuple[Column, ...] = COLUMNS) -> dict[str, np.ndarray]:
    """Read every column of ``cols`` into RAM (the writer's working copy)."""
    out = {}
    for col in cols:
        n = counts.get(col.entity, 0)
        p = _path(root, col)
        if n and p.exists():
            arr = np.fromfile(p, dtype=col.dtype, count=n * col.width)
            out[col.name] = arr.reshape(_shape(col, n))
        else:
            out[col.name] = np.zeros(_shape(col, 0), col.dtype)
    return out


def append_columns(root: Path, tails: dict[str, np.ndarray], old: dict[str, int], sync: bool = True) -> None:
    """Append new rows after the first ``old`` rows (any torn tail is cut off first); ``sync=False`` leaves
    the fsync to ``sync_columns``."""
    root.mkdir(parents=True, exist_ok=True)
    for col in ALL_COLUMNS:
        arr = tails.get(col.name)
        if arr is None or len(arr) == 0:
            continue
        p = _path(root, col)
        keep = old.get(col.entity, 0) * col.dtype.itemsize * col.width
        with open(p, "ab") as f:
            if f.tell() != keep:
                f.truncate(keep)
                f.seek(keep)
            f.write(memoryview(np.ascontiguousarray(arr, dtype=col.dtype)).cast("B"))   # no bytes copy
            f.flush()
            if sync:
                os.fsync(f.fileno())


def sync_columns(root: Path) -> None:
    """fsync every column file (appended or patched without a sync)."""
    for col in ALL_COLUMNS:
        p = _path(root, col)
        if p.exists():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def patch_out_spent(root: Path, positions: np.ndarray, values: np.ndarray, n_outputs: int,
                    flush: bool = True) -> None:
    """Write spending links of outputs among the first ``n_outputs`` in place (``flush=False``: the pages are
    left to ``sync_columns``)."""
    if len(positions) == 0:
        return
    col = BY_NAME["out_spent"]
    size = n_outputs * col.dtype.itemsize
    flags = mmap.MAP_SHARED
    if len(positions) * mmap.PAGESIZE >= size:
        # About a patch per page: map every page in one call rather than fault them in one by one (10M-tx
        # chain, 84 MB column, 160k patches: 51-225 -> 21-42 ms per commit). Sparse patches (a long chain's
        # column) fault in only the pages they touch.
        flags |= getattr(mmap, "MAP_POPULATE", 0)
    with open(_path(root, col), "r+b") as f:
        mm = mmap.mmap(f.fileno(), size, flags=flags)
    try:
        np.frombuffer(mm, col.dtype)[positions] = values   # (no name holds the view: close() may unmap)
        if flush:
            mm.flush()
    finally:
        mm.close()


def truncate_columns(root: Path, counts: dict[str, int]) -> None:
    """Cut every column file to the committed row counts."""
    for col in ALL_COLUMNS:
        p = _path(root, col)
        if p.exists():
            keep = counts.get(col.entity, 0) * col.dtype.itemsize * col.width
            if p.stat().st_size != keep:
                with open(p, "r+b") as f:
                    f.truncate(keep)


def cut_columns(root: Path, counts: dict[str, int]) -> None:
    """Cut every column file to ``counts`` rows by writing a shorter copy and renaming it over the file: a
    reader that mapped the longer file keeps its pages (truncating in place would fault them away)."""
    for col in ALL_COLUMNS:
        p = _path(root, col)
        if col.entity not in counts:
            continue
        keep = counts[col.entity] * col.dtype.itemsize * col.width
        if p.exists() and p.stat().st_size > keep:
            tmp = p.with_suffix(".tmp")
            with open(p, "rb") as src, open(tmp, "wb") as dst:
                left = keep
                while left:
                    chunk = src.read(min(left, 1 << 24))
                    if not chunk:
                        break
                    dst.write(chunk)
                    left -= len(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, p)


def derive_out_spent(in_prev: np.ndarray, n_outputs: int) -> np.ndarray:
    """Recompute every output's spending input from the inputs' prev links."""
    spent = np.full(n_outputs, NONE, np.uint32)
    ok = in_prev != NONE
    spent[in_prev[ok]] = np.flatnonzero(ok).astype(np.uint32)
    return spent


def rewrite_column(root: Path, name: str, arr: np.ndarray) -> None:
    """Replace a whole column file (used by repair and rollback)."""
    col = BY_NAME[name]
    p = _path(root, col)
    tmp = p.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(np.ascontiguousarray(arr, dtype=col.dtype).tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)


def index_bytes(root: Path) -> dict[str, int]:
    """Bytes on disk per entity, for the bytes-per-input/output figure."""
    sizes: dict[str, int] = {}
    for col in ALL_COLUMNS:
        p = _path(root, col)
        sizes[col.entity] = sizes.get(col.entity, 0) + (p.stat().st_size if p.exists() else 0)
    return sizes

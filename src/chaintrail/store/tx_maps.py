"""Which tx each input and output belongs to, and each tx's block: files beside the index, memory-mapped.

A trace follows every edge from an output to the tx spending it (``in_tx[out_spent[o]]``) or back to the
tx paying it (``out_tx[o]``). Searching ``tx_first_in`` for them instead costs 35-85 % more kernel time
(measured on a 123k-tx chain), and building the maps in each process cost 4 bytes per input and output
and 17 per tx of anonymous memory: over 20 GB per trace worker on a full chain. Kept as files they are
built once per store and extended as it grows, and the pages a process reads are page cache, shared by
every process and given back under memory pressure.

Files under ``<store>/tracemaps/`` (little-endian, as ``index.py``'s columns):
    tx_first_in, tx_first_out  uint32, one per tx plus a trailing sentinel (the total): tx ``t``'s rows
                               are ``[first[t], first[t + 1])`` with no special case for the last tx
    in_tx, out_tx              uint32, per input / output its tx
    out_next                   uint32, per output the tx spending it (NONE: unspent); a reader treats a
                               tx past its own snapshot as unspent
    tx_block                   uint32, per tx its block (``block_seq``)
    tx_is_cb                   uint8, per tx: 1 for a block's first tx (its coinbase)
    blk_hash                   32 bytes per block: what the maps were built from
    META.json                  the counts covered (whole blocks)

Rows are only appended, under an exclusive lock, so pages another process has mapped never change,
but for ``out_next`` of older outputs, which is set in place when a later tx spends them (as the index
patches ``out_spent``; only ever from NONE to a tx). A store whose chain no longer starts with the blocks
the maps were built from (a rollback) gets its maps cut back to the common prefix by copy and rename,
as the index is.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaintrail.store import index as ix
from chaintrail.store.chainstore import ChainStore

FOLDER = "tracemaps"
META = "META.json"
VERSION = 2                          # 2: out_next; maps of another version are rebuilt
CHUNK = 1 << 22                      # txs per step of a build: bounded memory whatever the chain
_FILES = {"tx_first_in": "<u4", "tx_first_out": "<u4", "in_tx": "<u4", "out_tx": "<u4", "out_next": "<u4",
          "tx_block": "<u4", "tx_is_cb": "u1", "blk_hash": "u1"}
_ENTITY = {"tx_first_in": "txs", "tx_first_out": "txs", "in_tx": "inputs", "out_tx": "outputs",
           "out_next": "outputs", "tx_block": "txs", "tx_is_cb": "txs", "blk_hash": "blocks"}
NONE = np.uint32(0xFFFFFFFF)
_WIDTH = {"blk_hash": 32}
_SENTINEL = ("tx_first_in", "tx_first_out")


@dataclass(frozen=True)
class TxMaps:
    """The maps of one store snapshot (mapped read-only, or in memory where the store cannot be written)."""

    tx_first_in: np.ndarray
    tx_first_out: np.ndarray
    in_tx: np.ndarray
    out_tx: np.ndarray
    out_next: np.ndarray
    tx_block: np.ndarray
    tx_is_cb: np.ndarray


def open_maps(store: ChainStore, blk_hash: np.ndarray) -> TxMaps:
    """The maps for ``store``'s snapshot, built or extended first where needed. ``blk_hash``: the store's
    block hashes in ``block_seq`` order, (blocks, 32) uint8 (checks the maps describe this chain)."""
    c = {e: int(store.counts[e]) for e in ("blocks", "txs", "inputs", "outputs")}
    root = store.path / FOLDER
    try:
        root.mkdir(exist_ok=True)
        with open(root / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)     # builders one at a time; readers of mapped rows unaffected
            _bring_up_to(store, root, c, blk_hash)
    except OSError:                              # a read-only store (shared real data): in memory instead
        return _in_memory(store, c)
    return TxMaps(**{name: _map(root, name, c) for name in TxMaps.__dataclass_fields__})


def _map(root: Path, name: str, c: dict[str, int]) -> np.ndarray:
    n = c[_ENTITY[name]]
    if name in _SENTINEL:
        if not n:
            return np.zeros(1, np.uint32)
        n += 1
    if n == 0:
        return np.zeros(0, _FILES[name])
    return np.memmap(root / f"{name}.bin", dtype=_FILES[name], mode="r", shape=(n,)).view(np.ndarray)


def _meta(root: Path) -> dict[str, int]:
    try:
        m = json.loads((root / META).read_text())
        if m.get("version") != VERSION:
            raise ValueError(m.get("version"))
        return {e: int(m[e]) for e in ("blocks", "txs", "inputs", "outputs")}
    except (OSError, ValueError, KeyError, TypeError):
        return {"blocks": 0, "txs": 0, "inputs": 0, "outputs": 0}


def _bring_up_to(store: ChainStore, root: Path, c: dict[str, int], blk_hash: np.ndarray) -> None:
    have = _meta(root)
    n = min(have["blocks"], c["blocks"])
    built = np.fromfile(root / "blk_hash.bin", np.uint8, count=n * 32).reshape(-1, 32) if n else blk_hash[:0]
    same = (built == blk_hash[:len(built)]).all(axis=1) if len(built) == n else np.zeros(n, np.bool_)
    common = n if same.all() else int(np.argmin(same))
    if common < n or (have["blocks"] and not n):
        # The chain differs from the one the maps describe (a rollback): keep the rows both share. Maps
        # ahead of this snapshot on the same chain (another process saw a newer commit) are left as they are.
        have = _cut(store, root, common)
    if have["blocks"] < c["blocks"]:
        _extend(store, root, have, c, blk_hash)


def _cut(store: ChainStore, root: Path, keep_blocks: int) -> dict[str, int]:
    """Keep the rows of the first ``keep_blocks`` blocks (copy and rename: mapped pages stay valid)."""
    c = store.counts
    t = int(store.column("blk_first_tx")[keep_blocks]) if keep_blocks < c["blocks"] else int(c["txs"])
    keep = {"blocks": keep_blocks, "txs": t,
            "inputs": int(store.column("tx_first_in")[t]) if t < c["txs"] else int(c["inputs"]),
            "outputs": int(store.column("tx_first_out")[t]) if t < c["txs"] else int(c["outputs"])}
    for name in _FILES:
        p = root / f"{name}.bin"
        n = keep[_ENTITY[name]] * np.dtype(_FILES[name]).itemsize * _WIDTH.get(name, 1)
        tmp = p.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            if n and p.exists():
                with open(p, "rb") as src:
                    while n > 0:
                        piece = src.read(min(n, 1 << 24))
                        if name == "out_next":       # spent by a tx that is cut: unspent again
                            v = np.frombuffer(piece, "<u4")
                            piece = np.where(v >= t, NONE, v).astype("<u4").tobytes()
                        out.write(piece)
                        n -= len(piece)
        os.replace(tmp, p)
    _write_meta(root, keep)
    return keep


def _extend(store: ChainStore, root: Path, have: dict[str, int], c: dict[str, int], blk_hash: np.ndarray) -> None:
    """Append the rows of blocks ``[have, c)``, a chunk of txs at a time."""
    first_in, first_out = np.asarray(store.column("tx_first_in")), np.asarray(store.column("tx_first_out"))
    blk_first_tx = np.asarray(store.column("blk_first_tx"), np.int64)
    files = {name: open(root / f"{name}.bin", "r+b" if (root / f"{name}.bin").exists() else "w+b") for name in _FILES}
    try:
        for name, f in files.items():
            # After the rows META covers: over a torn tail, and over the sentinel, which is rewritten with the
            # same value (the first input of the next tx is the old total), so a reader mapping it sees no change.
            f.seek(have[_ENTITY[name]] * np.dtype(_FILES[name]).itemsize * _WIDTH.get(name, 1))
        files["blk_hash"].write(np.ascontiguousarray(blk_hash[have["blocks"]:c["blocks"]]).tobytes())
        for t0 in range(have["txs"], c["txs"], CHUNK):
            t1 = min(t0 + CHUNK, c["txs"])
            txs = np.arange(t0, t1, dtype=np.uint32)
            fi = np.append(first_in[t0:t1], first_in[t1] if t1 < c["txs"] else c["inputs"]).astype(np.int64)
            fo = np.append(first_out[t0:t1], first_out[t1] if t1 < c["txs"] else c["outputs"]).astype(np.int64)
            blk = (np.searchsorted(blk_first_tx, txs, side="right") - 1).astype(np.uint32)
            files["tx_first_in"].write(fi[:-1].astype("<u4").tobytes())
            files["tx_first_out"].write(fo[:-1].astype("<u4").tobytes())
            files["in_tx"].write(np.repeat(txs, np.diff(fi)).astype("<u4").tobytes())
            files["out_tx"].write(np.repeat(txs, np.diff(fo)).astype("<u4").tobytes())
            files["tx_block"].write(blk.astype("<u4").tobytes())
            files["tx_is_cb"].write((blk_first_tx[blk] == txs).astype(np.uint8).tobytes())
        if c["txs"]:
            files["tx_first_in"].write(np.uint32(c["inputs"]).astype("<u4").tobytes())
            files["tx_first_out"].write(np.uint32(c["outputs"]).astype("<u4").tobytes())
        for f in files.values():
            f.flush()
        _next_links(store, root, files["out_next"], have, c)
        for f in files.values():
            f.truncate(f.tell())
            f.flush()
            os.fsync(f.fileno())
    finally:
        for f in files.values():
            f.close()
    _write_meta(root, c)


def _next_links(store: ChainStore, root: Path, f, have: dict[str, int], c: dict[str, int]) -> None:
    """``out_next`` for the outputs after ``have`` (appended to ``f``), and in place for older outputs the
    new inputs spend. ``in_tx`` is complete on disk by now."""
    in_tx = np.memmap(root / "in_tx.bin", dtype="<u4", mode="r", shape=(c["inputs"],)) if c["inputs"] else None
    spent = ix.open_column(store.index_dir, "out_spent", c["outputs"]) if c["outputs"] else None
    for o0 in range(have["outputs"], c["outputs"], CHUNK):
        s = np.asarray(spent[o0:min(o0 + CHUNK, c["outputs"])]).astype(np.int64)
        ok = s < c["inputs"]                      # NONE, or an input past this snapshot: unspent
        nxt = np.full(len(s), NONE, "<u4")
        nxt[ok] = in_tx[s[ok]]
        f.write(nxt.tobytes())
    f.flush()
    if have["outputs"] and c["inputs"] > have["inputs"]:
        in_prev = store.column("in_prev")
        mm = np.memmap(root / "out_next.bin", dtype="<u4", mode="r+", shape=(have["outputs"],))
        for i0 in range(have["inputs"], c["inputs"], CHUNK):
            i1 = min(i0 + CHUNK, c["inputs"])
            p = np.asarray(in_prev[i0:i1]).astype(np.int64)
            old = p < have["outputs"]             # NONE (an unknown source) is never an old output
            mm[p[old]] = in_tx[i0:i1][old]
        mm.flush()
        del mm


def _write_meta(root: Path, counts: dict[str, int]) -> None:
    tmp = root / (META + ".tmp")
    tmp.write_text(json.dumps({"version": VERSION} | {e: counts[e] for e in ("blocks", "txs", "inputs", "outputs")}))
    os.replace(tmp, root / META)


def _in_memory(store: ChainStore, c: dict[str, int]) -> TxMaps:
    """The same maps as arrays (a store this process cannot write)."""
    first_in = np.append(np.asarray(store.column("tx_first_in")), np.uint32(c["inputs"])).astype(np.uint32)
    first_out = np.append(np.asarray(store.column("tx_first_out")), np.uint32(c["outputs"])).astype(np.uint32)
    blk_first_tx = np.asarray(store.column("blk_first_tx"), np.int64)
    txs = np.arange(c["txs"], dtype=np.uint32)
    blk = (np.searchsorted(blk_first_tx, txs, side="right") - 1).astype(np.uint32)
    in_tx = np.repeat(txs, np.diff(first_in))
    spent = np.asarray(ix.open_column(store.index_dir, "out_spent", c["outputs"]) if c["outputs"]
                       else np.zeros(0, np.uint32)).astype(np.int64)
    ok = spent < c["inputs"]
    out_next = np.full(len(spent), NONE, np.uint32)
    out_next[ok] = in_tx[spent[ok]]
    return TxMaps(tx_first_in=first_in, tx_first_out=first_out, in_tx=in_tx,
                  out_tx=np.repeat(txs, np.diff(first_out)), out_next=out_next,
                  tx_block=blk, tx_is_cb=(blk_first_tx[blk] == txs).astype(np.uint8))

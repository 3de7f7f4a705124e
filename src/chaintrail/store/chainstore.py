"""The chain store on disk: Parquet parts, index columns, and an atomic manifest.

Commit protocol for one batch (crash-safe at every step):

1. create ``DIRTY``;
2. write each table's new rows as ``tables/<t>/part-NNNNNN.parquet`` (tmp + fdatasync + rename; one
   writer thread per table; a batch may come in pieces, a row group per two: ``open_commit.py``);
3. append index rows and patch ``out_spent`` of older outputs in place;
4. write ``MANIFEST.json`` atomically (tmp + fsync + rename): this is the commit;
5. remove ``DIRTY``.

Opening a store that still has ``DIRTY`` repairs it: parts the manifest does not
name are deleted, index files are cut back to the committed counts and
``out_spent`` is recomputed from ``in_prev``. Batch boundaries depend only on the
data, so a killed ingest that is rerun ends byte-identical to an uninterrupted one.

A store opened read-only is a snapshot of the manifest it read, even while an
ingest appends to it: Parquet parts and index rows are only ever added after
the committed ones, and ``out_spent`` (patched in place when later inputs spend
older outputs) is read as a private copy in which links to inputs the snapshot
does not hold are cleared. A rollback cuts index files by copy and rename, so
pages a reader has mapped never vanish.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.errors import StoreError
from chaintrail.i18n import _
from chaintrail.store import index as ix
from chaintrail.store.eth_schema import ETH_TABLES
from chaintrail.store.schema import TABLES

FORMAT = "chaintrail-store/1"
# Every chain's raw tables: Ethereum's join the manifest on its first commit, so a Bitcoin-only manifest is unchanged.
SCHEMAS = TABLES | ETH_TABLES
# Tests set this (seconds) to hold each commit between its parts and its manifest, where a crash hurts most.
_PAUSE_BEFORE_MANIFEST = float(os.environ.get("CHAINTRAIL_TEST_PAUSE_COMMIT", "0") or 0)
_ENTITIES = ("blocks", "txs", "inputs", "outputs", "addresses")
# Where each block was read from (a file's path, rpc:<host>, and errors that name it): kept in the store,
# left out of its content hash.
PROVENANCE = {"blocks": ("source",), "stale_blocks": ("source",), "bad_blocks": ("source", "error"),
              "eth_blocks": ("source",)}


@dataclass
class Batch:
    """Everything one commit appends.

    A table may be given as a callable that builds it: the commit calls it in its own writer thread, so
    work that only the Parquet rows need (address strings) leaves the mapping thread. ``spent_positions``
    may name outputs past the committed ones (of this batch or an earlier piece of the same commit).
    """

    tables: dict[str, pa.Table | Callable[[], pa.Table]]
    index_tails: dict[str, np.ndarray]
    spent_positions: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    spent_values: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint32))
    manifest: dict = field(default_factory=dict)   # top-level manifest entries this commit sets


def write_part(table: pa.Table, path: Path) -> None:
    """One Parquet part, encoded by column type (``parquet_options``)."""
    pq.write_table(table, path, use_dictionary=False, **parquet_options(table.schema))


def parquet_options(schema: pa.Schema) -> dict:
    """Parquet options per column, chosen for write speed at about the size zstd alone gives.

    No dictionary pages: ids, hashes, scripts and amounts are not shrunk by them, and building them took
    half of the write time. Hashes are random bytes: stored plain, without min/max statistics (which prune
    nothing on random values); scripts and addresses likewise without statistics. 32- and 64-bit integers
    (ids counting up, amounts, sizes) are delta-packed, which leaves zstd little to do at its fastest level.
    Binary columns (output scripts) at zstd's fast level -3: 40% less CPU than level 1 and a little smaller (a
    g100 outputs part: 24.1 -> 14.6 ms, 5.43 -> 5.28 MB); strings (addresses) keep level 1, whose Huffman stage
    is what shrinks base58/bech32 text (fast levels leave it 46% larger).
    """
    compression, level, encoding, stats = {}, {}, {}, []
    for f in schema:
        t = f.type
        if pa.types.is_fixed_size_binary(t):
            compression[f.name] = "none"
            continue
        compression[f.name] = "zstd"
        if pa.types.is_binary(t) or pa.types.is_string(t):
            level[f.name] = -3 if pa.types.is_binary(t) else 1
            continue
        level[f.name] = -1
        stats.append(f.name)
        if pa.types.is_integer(t) and t.bit_width >= 32:
            encoding[f.name] = "DELTA_BINARY_PACKED"
    return {"compression": compression, "compression_level": level, "column_encoding": encoding,
            "write_statistics": stats}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class ChainStore:
    """A chain store directory. Open for writing with ``writable=True`` (takes a lock)."""

    def __init__(self, path: str | os.PathLike, *, writable: bool = False, create: bool = False,
                 network: str | None = None):
        self.path = Path(path)
        self.manifest_path = self.path / "MANIFEST.json"
        self.index_dir = self.path / "index"
        self._lock_fd: int | None = None
        self._out_spent: np.ndarray | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.writer_cpu_s = 0.0   # CPU seconds of the Parquet writer threads, all commits together
        if not self.manifest_path.exists():
            if not create:
                raise StoreError(_("no chain store at {path} (run `chaintrail ingest` first)").format(path=self.path))
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock()
            if not self.manifest_path.exists():
                _write_json_atomic(self.manifest_path, self._empty_manifest(network))
        elif writable:
            self._lock()
        try:
            self.manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(_("unreadable manifest {path}: {error}").format(path=self.manifest_path, error=exc)) from exc
        if self.manifest.get("format") != FORMAT:
            raise StoreError(_("{path} is not a {format} manifest").format(path=self.manifest_path, format=FORMAT))
        if (self.path / "DIRTY").exists():
            if writable or create:
                self.repair()
            elif not self._writer_active():
                # (With a writer at work, DIRTY is its commit in progress and the manifest read is a snapshot.)
                raise StoreError(_("store {path} was interrupted mid-write; rerun the ingest to repair it").format(
                    path=self.path))

    # -- lifecycle -----------------------------------------------------------------
    @staticmethod
    def _empty_manifest(network: str | None) -> dict:
        return {"format": FORMAT, "network": network, "counts": {e: 0 for e in _ENTITIES}
                | {"stale_blocks": 0, "bad_blocks": 0},
                "parts": {t: [] for t in TABLES}, "next_part": 0}

    def _lock(self) -> None:
        fd = os.open(self.path / "LOCK", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(_("store {path} is locked by another chaintrail process").format(path=self.path)) from None
        self._lock_fd = fd

    def _writer_active(self) -> bool:
        """Whether another process (or handle) holds the writer's lock right now."""
        try:
            fd = os.open(self.path / "LOCK", os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "ChainStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest["counts"])

    @property
    def network(self) -> str | None:
        return self.manifest.get("network")

    def part_paths(self, table: str) -> list[Path]:
        return [self.path / "tables" / table / p for p in self.manifest["parts"].get(table, [])]

    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """The whole raw table (empty with the right schema if nothing was written)."""
        paths = self.part_paths(table)
        if not paths:
            schema = SCHEMAS[table]
            if columns:
                schema = pa.schema([schema.field(c) for c in columns])
            return schema.empty_table()
        return pa.concat_tables([pq.read_table(p, columns=columns) for p in paths])

    def column(self, name: str, mode: str = "r") -> np.ndarray:
        """Memory-map one index column (``out_spent`` of a read-only store: the snapshot's own copy)."""
        if name == "out_spent" and mode == "r" and self._lock_fd is None:
            return self._out_spent_snapshot()
        return ix.open_column(self.index_dir, name, self.counts.get(ix.BY_NAME[name].entity, 0), mode)

    def _out_spent_snapshot(self) -> np.ndarray:
        """``out_spent`` as of this manifest: a concurrent ingest patches the file in place with links to
        inputs past ``counts["inputs"]``, which this snapshot reads as unspent."""
        if self._out_spent is None:
            c = self.counts
            spent = np.array(ix.open_column(self.index_dir, "out_spent", c["outputs"]))
            spent[spent >= c["inputs"]] = ix.NONE
            self._out_spent = spent
        return self._out_spent

    # -- writing -------------------------------------------------------------------
    def _require_writer(self) -> None:
        if self._lock_fd is None:
            raise StoreError("store opened read-only")

    def set_network(self, network: str) -> None:
        have = self.manifest.get("network")
        if have is None:
            self.manifest["network"] = network
            _write_json_atomic(self.manifest_path, self.manifest)
        elif have != network:
            raise StoreError(_("store {path} holds {have} data; refusing to add {network} blocks").format(
                path=self.path, have=have, network=network))

    def commit(self, batch: Batch) -> None:
        """Append one batch atomically (see module docstring)."""
        from chaintrail.store.open_commit import OpenCommit

        pending = OpenCommit(self)
        try:
            pending.add(batch)
            pending.finish()
        except BaseException:
            pending.abort()
            raise

    def _writers(self) -> ThreadPoolExecutor:
        """Threads that encode Parquet parts (pyarrow releases the GIL), one table each."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="chaintrail-parquet")
        return self._pool

    def repair(self) -> None:
        """Undo whatever an interrupted commit or rollback left behind."""
        counts = self.counts
        named = {t: set(ps) for t, ps in self.manifest["parts"].items()}
        tables_dir = self.path / "tables"
        if tables_dir.exists():
            for folder in tables_dir.iterdir():
                for f in folder.iterdir():
                    if f.name not in named.get(folder.name, set()):
                        f.unlink()
        if self.index_dir.exists():
            for f in self.index_dir.glob("*.tmp"):
                f.unlink()
            ix.truncate_columns(self.index_dir, counts)
            if counts["outputs"] or (self.index_dir / "out_spent.bin").exists():   # (not in an Ethereum-only store)
                in_prev = ix.open_column(self.index_dir, "in_prev", counts["inputs"])
                ix.rewrite_column(self.index_dir, "out_spent",
                                  ix.derive_out_spent(np.asarray(in_prev), counts["outputs"]))
        (self.path / "DIRTY").unlink(missing_ok=True)

    def rollback(self, keep_blocks: int) -> None:
        """Drop every block with ``block_seq >= keep_blocks`` and all it introduced."""
        self._require_writer()
        c = self.counts
        if keep_blocks >= c["blocks"]:
            return
        blk_first_tx = self.column("blk_first_tx")
        blk_first_addr = self.column("blk_first_addr")
        n_tx = int(blk_first_tx[keep_blocks])
        n_addr = int(blk_first_addr[keep_blocks])
        n_in = int(self.column("tx_first_in")[n_tx]) if n_tx < c["txs"] else c["inputs"]
        n_out = int(self.column("tx_first_out")[n_tx]) if n_tx < c["txs"] else c["outputs"]
        self.cut_tables({"blocks": keep_blocks, "txs": n_tx, "inputs": n_in, "outputs": n_out,
                         "addresses": n_addr})

    def cut_tables(self, keep: dict[str, int], manifest: dict | None = None) -> None:
        """Keep the first ``keep[t]`` rows of each named table and of the index columns it sizes (an entity is
        named after its table), then repair; ``manifest`` entries are set in the same commit."""
        self._require_writer()
        (self.path / "DIRTY").touch()
        m = json.loads(json.dumps(self.manifest))
        seq = m["next_part"]
        for table, rows in keep.items():
            m["parts"][table], seq = self._cut_parts(table, rows, seq)
            m["counts"][table] = rows
        m["next_part"] = seq
        m.update(manifest or {})
        _write_json_atomic(self.manifest_path, m)
        self.manifest = m
        ix.cut_columns(self.index_dir, keep)
        self.repair()

    def _cut_parts(self, table: str, keep_rows: int, seq: int) -> tuple[list[str], int]:
        """Parts holding the first ``keep_rows`` rows; the part that straddles is rewritten."""
        kept: list[str] = []
        seen = 0
        folder = self.path / "tables" / table
        for part in self.manifest["parts"].get(table, []):
            if seen >= keep_rows:
                break
            rows = pq.ParquetFile(folder / part).metadata.num_rows
            if seen + rows <= keep_rows:
                kept.append(part)
            else:
                cut = pq.read_table(folder / part).slice(0, keep_rows - seen)
                name = f"part-{seq:06d}.parquet"
                seq += 1
                write_part(cut, folder / (name + ".tmp"))
                os.replace(folder / (name + ".tmp"), folder / name)
                kept.append(name)
            seen += rows
        return kept, seq

    # -- identity ------------------------------------------------------------------
    def content_hash(self) -> str:
        """SHA-256 over the manifest, every committed part and every index column: the chain data, not where it
        was read from (the columns in ``PROVENANCE`` are left out, so the same blocks ingested from another
        folder give the same hash)."""
        h = hashlib.sha256()
        files = [self.manifest_path]
        for table in sorted(SCHEMAS):
            files += self.part_paths(table)
        files += sorted(self.index_dir.glob("*.bin")) if self.index_dir.exists() else []
        for f in files:
            h.update(str(f.relative_to(self.path)).encode() + b"\0")
            leave_out = PROVENANCE.get(f.parent.name) if f.parent.parent == self.path / "tables" else None
            if leave_out:
                _hash_rows(h, f, leave_out)
                continue
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()


def _hash_rows(h, path: Path, leave_out: tuple[str, ...]) -> None:
    """One Parquet part's values, column by column, without the columns named in ``leave_out``."""
    table = pq.read_table(path)
    for name in table.column_names:
        if name not in leave_out:
            col = table[name]
            h.update(f"{name}:{col.type}:{len(col)}\0".encode())
            h.update(repr(col.to_pylist()).encode())

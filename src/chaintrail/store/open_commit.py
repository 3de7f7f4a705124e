"""One commit written in pieces: each piece's rows join the batch's parts while later pieces are still mapped.

The commit protocol is the store's (``chainstore`` module docstring), spread over time: ``DIRTY`` is
created with the first piece; every ``PIECES_PER_GROUP`` pieces become one row group of every table's part
(written to a ``.tmp`` file, one writer thread per table; the small blocks table waits for ``finish``), and
each piece is appended to the index columns as it comes; ``finish`` writes the spend links of older outputs,
closes, syncs and renames the parts, syncs the index and writes the manifest. Until then nothing the manifest
names has changed, so a crash at any point leaves what ``repair`` undoes: unnamed files, index rows
past the committed counts, and ``out_spent`` links (recomputed from ``in_prev``).

The pieces of a batch are cut from its blocks alone, so a batch's bytes do not depend on where an
earlier run stopped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.store import index as ix

# Tables of a few rows per piece: kept until ``finish`` and written as one row group (a row group costs
# about a millisecond whatever its size).
_WHOLE = frozenset({"blocks"})
# Pieces whose rows make one row group of the other tables. Each column chunk costs a page and a compression
# context whatever its size: on the 1M-tx chain's tables, row groups of 25k -> 50k txs took 8% less CPU to write;
# on the 10M-tx chain, 50k -> 100k (a 32 MB batch's four 8 MB slices) took the writer 16.3-17.5 s of CPU
# against 18.2-20.3 s (three alternating runs).
PIECES_PER_GROUP = 4

if TYPE_CHECKING:
    from chaintrail.store.chainstore import Batch, ChainStore


class OpenCommit:
    """The batch being appended to ``store``: ``add`` its pieces in order, then ``finish`` (or ``abort``)."""

    def __init__(self, store: ChainStore):
        store._require_writer()
        self.store = store
        (store.path / "DIRTY").touch()
        self.manifest = json.loads(json.dumps(store.manifest))
        self.part = f"part-{self.manifest['next_part']:06d}.parquet"
        self.counts = dict(self.manifest["counts"])       # rows so far, this batch's pieces included
        self.index_counts = dict(self.counts)             # index rows so far
        self._writers: dict[str, tuple[pq.ParquetWriter, Path]] = {}
        self._held: dict[str, list[pa.Table | Callable[[], pa.Table]]] = {}   # tables of ``_WHOLE``
        self._grouping: dict[str, list[pa.Table | Callable[[], pa.Table]]] = {}   # the next row group's pieces
        self._pieces = 0
        self._patches: list[tuple[np.ndarray, np.ndarray]] = []   # out_spent links of older outputs

    def add(self, batch: Batch) -> None:
        """Take one piece: its index rows are appended here, and every ``PIECES_PER_GROUP``-th piece starts the
        writer threads on a row group per table of the pieces held."""
        for name, table in batch.tables.items():
            (self._held if name in _WHOLE else self._grouping).setdefault(name, []).append(table)
        self._pieces += 1
        jobs = self._write_group() if self._pieces % PIECES_PER_GROUP == 0 else []
        try:
            tails, positions, values = _own_spends(batch, self.index_counts.get("outputs", 0))
            ix.append_columns(self.store.index_dir, tails, self.index_counts, sync=False)
            if len(positions):
                self._patches.append((positions, values))   # (applied once, by ``finish``)
            for entity, n in _tail_rows(tails).items():
                self.index_counts[entity] = self.index_counts.get(entity, 0) + n
        finally:
            self._count(jobs)   # (waits for every writer, then raises)
        self.manifest.update(batch.manifest)

    def _write_group(self) -> list:
        """Start writing the held pieces of every table but ``_WHOLE`` as one row group each (writer threads)."""
        pool = self.store._writers()
        jobs = [(name, pool.submit(self._rows, name, _concat(parts))) for name, parts in self._grouping.items()]
        self._grouping = {}
        return jobs

    def _count(self, jobs: list) -> None:
        """Wait for ``jobs`` and count their rows and CPU seconds."""
        done = {name: job.result() for name, job in jobs}
        self.store.writer_cpu_s += sum(cpu for _, cpu in done.values())
        for name, (n, _) in done.items():
            self.counts[name] = self.counts.get(name, 0) + n

    def _rows(self, name: str, table: pa.Table | Callable[[], pa.Table]) -> tuple[int, float]:
        """Append one table's rows as a row group of its part; the rows and the CPU seconds (a writer thread)."""
        from chaintrail.store.chainstore import SCHEMAS, parquet_options

        t = time.thread_time()
        if callable(table):
            table = table()
        if table.num_rows == 0:
            return 0, time.thread_time() - t
        if name not in self._writers:
            folder = self.store.path / "tables" / name
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / (self.part + ".tmp")
            schema = SCHEMAS[name]
            self._writers[name] = (pq.ParquetWriter(tmp, schema, use_dictionary=False, **parquet_options(schema)), tmp)
        self._writers[name][0].write_table(table.cast(SCHEMAS[name]))
        return table.num_rows, time.thread_time() - t

    def finish(self) -> None:
        """Close, sync and name the parts, sync the index, then write the manifest: the commit."""
        from chaintrail.store.chainstore import _PAUSE_BEFORE_MANIFEST, _write_json_atomic

        pool = self.store._writers()
        jobs = self._write_group() + [(name, pool.submit(self._rows, name, _concat(parts)))
                                      for name, parts in self._held.items()]
        try:
            if self._patches:
                ix.patch_out_spent(self.store.index_dir, np.concatenate([p for p, _ in self._patches]),
                                   np.concatenate([v for _, v in self._patches]), self.index_counts["outputs"],
                                   flush=False)
        finally:
            self._count(jobs)
        names = list(self._writers)
        for closing in [pool.submit(self._close, name) for name in names]:
            closing.result()
        self._writers.clear()
        ix.sync_columns(self.store.index_dir)
        m = self.manifest
        for name in names:
            m["parts"].setdefault(name, []).append(self.part)
        m["counts"] = self.counts
        if _PAUSE_BEFORE_MANIFEST:
            time.sleep(_PAUSE_BEFORE_MANIFEST)   # test hook: widen the window a kill -9 lands in
        m["next_part"] += 1
        _write_json_atomic(self.store.manifest_path, m)
        self.store.manifest = m
        (self.store.path / "DIRTY").unlink()

    def _close(self, name: str) -> None:
        from chaintrail.store.chainstore import _fsync_dir

        writer, tmp = self._writers[name]
        writer.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, tmp.with_name(self.part))
        _fsync_dir(tmp.parent)

    def abort(self) -> None:
        """Close the open parts unnamed (``DIRTY`` stays: the next writer repairs the store)."""
        for writer, _ in self._writers.values():
            try:
                writer.close()
            except Exception:   # noqa: BLE001 (already failing; repair deletes the file)
                pass
        self._writers.clear()


def _concat(parts: list[pa.Table | Callable[[], pa.Table]]) -> Callable[[], pa.Table]:
    """The pieces as one table, built when called (in a writer thread: some pieces are built there too)."""
    def table() -> pa.Table:
        tables = [t() if callable(t) else t for t in parts]
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return table


def _tail_rows(tails: dict[str, np.ndarray]) -> dict[str, int]:
    """Index rows per entity in ``tails`` (every column of an entity has as many)."""
    return {ix.BY_NAME[name].entity: len(arr) for name, arr in tails.items()}


def _own_spends(batch: Batch, n_outputs: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The batch's index tails with its spends of its own outputs set in ``out_spent``; the other patches."""
    pos, vals = batch.spent_positions, batch.spent_values
    own = pos >= n_outputs
    if not own.any():
        return batch.index_tails, pos, vals
    tails = dict(batch.index_tails)
    spent = np.array(tails["out_spent"], np.uint32)
    spent[pos[own] - n_outputs] = vals[own]
    tails["out_spent"] = spent
    return tails, pos[~own], vals[~own]

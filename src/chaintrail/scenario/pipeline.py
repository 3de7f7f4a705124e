"""Finishing and writing blocks in a second process, overlapped with simulating the next block.

Hashing (txids, wtxids, two merkle trees, the coinbase) is a third of the work
and needs nothing but the serialized block, so a forked worker does it and
writes the blk/rev files while the main process simulates the next block.  The
main process needs a block's txids back only before it serializes the block
after it, so one block is in flight at a time.  ``InlineSink`` does the same
work in-process (no fork available, or ``workers=0``); both write the same bytes.
"""

from __future__ import annotations

import multiprocessing as mp
import warnings
from pathlib import Path

from chaintrail.chains.bitcoin.blockfile_writer import BlockFileWriter
from chaintrail.chains.bitcoin.serialize import compact_size, regtest_genesis_block
from chaintrail.errors import UsageError
from chaintrail.scenario.blocks import BlockJob, FinishedBlock, finish_block


class _Sink:
    """Owns the block files and the chain tip; turns jobs into written blocks."""

    def __init__(self, out_dir: Path, magic: bytes, xor_key: bytes | None):
        self.writer = BlockFileWriter(out_dir, magic, xor_key)
        header, cb = regtest_genesis_block()
        self.writer.write_block(header.serialize() + compact_size(1) + cb.serialize(), None, bytes(32))
        self.prev = header.hash()

    def add(self, job: BlockJob) -> FinishedBlock:
        rec, data = finish_block(job, self.prev)
        self.writer.write_block(data, job.undo, self.prev)
        self.prev = rec.hash
        return rec

    def close(self) -> None:
        self.writer.close()


def _worker(conn, out_dir: Path, magic: bytes, xor_key: bytes | None) -> None:
    sink = _Sink(out_dir, magic, xor_key)
    try:
        while True:
            job = conn.recv()
            if job is None:
                break
            try:
                conn.send(sink.add(job))
            except Exception as exc:  # noqa: BLE001 - report to the parent rather than hang it
                conn.send(exc)
                break
    finally:
        sink.close()
        conn.close()


class InlineSink:
    """Finish each block at once, in this process."""

    def __init__(self, out_dir: Path, magic: bytes, xor_key: bytes | None):
        self._sink = _Sink(out_dir, magic, xor_key)
        self._done: FinishedBlock | None = None

    def submit(self, job: BlockJob) -> None:
        self._done = self._sink.add(job)

    def collect(self) -> FinishedBlock:
        done, self._done = self._done, None
        if done is None:
            raise UsageError("no block in flight")
        return done

    def close(self) -> None:
        self._sink.close()


class ProcessSink:
    """Finish blocks in a forked worker, one block in flight."""

    def __init__(self, out_dir: Path, magic: bytes, xor_key: bytes | None):
        ctx = mp.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_worker, args=(child, out_dir, magic, xor_key), daemon=True)
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork in a process with threads; the worker only
            # uses hashlib and file I/O, never a lock another thread could hold.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._proc.start()
        child.close()
        self._busy = False

    def submit(self, job: BlockJob) -> None:
        if self._busy:
            raise UsageError("a block is already in flight")
        self._conn.send(job)
        self._busy = True

    def collect(self) -> FinishedBlock:
        if not self._busy:
            raise UsageError("no block in flight")
        got = self._conn.recv()
        self._busy = False
        if isinstance(got, Exception):
            raise got
        return got

    def close(self) -> None:
        try:
            self._conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._proc.join(timeout=60)
        self._conn.close()


def make_sink(out_dir: Path, magic: bytes, xor_key: bytes | None, workers: int):
    """A ProcessSink when a worker is wanted and fork exists, else an InlineSink."""
    if workers > 0 and "fork" in mp.get_all_start_methods():
        return ProcessSink(out_dir, magic, xor_key)
    return InlineSink(out_dir, magic, xor_key)

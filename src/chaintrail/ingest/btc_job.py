"""Resumable Bitcoin ingest: blocks folder, raw/hex files and node RPC into the chain store.

Blocks are taken in chain order and cut into batches of about ``batch_bytes``, each committed as one
Parquet part per table. A batch is parsed, mapped and written in slices of about ``slice_bytes`` (a row
group of each part), so that the parse, map and write threads overlap even on a chain of one batch and
the commit at a batch's end has little left to do.
Headers read from files (blocks folder, raw files) must meet their own nBits
target before they take part in chain selection; blocks from a node's RPC were
checked by the node. A batch is parsed, checked (merkle root, witness commitment), mapped and
committed atomically, so a killed run leaves the store at a batch boundary and a
rerun carries on from there. Batch boundaries depend only on the blocks still to
ingest, which makes the resumed store byte-identical to an uninterrupted one (slices do not move them).
"""

from __future__ import annotations

import logging
import mmap
import time
from contextlib import closing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pyarrow as pa

from chaintrail.chains.bitcoin.blockfiles import (BlockLocation, detect_network, list_block_files, read_xor_key,
                                                  scan_block_file)
from chaintrail.chains.bitcoin.chainwork import best_chain
from chaintrail.chains.bitcoin.network import MAINNET, NETWORKS, Network
from chaintrail.chains.bitcoin.parse import compute_txids, parse_blocks, sha256d
from chaintrail.chains.bitcoin.pow import PowCheck
from chaintrail.chains.bitcoin.undo_columns import UndoColumns, parse_bcoin_undo_columns
from chaintrail.chains.bitcoin.validate import check_block, check_blocks
from chaintrail.errors import DecodeError, ProofOfWorkError, SourceError, TruncatedError
from chaintrail.ingest.btc_mapper import BlockMeta, Mapper, prepare
from chaintrail.ingest.btc_sources import BlockReader, LazyBlock, RevUndo, sibling_undo, split_raw
from chaintrail.ingest.pipeline import InOrder, ahead
from chaintrail.store.chainstore import Batch, ChainStore
from chaintrail.store.open_commit import OpenCommit
from chaintrail.store.schema import TABLES
from chaintrail.store.writer_state import WriterState

log = logging.getLogger(__name__)

DEFAULT_BATCH_BYTES = 32 << 20
# 8 MB slices (two make a row group of each part: store/open_commit.py); against 4 MB, when each slice was a row
# group, the commit thread's CPU on a 1M-tx chain 2.4-2.6 -> 2.2 s and wall +5-8% for +50-65 MB of peak RSS.
DEFAULT_SLICE_BYTES = 8 << 20
TIMELINE_MAX = 256   # stage timeline entries kept for the bench (the first ones)
# A version-2+ block's first coinbase push is its height (BIP34): Core 0.7 wrote it from the first v2
# block on, before enforcement (mainnet 227931, testnet 21111). Below these floors no v2 block exists,
# so a smaller number is not a height.
_BIP34_FLOOR = {"mainnet": 190_000, "testnet": 1, "testnet4": 1, "signet": 1, "regtest": 1}
_ZERO = bytes(32)


@dataclass
class PendingBlock:
    """One block waiting to be ingested: its bytes, where they came from, and undo access."""

    data: bytes | memoryview | np.ndarray | LazyBlock
    source: str
    offset: int
    undo: Callable[[], UndoColumns | None] | None = None
    height: int | None = None
    check_pow: bool = False   # set for file sources whose headers were not checked on scanning


@dataclass
class IngestReport:
    blocks: int = 0
    txs: int = 0
    inputs: int = 0
    outputs: int = 0
    bytes: int = 0
    skipped_known: int = 0
    stale: int = 0
    bad: list[str] = field(default_factory=list)
    rolled_back: int = 0
    # CPU seconds of each pipeline thread: parse (+ txids, checks), map (the caller's thread), commit.
    stage_cpu_s: dict[str, float] = field(default_factory=dict)
    # Wall seconds each stage was busy, and its first (stage, start, end) spans from the run's start.
    stage_wall_s: dict[str, float] = field(default_factory=dict)
    timeline: list[tuple[str, float, float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "timeline"} | {
            "stage_cpu_s": {k: round(v, 3) for k, v in self.stage_cpu_s.items()},
            "stage_wall_s": {k: round(v, 3) for k, v in self.stage_wall_s.items()}}


def bip34_height(lay, b: int) -> int | None:
    """Height pushed first in the coinbase scriptSig of block ``b`` (BIP34), if any."""
    cb_in = int(lay.tx_first_in[int(lay.blk_first_tx[b])])
    off, ln = int(lay.in_script[cb_in]), int(lay.in_script_len[cb_in])
    if ln == 0:
        return None
    op = int(lay.buf[off])
    if 0x51 <= op <= 0x60:
        return op - 0x50
    if 1 <= op <= 8 and op < ln:
        return int.from_bytes(lay.buf[off + 1:off + 1 + op].tobytes(), "little")
    return None


class BtcIngest:
    """Feeds blocks into one store; holds the writer lock for its lifetime."""

    def __init__(self, store_path: str | Path, *, network: Network | None = None, skip_bad: bool = False,
                 batch_bytes: int = DEFAULT_BATCH_BYTES, progress: Callable[[int, int], None] | None = None,
                 kill_after_batches: int | None = None, check_pow: bool = True,
                 slice_bytes: int = DEFAULT_SLICE_BYTES):
        """``check_pow=False`` accepts headers above their target: only for tests that fork real
        mainnet blocks, which cannot be mined again; the CLI always checks."""
        self.store = ChainStore(store_path, writable=True, create=True, network=network.name if network else None)
        self.network = network
        if network is not None:
            self.store.set_network(network.name)
        self.skip_bad = skip_bad
        self.pow = PowCheck() if check_pow else None
        self.batch_bytes = batch_bytes
        self.slice_bytes = slice_bytes
        self.progress = progress
        self.report = IngestReport()
        self._kill_after = kill_after_batches  # test hook: simulate a crash after N commits
        self._state: WriterState | None = None
        self._inflight: dict[bytes, int | None] = {}   # hash -> height of blocks parsed but not yet committed
        self._unsettled: tuple | None = None           # the batch being committed, to record once it is
        self._t0 = 0.0                                 # perf_counter at the start of the running pipeline
        self._open: OpenCommit | None = None           # the batch being written (the commit thread's)
        self._progress = [0, 0, 0]
        self._map: tuple[Path | None, np.ndarray | None] = (None, None)   # the blk file mapped last
        blocks = self.store.read_table("blocks", ["hash", "height", "block_seq"])
        self.known: dict[bytes, tuple[int, int | None]] = {
            h[::-1]: (s, ht) for h, ht, s in zip(blocks["hash"].to_pylist(), blocks["height"].to_pylist(),
                                                   blocks["block_seq"].to_pylist())}
        stale = self.store.read_table("stale_blocks", ["hash"])
        self.known_stale = {h[::-1] for h in stale["hash"].to_pylist()}
        bad = self.store.read_table("bad_blocks", ["source", "source_offset"])
        self.known_bad = set(zip(bad["source"].to_pylist(), bad["source_offset"].to_pylist()))

    def close(self) -> None:
        """Release the store's lock and the writer's in-memory index (txids, address keys, output values: GBs on
        a long chain), so work done after the ingest (the CLI's read-model build) does not hold both at once."""
        self.store.close()
        self._state = None
        self._map = (None, None)

    def __enter__(self) -> "BtcIngest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _net(self) -> Network:
        if self.network is None:
            name = self.store.network
            self.network = NETWORKS[name] if name else MAINNET
            self.store.set_network(self.network.name)
        return self.network

    # -- sources -------------------------------------------------------------------
    def ingest_blocks_dir(self, blocks_dir: str | Path) -> IngestReport:
        """Ingest the best chain of a Bitcoin Core ``blocks/`` folder."""
        blocks_dir = Path(blocks_dir)
        if not blocks_dir.is_dir():
            raise SourceError(f"{blocks_dir}: not a directory")
        if not list_block_files(blocks_dir):
            raise SourceError(f"{blocks_dir}: no blk*.dat files")
        net = detect_network(blocks_dir)
        if self.network is None:
            self.network = net
        self.store.set_network(net.name)
        key = read_xor_key(blocks_dir)
        locs: list[BlockLocation] = []
        skipped: list[DecodeError] | None = [] if self.skip_bad else None
        for path in list_block_files(blocks_dir):
            locs.extend(scan_block_file(path, net.magic, key, skipped))
        bad_rows = [self._bad_row(None, e.source, e.offset, e) for e in skipped or []]
        locs = self._proof_of_work(locs, bad_rows)
        layout = best_chain(locs)
        main = layout.main
        # Continue where the store stops; roll back if the store's tip left the best chain.
        pos = {b.hash: i for i, b in enumerate(main)}
        todo_from = 0
        if self.known:
            seqs = sorted(((seq, h) for h, (seq, _) in self.known.items()), reverse=True)
            on_main = [(seq, h) for seq, h in seqs if h in pos]
            if on_main:
                seq, h = on_main[0]
                if seq != seqs[0][0]:
                    fork_seq = self._first_forked_seq(seq, pos, len(main))
                    if fork_seq is not None:
                        self._rollback(fork_seq)
                todo_from = pos[h] + 1
        stale_rows = [b for b in layout.stale if b.hash not in self.known_stale and b.hash not in self.known]
        undo = RevUndo(key, net.magic)
        # The folder's chain gives heights by position once its root's height is known, so a
        # block skipped as bad (--skip-bad) does not cost its descendants their heights.
        root = self._height_of(main[0].prev_hash, {}, None, 0, net) if main else None
        pending = (PendingBlock(LazyBlock(b, key), str(b.file), b.offset, undo.for_block(b),
                                None if root is None else root + i)
                   for i, b in enumerate(main) if i >= todo_from and b.hash not in self.known)
        total = sum(b.length for b in main[todo_from:])
        self._run(pending, total, extra={"stale_blocks": self._stale_table(stale_rows),
                                         "bad_blocks": pa.Table.from_pylist(bad_rows, TABLES["bad_blocks"])})
        self.report.stale = len(layout.stale)
        return self.report

    def _proof_of_work(self, locs: list[BlockLocation], bad_rows: list[dict]) -> list[BlockLocation]:
        """``locs`` whose headers meet their own target; the rest raise, or with --skip-bad go to ``bad_rows``."""
        if self.pow is None:
            return locs
        fail = self.pow.failure
        bad = [(b, why) for b in locs if (why := fail(b.hash, b.bits)) is not None]
        if not bad:
            return locs
        for b, why in bad:
            err = ProofOfWorkError(why, str(b.file), b.offset)
            if not self.skip_bad:
                raise err
            bad_rows.append(self._bad_row(b.hash[::-1], err.source, err.offset, err))
        drop = {id(b) for b, _ in bad}
        return [b for b in locs if id(b) not in drop]

    def _bad_row(self, hash_: bytes | None, source: str | None, offset: int | None, err: DecodeError) -> dict:
        self.report.bad.append(str(err))
        return {"hash": hash_, "source": source, "source_offset": offset, "error": str(err)}

    def _first_forked_seq(self, after_seq: int, pos: dict[bytes, int], n_main: int) -> int | None:
        """First block stored after ``after_seq`` that competes with the best chain ``pos``, if any.

        Blocks from other sources (raw files of other heights, a block extending the
        tip) are not this chain's fork and must survive a rerun over the folder.
        """
        t = self.store.read_table("blocks", ["block_seq", "hash", "prev_hash"])
        forked: set[bytes] = set()
        first = None
        for s, h, prev in sorted(zip(t["block_seq"].to_pylist(), t["hash"].to_pylist(), t["prev_hash"].to_pylist())):
            h, prev = h[::-1], prev[::-1]
            if s <= after_seq or h in pos:
                continue
            if prev in forked or (prev in pos and pos[prev] + 1 < n_main):
                forked.add(h)
                first = s if first is None else first
        return first

    def ingest_raw(self, paths: Iterable[str | Path], undo_paths: dict[str, str] | None = None,
                   height: int | None = None) -> IngestReport:
        """Ingest single blocks from files: bare binary, Core-framed, or hex text."""
        blocks: list[PendingBlock] = []
        for p in paths:
            p = Path(p)
            try:
                raw = p.read_bytes()
            except OSError as exc:
                raise SourceError(f"{p}: cannot read ({exc.strerror})") from exc
            for data, off in split_raw(raw, str(p)):
                undo_file = (undo_paths or {}).get(str(p)) or sibling_undo(p)
                undo_fn = (lambda f=undo_file: parse_bcoin_undo_columns(Path(f).read_bytes(), str(f))) if undo_file else None
                blocks.append(PendingBlock(data, str(p), off, undo_fn, height, check_pow=self.pow is not None))
        if self.network is None and self.store.network is None:
            self.network = MAINNET
        self._run(iter(blocks), sum(len(b.data) for b in blocks))
        return self.report

    def append_rpc_blocks(self, blocks: list[tuple[int, bytes]], source: str) -> None:
        """Append blocks fetched from a node (heights known)."""
        self._run(iter(PendingBlock(raw, source, 0, None, h) for h, raw in blocks), sum(len(r) for _, r in blocks))

    # -- the pipeline --------------------------------------------------------------
    def _state_now(self) -> WriterState:
        if self._state is None:
            self._state = WriterState(self.store.index_dir, self.store.counts)
        return self._state

    def _slices(self, pending: Iterator[PendingBlock]) -> Iterator[tuple[list[PendingBlock], bool]]:
        """(blocks, ends its batch): batches cut at ``batch_bytes``, each cut into slices at ``slice_bytes``."""
        blocks: list[PendingBlock] = []
        size = in_batch = 0
        for blk in pending:
            blocks.append(blk)
            size += len(blk.data)
            in_batch += len(blk.data)
            if in_batch >= self.batch_bytes:
                yield blocks, True
                blocks, size, in_batch = [], 0, 0
            elif size >= self.slice_bytes:
                yield blocks, False
                blocks, size = [], 0
        if in_batch:
            yield blocks, True   # (possibly no blocks: the batch's last slice was full)

    def _mark(self, stage: str, start: float) -> None:
        """Record a span of ``stage`` that began at ``start`` (perf_counter)."""
        now = time.perf_counter()
        wall = self.report.stage_wall_s
        wall[stage] = wall.get(stage, 0.0) + now - start
        if len(self.report.timeline) < TIMELINE_MAX:
            self.report.timeline.append((stage, start - self._t0, now - self._t0))

    def _write(self, piece: Batch, finish: bool) -> None:
        """The commit thread's job: write one slice's rows, and commit the batch after its last slice. The
        store's writer threads' CPU is counted as the commit's."""
        t, writers = time.perf_counter(), self.store.writer_cpu_s
        if self._open is None:
            self._open = OpenCommit(self.store)
        self._open.add(piece)
        if finish:
            self._open.finish()
            self._open = None
        cpu = self.report.stage_cpu_s
        cpu["commit"] = cpu.get("commit", 0.0) + self.store.writer_cpu_s - writers
        self._mark("commit", t)

    def _run(self, pending: Iterator[PendingBlock], total: int, extra: dict[str, pa.Table] | None = None) -> None:
        """Parse (a thread ahead), map (here) and commit (a thread behind) every slice, in order."""
        net = self._net()
        mapper = Mapper(self._state_now(), net)
        self._inflight.clear()
        self._progress = [0, 0, total]   # bytes done, commits, total
        first = True
        cpu = self.report.stage_cpu_s
        t0 = time.thread_time()
        self._t0 = time.perf_counter()
        slices: list[tuple] = []
        bad_rows: list[dict] = []
        wrote = expected = False
        try:
            # Two slices may wait between stages: three threads on two cores then seldom stand idle.
            with InOrder("commit", cpu, depth=2) as commits, \
                    closing(ahead(self._parsed(pending, net), depth=2, name="parse", cpu=cpu)) as parsed:
                for blocks, lay, txids, metas, prep, slice_bad, last in parsed:
                    out = Batch({}, {})
                    if blocks:
                        t = time.perf_counter()
                        if not expected:   # (at the first slice mapped: a run over known blocks reserves nothing)
                            mapper.s.expect(total)
                            expected = True
                        out = mapper.map(lay, metas, txids, prep)
                        self._mark("map", t)
                    slices.append((blocks, lay, metas))
                    bad_rows += slice_bad
                    if last:
                        if first and extra:
                            bad_rows = extra["bad_blocks"].to_pylist() + bad_rows if "bad_blocks" in extra else bad_rows
                            out.tables.update({k: v for k, v in extra.items() if v.num_rows and k != "bad_blocks"})
                        bad_rows = self._new_bad(bad_rows)
                        if bad_rows:
                            out.tables["bad_blocks"] = pa.Table.from_pylist(bad_rows, TABLES["bad_blocks"])
                        first = False
                    if self._unsettled is not None:
                        self._settle(commits)   # the last batch's commit: record it before the next one
                    if out.tables or (last and wrote):
                        commits.submit(self._write, out, last)
                        wrote = True
                    if last:
                        self._unsettled = (wrote, slices)
                        slices, bad_rows, wrote = [], [], False
                self._settle(commits)
        finally:
            if self._open is not None:   # (the commit thread is idle: InOrder has been closed)
                self._open.abort()
                self._open = None
            self._unsettled = None
            self._inflight.clear()
            self._map = (None, None)
            cpu["map"] = cpu.get("map", 0.0) + time.thread_time() - t0
        if first and extra:
            tables = {k: v for k, v in extra.items() if v.num_rows and k != "bad_blocks"}
            bad_rows = self._new_bad(extra["bad_blocks"].to_pylist() if "bad_blocks" in extra else [])
            if bad_rows:
                tables["bad_blocks"] = pa.Table.from_pylist(bad_rows, TABLES["bad_blocks"])
            if tables:
                self.store.commit(Batch(tables, {}))

    def _parsed(self, pending: Iterator[PendingBlock], net: Network):
        """(blocks, layout, txids, metas, store-independent mapping, bad-block rows, ends its batch) per slice,
        parsed and checked (the parse thread)."""
        for blocks, last in self._slices(pending):
            t = time.perf_counter()
            blocks = [b for b in blocks if not self._seen(b)]
            bad_rows: list[dict] = []
            lay = txids = metas = prep = None
            while blocks:
                try:
                    lay, txids, metas = self._parse(blocks, net)
                    break
                except _BadBlock as bad:
                    if not self.skip_bad:
                        raise bad.error from None
                    blk = blocks.pop(bad.index)
                    bad_rows.append(self._bad_row(bad.hash, blk.source, blk.offset, bad.error))
            if lay is not None:
                prep = prepare(lay)
            self._mark("parse", t)
            yield blocks, lay, txids, metas, prep, bad_rows, last

    def _settle(self, commits: InOrder) -> None:
        """Wait for the batch being committed, then record its slices as the sequential loop did."""
        commits.wait()
        if self._unsettled is None:
            return
        did_commit, slices = self._unsettled
        self._unsettled = None
        self._progress[1] += did_commit
        seq = self.store.counts["blocks"] - sum(lay.n_blocks for blocks, lay, _ in slices if blocks)
        for blocks, lay, metas in slices:
            if blocks:
                self._after_commit(lay, metas, seq)
                seq += lay.n_blocks
            self._progress[0] += sum(len(b.data) for b in blocks)
        if self.progress:
            self.progress(self._progress[0], self._progress[2])
        if self._kill_after is not None and self._progress[1] >= self._kill_after:
            raise _SimulatedCrash()

    def _new_bad(self, rows: list[dict]) -> list[dict]:
        """Bad-block rows not recorded by an earlier run over the same files (a rerun adds none)."""
        out = []
        for r in rows:
            key = (r["source"], r["source_offset"])
            if key not in self.known_bad:
                self.known_bad.add(key)
                out.append(r)
        return out

    def _seen(self, blk: PendingBlock) -> bool:
        """Whether the block is stored already, or parsed in an earlier batch of this run (the parse thread)."""
        if isinstance(blk.data, LazyBlock):
            h = blk.data.loc.hash
        else:
            h = sha256d(bytes(blk.data[:80]))
        if h in self.known or h in self._inflight:
            self.report.skipped_known += 1
            return True
        return False

    def _parse(self, batch: list[PendingBlock], net: Network):
        sizes = np.array([len(b.data) for b in batch], np.int64)
        mapped = self._mapped(batch)
        if mapped is not None:
            # Every block sits in one plain blk file: parse the file's pages in place, no copy.
            buf = mapped
            locs = [cast(LazyBlock, b.data).loc for b in batch]
            starts = np.array([loc.offset for loc in locs], np.int64)
            ends = starts + sizes
            if int(ends.max()) > len(buf):
                loc = locs[int(np.argmax(ends))]
                raise TruncatedError(f"block of {loc.length} bytes runs past the end of the file", str(loc.file), loc.offset)
            for b, s, e in zip(batch, starts.tolist(), ends.tolist()):
                b.data = buf[s:e]
        else:
            ends = np.cumsum(sizes)
            starts = ends - sizes
            buf = np.empty(int(ends[-1]), np.uint8)
            with BlockReader() as reader:
                for b, s in zip(batch, starts.tolist()):
                    if isinstance(b.data, LazyBlock):
                        reader.read_into(b.data, buf[s:s + len(b.data)])
                        b.data = buf[s:s + len(b.data)]
                    else:
                        buf[s:s + len(b.data)] = np.frombuffer(b.data, np.uint8) if not isinstance(b.data, np.ndarray) else b.data
        if self.pow is not None:
            for i, b in enumerate(batch):
                if b.check_pow and sizes[i] >= 80:   # shorter ones fail parsing below
                    header = bytes(buf[starts[i]:starts[i] + 80])
                    try:
                        self.pow.check(header, sha256d(header), None, int(starts[i]))
                    except ProofOfWorkError as exc:
                        raise _BadBlock(i, batch, starts, exc) from None
        try:
            lay = parse_blocks(buf, starts, ends)
        except DecodeError as exc:
            i = int(getattr(exc, "block", 0))
            raise _BadBlock(i, batch, starts, exc) from None
        txids = compute_txids(lay)
        failed = check_blocks(lay, txids)
        if failed is not None:
            try:
                check_block(lay, failed, txids)
            except DecodeError as exc:
                raise _BadBlock(failed, batch, starts, exc) from None
            raise AssertionError(f"block {failed} failed the batch check but not the single-block one")
        metas = []
        heights: dict[bytes, int | None] = {}
        for i, blk in enumerate(batch):
            header = buf[starts[i]:starts[i] + 80].tobytes()
            h, prev = sha256d(header), header[4:36]
            height = blk.height
            if height is None:
                height = self._height_of(prev, heights, lay, i, net)
            heights[h] = height
            metas.append(BlockMeta(height, blk.source, blk.offset, blk.undo))
        self._inflight.update(heights)   # later batches may be parsed before this one is committed
        return lay, txids, metas

    def _mapped(self, batch: list[PendingBlock]) -> np.ndarray | None:
        """The whole blk file memory-mapped, if every block of ``batch`` is read from that one plain
        (not xor-obfuscated) file; the last file's map is kept for the next batch."""
        first = batch[0].data
        if not isinstance(first, LazyBlock) or (first.key is not None and any(first.key)):
            return None
        path = first.loc.file
        if any(not isinstance(b.data, LazyBlock) or b.data.loc.file != path for b in batch):
            return None
        if self._map[0] != path:
            with open(path, "rb") as fh:
                # The array keeps the map alive for as long as any batch's layout refers to it.
                self._map = (path, np.frombuffer(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), np.uint8))
        return self._map[1]

    def _height_of(self, prev: bytes, batch_heights: dict, lay, i: int, net: Network) -> int | None:
        if prev == _ZERO:
            return 0
        # A parent of known height decides; a parent of unknown height says nothing.
        ph = batch_heights.get(prev)
        if ph is None:
            ph = self._inflight.get(prev)
        if ph is None and prev in self.known:
            ph = self.known[prev][1]
        if ph is not None:
            return ph + 1
        if prev == bytes.fromhex(net.genesis_hash)[::-1]:
            return 1
        if lay is None:
            return None
        start = int(lay.blk_start[i])
        if int.from_bytes(lay.buf[start:start + 4].tobytes(), "little") >= 2:
            h = bip34_height(lay, i)
            if h is not None and h >= _BIP34_FLOOR.get(net.name, 1):
                return h
        return None

    def _after_commit(self, lay, metas, seq0: int) -> None:
        for i, m in enumerate(metas):
            start = int(lay.blk_start[i])
            h = sha256d(lay.buf[start:start + 80].tobytes())
            self.known[h] = (seq0 + i, m.height)
            self._inflight.pop(h, None)
        self.report.blocks += lay.n_blocks
        self.report.txs += lay.n_tx
        self.report.inputs += lay.n_in
        self.report.outputs += lay.n_out
        self.report.bytes += int((lay.blk_end - lay.blk_start).sum())

    def _rollback(self, keep_blocks: int) -> None:
        before = self.store.counts["blocks"]
        self.store.rollback(keep_blocks)
        self.known = {h: v for h, v in self.known.items() if v[0] < keep_blocks}
        self._state = None
        self.report.rolled_back += before - keep_blocks

    @staticmethod
    def _stale_table(rows: list[BlockLocation]) -> pa.Table:
        return pa.table({
            "hash": pa.array([b.hash[::-1] for b in rows], pa.binary(32)),
            "prev_hash": pa.array([b.prev_hash[::-1] for b in rows], pa.binary(32)),
            "height": pa.array([None] * len(rows), pa.int32()),
            "source": pa.array([str(b.file) for b in rows], pa.string()),
            "source_offset": pa.array([b.offset for b in rows], pa.int64()),
        })

    # -- cursor for RPC sync -------------------------------------------------------
    def main_chain(self) -> list[tuple[int, bytes]]:
        """(height, hash) of stored blocks with known heights, in block_seq order."""
        return sorted((v[1], h) for h, v in self.known.items() if v[1] is not None)

    def rollback_to_height(self, height: int) -> None:
        seqs = [v[0] for v in self.known.values() if v[1] is not None and v[1] > height]
        if seqs:
            self._rollback(min(seqs))


class _SimulatedCrash(Exception):
    """Raised by the test hook ``kill_after_batches``."""


class _BadBlock(Exception):
    def __init__(self, index: int, batch: list[PendingBlock], starts: np.ndarray, error: DecodeError):
        blk = batch[index]
        rel = (error.offset or 0) - int(starts[index])
        self.index = index
        data = cast(np.ndarray, blk.data)   # read into the batch by now
        self.hash = sha256d(bytes(data[:80]))[::-1] if len(data) >= 80 else None
        self.error = type(error)(error.reason, blk.source, blk.offset + max(rel, 0))


__all__ = ["BtcIngest", "IngestReport", "PendingBlock"]

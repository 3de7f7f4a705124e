"""Ingest benchmark: our parser and ingest beside python-bitcoinlib on the same bytes.

Run: .venv/bin/python bench/ingest.py [--repeat N] [--runs N] [--blocks-dir DIR] [--mainnet-gb 700]

Prints, from one run:
  * parse + txid throughput (MB/s, tx/s) on every real block in ../shared/data/btc (SegWit-era
    mainnet and testnet blocks, 13 consecutive mainnet blocks of 2019), ours vs python-bitcoinlib's
    CBlock.deserialize + GetTxid (the peer), medians over --repeat;
  * end-to-end ingest into a fresh store (read, parse, checks, mapping, Parquet, index, manifest) of
    those real blocks, with the bcoin undo files beside the blocks that have them, and with
    --blocks-dir of a whole Core blocks/ folder (blk + rev files, e.g. a generated chain): MB/s, tx/s,
    the ratio to the peer's parse-only MB/s from this run, CPU seconds per pipeline thread (parse,
    map, commit), peak RSS and how much of it is the writer's in-memory index (which grows with the
    chain: txids, address keys, output values) versus the pipeline's batches (bounded), medians over --runs;
  * the read model that `chaintrail ingest btc` builds after the ingest (store/readmodel.py): its time and peak
    RSS, and each phase's peak split into anonymous memory and file-backed pages (mapped blk files and index
    columns, which the kernel may drop), sampled every 10 ms;
  * an estimate for two idle cores from CPU time, max(busiest stage, all threads / 2), for a
    shared machine where wall time mostly measures the other processes;
  * the wall seconds each stage was busy and, for the first run, a timeline of the three stages (how well
    parse, map and commit overlap: a column is one 60th of the run);
  * the projected full-chain time at both rates for --mainnet-gb of blk files;
  * index bytes per input and per output.
Compare ratios from one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data" / "btc").resolve()
FRAME = bytes.fromhex("f9beb4d9")


def real_block_files() -> list[Path]:
    files = [f for f in sorted(DATA.glob("*/raw/*.raw")) if not f.stem.endswith("-undo") and not f.name.startswith("tx-")]
    return files + sorted(DATA.glob("mainnet/blocks-*/*.raw"))


def load_blocks(files: list[Path]) -> list[bytes]:
    out = []
    for f in files:
        d = f.read_bytes()
        out.append(d[8:] if d[:4] == FRAME else d)
    return out


def ours_parse(buf, starts, ends):
    from chaintrail.chains.bitcoin.parse import compute_txids, parse_blocks
    lay = parse_blocks(buf, starts, ends)
    compute_txids(lay)
    return lay.n_tx


def bitcoinlib_parse(blocks):
    from bitcoin.core import CBlock
    n = 0
    for raw in blocks:
        blk = CBlock.deserialize(raw)
        for tx in blk.vtx:
            tx.GetTxid()
            n += 1
    return n


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux); False where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PhasePeaks:
    """Largest VmRSS, RssAnon and RssFile (MB) per named phase, read from /proc/self/status every 10 ms."""

    KEYS = ("VmRSS", "RssAnon", "RssFile")

    def __init__(self) -> None:
        self.phase = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        got = {k: _status_kb(k) / 1024 for k in self.KEYS}
        p = self.peaks.setdefault(self.phase, {})
        for k, v in got.items():
            p[k] = max(p.get(k, 0.0), v)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self._sample()

    def enter(self, phase: str) -> None:
        self._sample()
        self.phase = phase
        self._sample()

    def stop(self) -> dict[str, dict[str, float]]:
        self._sample()
        self._stop.set()
        self._thread.join()
        return self.peaks


def _state_mb(job) -> float:
    """MB of the writer's in-memory index: what grows with the chain."""
    s = job._state
    if s is None:
        return 0.0
    # Rows in use (room reserved ahead is untouched and costs no memory) and the hash tables (touched whole).
    used = [s.txids.keys, s.txids._table, s.addrs.keys, s.addrs._table,
            s.tx_first_out.view(), s.out_value.view(), s.out_addr.view()]
    return sum(a.nbytes for a in used) / 2**20


def ingest_run(source) -> dict:
    """One ingest into a fresh store under /tmp; returns its figures (the store is deleted)."""
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.index import index_bytes
    from chaintrail.store.readmodel import build

    store = Path(tempfile.mkdtemp(prefix="ct-bench-store-")) / "store"
    rss0 = _status_kb("VmRSS") / 1024
    peak_ok = _reset_peak()
    phases = PhasePeaks()
    phases.enter("ingest")
    t, c = time.perf_counter(), time.process_time()
    try:
        with BtcIngest(store) as job:
            rep = source(job)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            state = _state_mb(job)
        peak = _status_kb("VmHWM") / 1024 if peak_ok else float("nan")
        # As the CLI does: the read model is built after the ingest, the (closed) job still in scope.
        phases.enter("read model")
        t_rm = time.perf_counter()
        with ChainStore(store) as st:
            build(st)
            counts, sizes = st.counts, index_bytes(st.index_dir)
        rm_wall = time.perf_counter() - t_rm
        del job
    finally:
        by_phase = phases.stop()
        shutil.rmtree(store.parent, ignore_errors=True)
    stages = dict(rep.stage_cpu_s)
    return {"wall": wall, "cpu": cpu, "stages": stages, "peak": peak, "rss0": rss0, "state": state,
            "txs": rep.txs, "bytes": rep.bytes, "counts": counts, "sizes": sizes,
            "est": max(max(stages.values(), default=0.0), cpu / 2),
            "busy": dict(rep.stage_wall_s), "timeline": list(rep.timeline), "rm_wall": rm_wall,
            "phases": {k: by_phase.get(k, {}) for k in ("ingest", "read model")}}


def timeline_lines(spans: list[tuple[str, float, float]], wall: float, width: int = 60) -> list[str]:
    """One row per stage: '#' where the stage was busy during that 1/width of the run."""
    rows = []
    for stage in ("parse", "map", "commit"):
        cells = [" "] * width
        for st, a, b in spans:
            if st == stage:
                for c in range(int(a / wall * width), min(width, int(b / wall * width) + 1)):
                    cells[c] = "#"
        rows.append(f"    {stage:7}|{''.join(cells)}|")
    return rows


def summarise(label: str, runs: list[dict], mb: float, peer_mbs: float, mainnet_gb: float) -> None:
    wall = statistics.median(r["wall"] for r in runs)
    est = statistics.median(r["est"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    ntx = runs[0]["txs"]
    stages = {k: statistics.median(r["stages"].get(k, 0.0) for r in runs) for k in ("parse", "map", "commit")}
    peak = max(r["peak"] for r in runs)
    state = max(r["state"] for r in runs)
    rss0 = min(r["rss0"] for r in runs)
    walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
    print(f"\n{label}: {mb:,.1f} MB, {ntx:,} txs; medians of {len(runs)} runs (wall per run: {walls} s)")
    print(f"  {'measured wall clock':34} {mb / wall:9.1f} MB/s {ntx / wall:12,.0f} tx/s   "
          f"{(mb / wall) / peer_mbs:6.1f}x python-bitcoinlib parse-only ({peer_mbs:.1f} MB/s, same run)")
    print(f"  {'2 idle cores, from CPU time':34} {mb / est:9.1f} MB/s {ntx / est:12,.0f} tx/s   "
          f"{(mb / est) / peer_mbs:6.1f}x   (CPU {cpu:.1f} s: parse {stages['parse']:.1f}, map {stages['map']:.1f}, "
          f"commit {stages['commit']:.1f})")
    busy = {k: statistics.median(r["busy"].get(k, 0.0) for r in runs) for k in ("parse", "map", "commit")}
    print(f"  {'stage wall busy (overlap)':34} parse {busy['parse']:.2f} s, map {busy['map']:.2f} s, commit "
          f"{busy['commit']:.2f} s in {wall:.2f} s wall: {sum(busy.values()) / wall:.2f} stages at once on average")
    from chaintrail.ingest.btc_job import TIMELINE_MAX

    spans, span_wall = runs[0]["timeline"], runs[0]["wall"]
    if len(spans) >= TIMELINE_MAX:      # the job keeps only its first spans: draw the time they cover
        span_wall = max(b for _, _, b in spans)
        print(f"  timeline of the first run's first {span_wall:.2f} s (of {runs[0]['wall']:.2f} s; "
              f"the job keeps its first {TIMELINE_MAX} stage spans):")
    else:
        print(f"  timeline of the first run ({span_wall:.2f} s):")
    for line in timeline_lines(spans, span_wall):
        print(line)
    print(f"  {'peak RSS':34} {peak:9.0f} MB   = {rss0:.0f} before ingest + {state:.0f} writer index (grows "
          f"with the chain) + {max(0.0, peak - rss0 - state):.0f} pipeline batches (bounded)")
    for ph in ("ingest", "read model"):
        top = max(runs, key=lambda r: r["phases"][ph].get("VmRSS", 0.0))["phases"][ph]
        what = "ingest" if ph == "ingest" else \
            f"then read model ({statistics.median(r['rm_wall'] for r in runs):.1f} s)"
        print(f"  {'peak RSS, ' + what:34} {top.get('VmRSS', 0):9.0f} MB   anonymous {top.get('RssAnon', 0):.0f} MB, "
              f"file-backed {top.get('RssFile', 0):.0f} MB (mapped blk files, index, libraries)")
    full = mainnet_gb * 1000
    print(f"  {f'projected {mainnet_gb:g} GB mainnet':34} {full / (mb / wall) / 3600:9.1f} h at the measured rate, "
          f"{full / (mb / est) / 3600:.1f} h at the 2-idle-core rate")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="parse+txid repeats")
    ap.add_argument("--runs", type=int, default=3, help="end-to-end ingest runs per source")
    ap.add_argument("--blocks-dir", type=Path, default=None,
                    help="also time a whole Core blocks/ folder ingest (e.g. a generated scenario)")
    ap.add_argument("--mainnet-gb", type=float, default=700.0, help="blk bytes of the chain to project to")
    args = ap.parse_args()
    load0 = os.getloadavg()
    files = real_block_files()
    blocks = load_blocks(files)
    sizes = np.array([len(b) for b in blocks], np.int64)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    buf = np.frombuffer(b"".join(blocks), np.uint8)
    mb = len(buf) / 1e6
    ours_parse(buf, starts, ends)  # warm the numba cache
    t_ours, ntx = timed(lambda: ours_parse(buf, starts, ends), args.repeat)
    t_lib, ntx_lib = timed(lambda: bitcoinlib_parse(blocks), max(1, args.repeat // 2))
    assert ntx == ntx_lib, (ntx, ntx_lib)
    peer = mb / t_lib

    # End-to-end: the same blocks as raw files (with their bcoin undo files) into fresh stores.
    from chaintrail.chains.bitcoin.blockfiles import list_block_files
    tmp = Path(tempfile.mkdtemp(prefix="ct-bench-raw-"))
    raw = []
    for i, (f, b) in enumerate(zip(files, blocks)):
        p = tmp / f"b{i:06d}.raw"
        p.write_bytes(b)
        undo = f.with_name(f.stem + "-undo" + f.suffix)
        if undo.exists():
            shutil.copyfile(undo, tmp / f"b{i:06d}-undo.raw")
        raw.append(p)
    try:
        ingest_run(lambda job: job.ingest_raw(raw[:2]))  # warm-up
        real = [ingest_run(lambda job: job.ingest_raw(raw)) for _ in range(args.runs)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c, sz = real[0]["counts"], real[0]["sizes"]

    n_undo = sum(1 for f in files if f.with_name(f.stem + "-undo" + f.suffix).exists())
    print(f"bench/ingest: {len(blocks)} real blocks ({n_undo} with undo data), {mb:.1f} MB, {ntx} txs, "
          f"{c['inputs']} inputs, {c['outputs']} outputs")
    print(f"{'what':38} {'chaintrail':>14} {'python-bitcoinlib':>18} {'ratio':>8}")
    print(f"{'parse + txid, MB/s':38} {mb / t_ours:14.1f} {peer:18.1f} {t_lib / t_ours:7.1f}x")
    print(f"{'parse + txid, tx/s':38} {ntx / t_ours:14.0f} {ntx / t_lib:18.0f} {t_lib / t_ours:7.1f}x")
    print(f"{'index bytes per input':38} {sz['inputs'] / c['inputs']:14.2f} {'(BlockSci: 16)':>18}")
    print(f"{'index bytes per output':38} {sz['outputs'] / c['outputs']:14.2f} {'(BlockSci: 16)':>18}")
    print(f"{'index bytes per tx (+txid, first in/out)':38} {sz['txs'] / c['txs']:14.2f}")
    summarise("end-to-end ingest, real blocks (single raw files + undo)", real, mb, peer, args.mainnet_gb)
    if args.blocks_dir:
        # The node path: a whole Core blocks/ folder (best chain, rev undo, batches) into a fresh store.
        folder_mb = sum(p.stat().st_size for p in list_block_files(args.blocks_dir)) / 1e6
        rev_mb = sum(p.stat().st_size for p in Path(args.blocks_dir).glob("rev*.dat")) / 1e6
        runs = [ingest_run(lambda job: job.ingest_blocks_dir(args.blocks_dir)) for _ in range(args.runs)]
        summarise(f"end-to-end ingest, blocks folder {args.blocks_dir} (blk files; rev files {rev_mb:,.0f} MB more)",
                  runs, folder_mb, peer, args.mainnet_gb)
    print(f"\nload average (1, 5, 15 min) at start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, at end "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (2 cores: above 2, other processes share them)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

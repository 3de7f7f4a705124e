"""Ingest benchmark: our parser and ingest beside python-bitcoinlib on the same bytes.

Run: .venv/bin/python bench/ingest.py [--repeat N] [--blocks-dir DIR]

Prints, from one run on one set of real blocks (every block in ../shared/data/btc
raw folders, SegWit-era mainnet and testnet blocks with thousands of txs):
  * parse + txid throughput (MB/s, tx/s), ours vs python-bitcoinlib's CBlock.deserialize + GetTxid
  * end-to-end ingest into a fresh store (parse, checks, mapping, Parquet, index), MB/s, of the
    single raw blocks (their inputs' addresses are read off scriptSig/witness: no undo data), and
    with --blocks-dir of a whole blocks/ folder in chain order
  * index bytes per input and per output
Figures are medians over --repeat runs; compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data" / "btc").resolve()


def load_blocks(extra_dir: Path | None) -> list[bytes]:
    blocks = []
    for f in sorted(DATA.glob("*/raw/*.raw")):
        if f.stem.endswith("-undo") or f.name.startswith("tx-"):
            continue
        d = f.read_bytes()
        blocks.append(d[8:] if d[:4] == bytes.fromhex("f9beb4d9") else d)
    if extra_dir:
        from chaintrail.chains.bitcoin.blockfiles import detect_network, list_block_files, read_block, read_xor_key, scan_block_file
        net, key = detect_network(extra_dir), read_xor_key(extra_dir)
        for p in list_block_files(extra_dir):
            blocks += [read_block(loc, key) for loc in scan_block_file(p, net.magic, key)]
    return blocks


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


def ingest_once(raw_files_dir: Path, files: list[Path]):
    from chaintrail.ingest.btc_job import BtcIngest
    store = Path(tempfile.mkdtemp(prefix="ct-bench-")) / "store"
    t = time.perf_counter()
    with BtcIngest(store) as job:
        job.ingest_raw(files)
    dt = time.perf_counter() - t
    return dt, store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--blocks-dir", type=Path, default=None,
                    help="also time a whole Core blocks/ folder ingest (e.g. a generated scenario)")
    args = ap.parse_args()
    blocks = load_blocks(None)
    sizes = np.array([len(b) for b in blocks], np.int64)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    buf = np.frombuffer(b"".join(blocks), np.uint8)
    mb = len(buf) / 1e6
    ours_parse(buf, starts, ends)  # warm the numba cache
    t_ours, ntx = timed(lambda: ours_parse(buf, starts, ends), args.repeat)
    t_lib, ntx_lib = timed(lambda: bitcoinlib_parse(blocks), max(1, args.repeat // 2))
    assert ntx == ntx_lib, (ntx, ntx_lib)

    # End-to-end: write the same blocks as raw files and ingest them into fresh stores.
    tmp = Path(tempfile.mkdtemp(prefix="ct-bench-raw-"))
    files = []
    for i, b in enumerate(blocks):
        p = tmp / f"b{i:06d}.raw"
        p.write_bytes(b)
        files.append(p)
    ingest_once(tmp, files[:2])  # warm-up
    runs = []
    for _ in range(max(1, args.repeat // 2)):
        dt, store = ingest_once(tmp, files)
        runs.append(dt)
        last_store = store
    t_e2e = statistics.median(runs)
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.index import index_bytes
    with ChainStore(last_store) as st:
        c, sizes_b = st.counts, index_bytes(st.index_dir)
    shutil.rmtree(tmp, ignore_errors=True)

    print(f"bench/ingest: {len(blocks)} real blocks, {mb:.1f} MB, {ntx} txs, {c['inputs']} inputs, {c['outputs']} outputs")
    print(f"{'what':38} {'chaintrail':>14} {'python-bitcoinlib':>18} {'ratio':>8}")
    print(f"{'parse + txid, MB/s':38} {mb / t_ours:14.1f} {mb / t_lib:18.1f} {t_lib / t_ours:7.1f}x")
    print(f"{'parse + txid, tx/s':38} {ntx / t_ours:14.0f} {ntx / t_lib:18.0f} {t_lib / t_ours:7.1f}x")
    print(f"{'end-to-end ingest into store, MB/s':38} {mb / t_e2e:14.1f} {'-':>18} {'':>8}")
    print(f"{'index bytes per input':38} {sizes_b['inputs'] / c['inputs']:14.2f} {'(BlockSci: 16)':>18}")
    print(f"{'index bytes per output':38} {sizes_b['outputs'] / c['outputs']:14.2f} {'(BlockSci: 16)':>18}")
    print(f"{'index bytes per tx (+txid, first in/out)':38} {sizes_b['txs'] / c['txs']:14.2f}")
    if args.blocks_dir:
        # The node path: a whole Core blocks/ folder (best chain, undo, batches) into a fresh store.
        from chaintrail.ingest.btc_job import BtcIngest
        from chaintrail.chains.bitcoin.blockfiles import list_block_files
        folder_mb = sum(p.stat().st_size for p in list_block_files(args.blocks_dir)) / 1e6
        store = Path(tempfile.mkdtemp(prefix="ct-bench-dir-")) / "store"
        t = time.perf_counter()
        with BtcIngest(store) as job:
            rep = job.ingest_blocks_dir(args.blocks_dir)
        dt = time.perf_counter() - t
        shutil.rmtree(store.parent, ignore_errors=True)
        print(f"{'blocks-dir ingest, MB/s':38} {folder_mb / dt:14.1f}   ({folder_mb:,.0f} MB, {rep.txs:,} txs in {dt:.1f} s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Ethereum ingest benchmark: `chaintrail ingest eth` beside ethereum-etl 2.4.2, cryo and the node's own rate.

Run: .venv/bin/python bench/eth_ingest.py [--blocks N] [--txs-per-block K] [--repeat R]

One anvil node (AnvilNode, the pinned npm anvil) is filled by scenario.eth_activity.drive with a deterministic
mix of real contract activity (ETH transfers, ERC-20/721/1155, WETH wrap/unwrap, router fan-outs with failed
legs, factory creations, self-destructs, reverts), then every tool reads the same blocks 0..tip from it:
  * ceiling: the raw JSON alone of what our ingest asks for (eth_getBlockByNumber with full transactions,
    eth_getBlockReceipts, trace_block), in the same windows of --batch-blocks blocks, JSON-RPC batches of 50
    sent by 4 threads on keep-alive connections (EthRpc's defaults), each answer parsed by orjson, nothing more;
  * ours: `chaintrail ingest eth --rpc URL --store TMP` as a subprocess, wall time end to end (Python start,
    fetch, checks, code/proxy/token metadata calls, mapping, Parquet, index, commit);
  * ethereum-etl 2.4.2 (its own venv under bench/out/, installed by this script): export_blocks_and_transactions,
    extract_csv_column (the tx hashes), export_receipts_and_logs, extract_token_transfers, export_traces, run as
    its CLI with its default batch sizes and workers; the sum of the five wall times;
  * cryo (PyPI `cryo`, Paradigm's Rust extractor, same venv): cryo.freeze of blocks, transactions, logs and
    traces to Parquet, in a subprocess, wall time.
Figures are medians over --repeat runs (ours, the ceiling and cryo; ethereum-etl --etl-repeat, default 1 as
it is slow); compare ratios, not absolute times. The datasets differ: see the notes printed under the table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PEERS = OUT / "eth-peers-venv"
ETL_VERSION = "2.4.2"
GENESIS_TIME = "1700000000"   # anvil --timestamp: the same seed then gives the same chain, hash for hash


# -- the peers' venv ---------------------------------------------------------------------------------------
def peers_venv() -> Path:
    """bench/out/eth-peers-venv with ethereum-etl 2.4.2 and cryo; installed on first use."""
    py = PEERS / "bin" / "python"
    ok = py.exists() and subprocess.run(
        [str(py), "-c", "import ethereumetl.cli, cryo; from eth_abi import encode_abi"],
        capture_output=True).returncode == 0
    if ok:
        return PEERS
    print(f"installing ethereum-etl {ETL_VERSION} and cryo into {PEERS.relative_to(ROOT)} ...", flush=True)
    shutil.rmtree(PEERS, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(PEERS)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # ethereum-etl 2.4.2 pins eth-abi 2.2.0, which asks for parsimonious<0.9; 0.8.1's sdist needs setuptools<70
    # to build, and on Python 3.11 0.8.1 fails to import (inspect.getargspec is gone), so 0.9.0 goes in over it.
    cons = OUT / "eth-peers-constraints.txt"
    cons.write_text("setuptools<70\n")
    env = os.environ | {"PIP_CONSTRAINT": str(cons)}
    subprocess.run(pip + [f"ethereum-etl=={ETL_VERSION}", "setuptools<70"], check=True, env=env)
    subprocess.run(pip + ["--no-deps", "parsimonious==0.9.0", "regex"], check=True)
    subprocess.run(pip + ["cryo"], check=True)
    return PEERS


def pkg_version(venv: Path, name: str) -> str:
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        f"import importlib.metadata as m; print(m.version({name!r}))"], capture_output=True, text=True)
    return r.stdout.strip() or "?"


# -- the chain ---------------------------------------------------------------------------------------------
def fill_chain(url: str, blocks: int, txs_per_block: int, seed: int) -> dict:
    from chaintrail.scenario.eth_activity import drive
    return drive(url, seed=seed, blocks=blocks, txs_per_block=txs_per_block)


# -- ceiling: the raw JSON our ingest asks for, parsed, nothing else ------------------------------------
class RawFetch:
    """JSON-RPC batches of ``batch_size`` over ``workers`` keep-alive connections; answers orjson-parsed."""

    def __init__(self, url: str, batch_size: int = 50, workers: int = 4):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.batch_size, self.workers = batch_size, workers
        self.pool = ThreadPoolExecutor(workers)
        self.conns: dict[int, http.client.HTTPConnection] = {}
        self.bytes = 0

    def _post(self, calls: list[tuple[str, list]]) -> list:
        import threading

        import orjson
        tid = threading.get_ident()
        c = self.conns.get(tid)
        if c is None:
            c = self.conns[tid] = http.client.HTTPConnection(self.host, self.port, timeout=120)
        body = orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
        c.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        data = c.getresponse().read()
        self.bytes += len(data)
        doc = orjson.loads(data)
        if not isinstance(doc, list) or len(doc) != len(calls) or any("result" not in d for d in doc):
            raise RuntimeError(f"ceiling: bad answer to {calls[0][0]}: {data[:200]!r}")
        return doc

    def batch(self, calls: list[tuple[str, list]]) -> list:
        chunks = [calls[i:i + self.batch_size] for i in range(0, len(calls), self.batch_size)]
        return [x for part in self.pool.map(self._post, chunks) for x in part]

    def close(self) -> None:
        self.pool.shutdown()
        for c in self.conns.values():
            c.close()


def ceiling_once(url: str, tip: int, batch_blocks: int) -> tuple[float, int]:
    """Seconds and bytes to fetch blocks 0..tip the way the ingest does: window by window, blocks, then
    receipts, then traces."""
    f = RawFetch(url)
    t = time.perf_counter()
    n = 0
    while n <= tip:
        end = min(tip, (n // batch_blocks + 1) * batch_blocks - 1)
        hexes = [hex(k) for k in range(n, end + 1)]
        blocks = f.batch([("eth_getBlockByNumber", [h, True]) for h in hexes])
        f.batch([("eth_getBlockReceipts", [b["result"]["number"]]) for b in blocks])
        f.batch([("trace_block", [h]) for h in hexes])
        n = end + 1
    dt = time.perf_counter() - t
    f.close()
    return dt, f.bytes


# -- ours --------------------------------------------------------------------------------------------------
def ours_once(url: str, tip: int, store: Path, profile: Path | None = None) -> tuple[float, dict]:
    shutil.rmtree(store, ignore_errors=True)
    cmd = [str(ROOT / ".venv" / "bin" / "chaintrail"), "ingest", "eth", "--rpc", url, "--store", str(store),
           "--to", str(tip), "--json"]
    if profile is not None:
        cmd = [str(ROOT / ".venv" / "bin" / "python"), "-m", "cProfile", "-o", str(profile),
               "-m", "chaintrail.cli.main", *cmd[1:]]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"chaintrail ingest eth failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-500:]}")
    return dt, json.loads(r.stdout)


def index_figures(store: Path) -> dict:
    """Bytes of the store's eth_ index columns, per entity, and the Parquet bytes of the eth_ tables."""
    from chaintrail.store.index import ETH_COLUMNS
    idx = store / "index"
    per_entity: dict[str, int] = {}
    for col in ETH_COLUMNS:
        p = idx / f"{col.name}.bin"
        per_entity[col.entity] = per_entity.get(col.entity, 0) + (p.stat().st_size if p.exists() else 0)
    files = [p for p in idx.glob("eth_*") if p.is_file()] if idx.is_dir() else []
    parquet = sum(p.stat().st_size for p in store.rglob("*.parquet") if "eth_" in str(p.relative_to(store)))
    return {"index_total": sum(p.stat().st_size for p in files), "per_entity": per_entity, "parquet": parquet}


# -- ethereum-etl ------------------------------------------------------------------------------------------
def etl_once(venv: Path, url: str, tip: int, out: Path) -> tuple[float, dict[str, float], dict[str, int]]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    etl = str(venv / "bin" / "ethereumetl")
    steps = {
        "blocks+txs": [etl, "export_blocks_and_transactions", "-s", "0", "-e", str(tip), "-p", url,
                       "--blocks-output", str(out / "blocks.csv"), "--transactions-output", str(out / "txs.csv")],
        "tx hashes": [etl, "extract_csv_column", "-i", str(out / "txs.csv"), "-c", "hash",
                      "-o", str(out / "tx_hashes.txt")],
        "receipts+logs": [etl, "export_receipts_and_logs", "-t", str(out / "tx_hashes.txt"), "-p", url,
                          "--receipts-output", str(out / "receipts.csv"), "--logs-output", str(out / "logs.csv")],
        "token transfers": [etl, "extract_token_transfers", "-l", str(out / "logs.csv"),
                            "-o", str(out / "token_transfers.csv")],
        "traces": [etl, "export_traces", "-s", "0", "-e", str(tip), "-p", url, "-o", str(out / "traces.csv")],
    }
    times: dict[str, float] = {}
    for name, cmd in steps.items():
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times[name] = time.perf_counter() - t
        if r.returncode != 0:
            raise SystemExit(f"ethereum-etl {cmd[1]} failed ({r.returncode}): {r.stderr.strip()[-800:]}")
    rows = {f.stem: max(0, sum(1 for _ in f.open()) - 1) for f in out.glob("*.csv")}
    return sum(times.values()), times, rows


# -- cryo --------------------------------------------------------------------------------------------------
CRYO_DATASETS = ("blocks", "transactions", "logs", "traces")
CRYO_SCRIPT = """
import sys, cryo
url, tip, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cryo.freeze(list(sys.argv[4].split(',')), rpc=url, blocks=[f'0:{tip + 1}'], output_dir=out, no_verbose=True)
"""


def cryo_once(venv: Path, url: str, tip: int, out: Path) -> tuple[float, dict[str, int]]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t = time.perf_counter()
    r = subprocess.run([str(venv / "bin" / "python"), "-c", CRYO_SCRIPT, url, str(tip), str(out),
                        ",".join(CRYO_DATASETS)], capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"cryo failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-800:]}")
    rows: dict[str, int] = {}
    import pyarrow.parquet as pq
    for f in out.rglob("*.parquet"):
        ds = next((d for d in CRYO_DATASETS if f"__{d}__" in f.name), f.stem)
        rows[ds] = rows.get(ds, 0) + pq.ParquetFile(f).metadata.num_rows
    return dt, rows


# -- the table -----------------------------------------------------------------------------------------------
def median(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=300, help="blocks of activity to mine (plus 2 of set-up)")
    ap.add_argument("--txs-per-block", type=int, default=25)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="runs of ours, the ceiling and cryo (median)")
    ap.add_argument("--etl-repeat", type=int, default=1, help="runs of ethereum-etl (median)")
    ap.add_argument("--batch-blocks", type=int, default=100, help="the ingest's window (its --batch-blocks default)")
    ap.add_argument("--no-etl", action="store_true")
    ap.add_argument("--no-cryo", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="also run our ingest once under cProfile and print its top functions")
    args = ap.parse_args()

    venv = None if args.no_etl and args.no_cryo else peers_venv()
    from chaintrail.chains.ethereum.node import AnvilNode

    work = Path(tempfile.mkdtemp(prefix="eth-bench-", dir=OUT if OUT.is_dir() else None))
    try:
        with AnvilNode(extra_args=("--timestamp", GENESIS_TIME)) as node:
            t = time.perf_counter()
            s = fill_chain(node.url, args.blocks, args.txs_per_block, args.seed)
            t_fill = time.perf_counter() - t
            tip = s["tip"]
            nblocks = tip + 1
            print(f"bench/eth_ingest: anvil chain of {nblocks} blocks, {s['transactions']:,} txs "
                  f"({len(s['counts'])} kinds of activity, seed {args.seed}), filled in {t_fill:.1f} s", flush=True)

            ceil = [ceiling_once(node.url, tip, args.batch_blocks) for _ in range(args.repeat)]
            t_ceil, json_bytes = median([c[0] for c in ceil]), ceil[0][1]
            print(f"  ceiling runs: {', '.join(f'{c[0]:.2f}' for c in ceil)} s ({json_bytes / 1e6:.1f} MB JSON)",
                  flush=True)

            store = work / "store"
            ours = [ours_once(node.url, tip, store) for _ in range(args.repeat)]
            t_ours, rep = median([o[0] for o in ours]), ours[-1][1]
            ing = rep["ingested"]
            ntx = ing["transactions"]
            print(f"  ours runs:    {', '.join(f'{o[0]:.2f}' for o in ours)} s", flush=True)
            idx = index_figures(store)

            t_etl = etl_steps = etl_rows = None
            if not args.no_etl:
                etl = [etl_once(venv, node.url, tip, work / "etl") for _ in range(args.etl_repeat)]
                t_etl = median([e[0] for e in etl])
                etl_steps, etl_rows = etl[0][1], etl[0][2]
                print(f"  etl runs:     {', '.join(f'{e[0]:.2f}' for e in etl)} s "
                      f"({', '.join(f'{k} {v:.1f}' for k, v in etl_steps.items())})", flush=True)

            t_cryo = cryo_rows = None
            if not args.no_cryo:
                cr = [cryo_once(venv, node.url, tip, work / "cryo") for _ in range(args.repeat)]
                t_cryo, cryo_rows = median([c[0] for c in cr]), cr[0][1]
                print(f"  cryo runs:    {', '.join(f'{c[0]:.2f}' for c in cr)} s", flush=True)

            prof = None
            if args.profile:
                prof = work / "ours.prof"
                ours_once(node.url, tip, work / "store-prof", profile=prof)

        print()
        print(f"{'what':30} {'seconds':>9} {'blocks/s':>10} {'tx/s':>10}")
        rows = [("ceiling (raw JSON + orjson)", t_ceil), ("chaintrail ingest eth", t_ours)]
        if t_etl is not None:
            rows.append((f"ethereum-etl {ETL_VERSION}", t_etl))
        if t_cryo is not None:
            rows.append((f"cryo {pkg_version(venv, 'cryo')}", t_cryo))
        for name, sec in rows:
            print(f"{name:30} {sec:9.2f} {nblocks / sec:10.1f} {ntx / sec:10.0f}")
        print()
        if t_etl is not None:
            print(f"ours / ethereum-etl throughput: {t_etl / t_ours:6.2f}x   (goal >= 10x)")
        if t_cryo is not None:
            print(f"ours / cryo throughput:         {t_cryo / t_ours:6.2f}x   (goal >= 1x)")
        print(f"ceiling / ours throughput:      {t_ours / t_ceil:6.2f}x   (goal <= 2x)")
        print()
        pe = idx["per_entity"]
        nflows = ing["value_flows"]
        print(f"index bytes per tx (all eth_ index files / txs):       {idx['index_total'] / ntx:8.1f}")
        print(f"  of which the tx columns (hash, first flow):          {pe.get('eth_transactions', 0) / ntx:8.1f}")
        print(f"index bytes per value flow (the flow columns / flows): {pe.get('eth_value_flows', 0) / max(nflows, 1):8.1f}"
              f"   ({nflows:,} flows, {nflows / ntx:.2f} per tx)")
        print(f"Parquet bytes per tx (eth_ tables):                    {idx['parquet'] / ntx:8.1f}")
        print()
        print("what each exported (rows):")
        print(f"  ours: {ing['blocks']} blocks, {ntx} txs (receipt fields merged), {ing['logs']} logs, "
              f"{ing['traces']} traces, {ing['token_transfers']} token transfers, {ing['contracts']} contracts, "
              f"{nflows} value flows, tokens, addresses; Parquet + mmap index (traces: {ing['traces_source']})")
        if etl_rows is not None:
            print("  ethereum-etl: " + ", ".join(f"{k} {v}" for k, v in sorted(etl_rows.items()))
                  + " (CSV; no contracts/tokens export, no value flows; steps "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in etl_steps.items()) + ")")
        if cryo_rows is not None:
            print("  cryo: " + ", ".join(f"{k} {v}" for k, v in sorted(cryo_rows.items()))
                  + " (Parquet; logs via eth_getLogs, no receipts table, no token transfers, no contracts)")
        print(f"  ceiling: the JSON of {nblocks} blocks, their receipts and trace_block, {json_bytes / 1e6:.1f} MB")
        if prof is not None:
            import pstats
            print("\nours under cProfile (one run, top 25 by cumulative then internal time):")
            st = pstats.Stats(str(prof))
            st.sort_stats("cumulative").print_stats(25)
            st.sort_stats("tottime").print_stats(25)
        sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

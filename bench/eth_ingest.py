"""Ethereum ingest benchmark: `chaintrail ingest eth` beside ethereum-etl 2.4.2, cryo and the node's own rate.

Run: .venv/bin/python bench/eth_ingest.py [--blocks N] [--txs-per-block K] [--repeat R]

One anvil node (AnvilNode, the pinned npm anvil) is filled by scenario.eth_activity.drive with a deterministic
mix of real contract activity (ETH transfers, ERC-20/721/1155, WETH wrap/unwrap, router fan-outs with failed
legs, factory creations, self-destructs, reverts), then every tool reads the same blocks 0..tip from it:
  * ceiling: the raw JSON alone of what our ingest asks for (eth_getBlockByNumber with full transactions,
    eth_getBlockReceipts, trace_block), in the same windows of --batch-blocks blocks, JSON-RPC batches of 50
    sent by 4 threads on keep-alive connections (EthRpc's defaults), each answer parsed by orjson, nothing more;
  * node ceiling: the same requests all at once, the methods interleaved, 8 connections: the node's own rate
    (the windows leave the node idle while one method's last batch is answered);
  * ours: `chaintrail ingest eth --rpc URL --store TMP` as a subprocess, wall time end to end (Python start,
    fetch, checks, code/proxy/token metadata calls, mapping, Parquet, index, commit);
  * ethereum-etl 2.4.2 (its own venv under bench/out/, installed by this script): export_blocks_and_transactions,
    extract_csv_column (the tx hashes), export_receipts_and_logs, extract_token_transfers, export_traces, run as
    its CLI with its default batch sizes and workers; the sum of the five wall times;
  * cryo (PyPI `cryo`, Paradigm's Rust extractor, same venv): cryo.freeze of blocks, transactions, logs and
    traces to Parquet, in a subprocess, wall time.
Figures are medians over --repeat rounds that interleave the tools (ethereum-etl only in the first
--etl-repeat rounds, default all), with each tool's CPU seconds and the node's beside the wall time;
compare ratios, not absolute times (2 cores shared with other work). The datasets differ: see the notes
printed under the table. --profile adds one run of ours under cProfile and prints its hot spots.
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
import threading
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


def node_cpu(pid: int) -> float:
    """CPU seconds (user + system) the node process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Timed:
    """Wall seconds, the tool's own CPU seconds and the node's CPU seconds of one run."""

    def __init__(self, node_pid: int):
        self.pid = node_pid

    def __enter__(self) -> "Timed":
        self.n0, self.c0, self.p0 = node_cpu(self.pid), children_cpu(), time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.node = node_cpu(self.pid) - self.n0
        self.cpu = children_cpu() - self.c0 + time.process_time() - self.p0


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
        self.lock = threading.Lock()

    def _post(self, calls: list[tuple[str, list]]) -> list:
        import orjson
        tid = threading.get_ident()
        c = self.conns.get(tid)
        if c is None:
            c = self.conns[tid] = http.client.HTTPConnection(self.host, self.port, timeout=120)
        body = orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
        c.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        data = c.getresponse().read()
        with self.lock:
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


def ceiling_once(url: str, tip: int, batch_blocks: int) -> int:
    """Fetch blocks 0..tip the way the ingest does (window by window: blocks, then receipts, then traces);
    the bytes fetched."""
    f = RawFetch(url)
    n = 0
    while n <= tip:
        end = min(tip, (n // batch_blocks + 1) * batch_blocks - 1)
        hexes = [hex(k) for k in range(n, end + 1)]
        blocks = f.batch([("eth_getBlockByNumber", [h, True]) for h in hexes])
        f.batch([("eth_getBlockReceipts", [b["result"]["number"]]) for b in blocks])
        f.batch([("trace_block", [h]) for h in hexes])
        n = end + 1
    f.close()
    return f.bytes


def node_ceiling_once(url: str, tip: int) -> int:
    """Every request of the range at once, the three methods interleaved (batches of 10, 8 connections), so the
    node is never left idle between windows or methods: the node's own rate. The bytes fetched."""
    f = RawFetch(url, batch_size=10, workers=8)
    f.batch([c for n in range(tip + 1) for c in (("eth_getBlockByNumber", [hex(n), True]),
                                                 ("eth_getBlockReceipts", [hex(n)]), ("trace_block", [hex(n)]))])
    f.close()
    return f.bytes


# -- ours --------------------------------------------------------------------------------------------------
PROFILED = """
import cProfile, sys
from chaintrail.cli.main import app
out, sys.argv = sys.argv[1], ["chaintrail", *sys.argv[2:]]
cProfile.run("app()", out)
"""


def ours_once(url: str, tip: int, store: Path, profile: Path | None = None) -> dict:
    shutil.rmtree(store, ignore_errors=True)
    cmd = [str(ROOT / ".venv" / "bin" / "chaintrail"), "ingest", "eth", "--rpc", url, "--store", str(store),
           "--to", str(tip), "--json"]
    if profile is not None:  # the same command under cProfile (main thread: RPC workers show as waits)
        cmd = [str(ROOT / ".venv" / "bin" / "python"), "-c", PROFILED, str(profile), *cmd[1:]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"chaintrail ingest eth failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-500:]}")
    return json.loads(r.stdout)


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
def etl_once(venv: Path, url: str, tip: int, out: Path) -> tuple[dict[str, float], dict[str, int]]:
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
    return times, rows


# -- cryo --------------------------------------------------------------------------------------------------
CRYO_DATASETS = ("blocks", "transactions", "logs", "traces")
# os._exit: cryo 0.3.2's runtime threads can abort the interpreter at shutdown (PyGILState_Release, SIGABRT)
# after the files are written; the bench checks the row counts of what it wrote instead.
CRYO_SCRIPT = """
import os, sys, cryo
url, tip, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cryo.freeze(list(sys.argv[4].split(',')), rpc=url, blocks=[f'0:{tip + 1}'], output_dir=out, no_verbose=True)
sys.stdout.flush()
os._exit(0)
"""


def cryo_once(venv: Path, url: str, tip: int, out: Path) -> dict[str, int]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    r = subprocess.run([str(venv / "bin" / "python"), "-c", CRYO_SCRIPT, url, str(tip), str(out),
                        ",".join(CRYO_DATASETS)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"cryo failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-800:]}")
    rows: dict[str, int] = {}
    import pyarrow.parquet as pq
    for f in out.rglob("*.parquet"):
        ds = next((d for d in CRYO_DATASETS if f"__{d}__" in f.name), f.stem)
        rows[ds] = rows.get(ds, 0) + pq.ParquetFile(f).metadata.num_rows
    return rows


# -- the table -----------------------------------------------------------------------------------------------
def med(runs: list[Timed], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def print_profile(prof: Path, n: int = 20) -> None:
    import pstats
    print(f"\nours under cProfile (one run; main thread only, so the RPC workers show as lock waits), top {n} by "
          "internal time, then by cumulative time within src/chaintrail:")
    st = pstats.Stats(str(prof))
    st.sort_stats("tottime").print_stats(n)
    st.sort_stats("cumulative").print_stats("src/chaintrail", n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=400, help="blocks of activity to mine (plus 2 of set-up)")
    ap.add_argument("--txs-per-block", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of ours, the ceilings and cryo (median)")
    ap.add_argument("--etl-repeat", type=int, default=3, help="rounds that also run ethereum-etl (median)")
    ap.add_argument("--batch-blocks", type=int, default=100, help="the ingest's window (its --batch-blocks default)")
    ap.add_argument("--no-etl", action="store_true")
    ap.add_argument("--no-cryo", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="also run our ingest once under cProfile and print its hot spots")
    args = ap.parse_args()

    venv = None if args.no_etl and args.no_cryo else peers_venv()
    from chaintrail.chains.ethereum.node import AnvilNode

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="eth-bench-", dir=OUT))
    runs: dict[str, list[Timed]] = {"node": [], "ceiling": [], "ours": [], "etl": [], "cryo": []}
    try:
        with AnvilNode(extra_args=("--timestamp", GENESIS_TIME)) as node:
            pid = node._proc.pid  # the node's CPU per tool: how much work each one asks of it
            t = time.perf_counter()
            s = fill_chain(node.url, args.blocks, args.txs_per_block, args.seed)
            tip = s["tip"]
            nblocks = tip + 1
            print(f"bench/eth_ingest: anvil chain of {nblocks} blocks, {s['transactions']:,} txs "
                  f"({len(s['counts'])} kinds of activity, seed {args.seed}), filled in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            # Rounds interleave the tools, so that load from elsewhere on the machine falls on all of them.
            for rnd in range(args.repeat):
                with Timed(pid) as tm:
                    node_ceiling_once(node.url, tip)
                runs["node"].append(tm)
                with Timed(pid) as tm:
                    json_bytes = ceiling_once(node.url, tip, args.batch_blocks)
                runs["ceiling"].append(tm)
                with Timed(pid) as tm:
                    rep = ours_once(node.url, tip, work / "store")
                runs["ours"].append(tm)
                if not args.no_cryo:
                    with Timed(pid) as tm:
                        cryo_rows = cryo_once(venv, node.url, tip, work / "cryo")
                    runs["cryo"].append(tm)
                if not args.no_etl and rnd < args.etl_repeat:
                    with Timed(pid) as tm:
                        etl_steps, etl_rows = etl_once(venv, node.url, tip, work / "etl")
                    runs["etl"].append(tm)
                print(f"  round {rnd + 1}: " + ", ".join(f"{k} {v[-1].wall:.2f} s" for k, v in runs.items()
                                                          if len(v) > rnd), flush=True)
            prof = None
            if args.profile:
                prof = work / "ours.prof"
                ours_once(node.url, tip, work / "store-prof", profile=prof)
        ing = rep["ingested"]
        ntx = ing["transactions"]
        idx = index_figures(work / "store")

        print()
        print(f"{'median of rounds':30} {'runs':>4} {'wall s':>7} {'blocks/s':>9} {'tx/s':>8} {'CPU s':>7} "
              f"{'node CPU s':>10}")
        names = {"node": "node ceiling (all at once)", "ceiling": "ceiling (our windows, batches)",
                 "ours": "chaintrail ingest eth",
                 "etl": f"ethereum-etl {ETL_VERSION}", "cryo": f"cryo {pkg_version(venv, 'cryo') if venv else ''}"}
        wall = {k: med(v, "wall") for k, v in runs.items() if v}
        for k in ("node", "ceiling", "ours", "etl", "cryo"):
            if k in wall:
                print(f"{names[k]:30} {len(runs[k]):4d} {wall[k]:7.2f} {nblocks / wall[k]:9.1f} {ntx / wall[k]:8.0f} "
                      f"{med(runs[k], 'cpu'):7.2f} {med(runs[k], 'node'):10.2f}")
        print("(CPU s: the tool's own processes; node CPU s: anvil's, for that tool's requests; 2 cores shared)")
        print()
        if "etl" in wall:
            print(f"ours / ethereum-etl throughput: {wall['etl'] / wall['ours']:6.2f}x   (goal >= 10x; "
                  f"ethereum-etl / ceiling is {wall['etl'] / wall['ceiling']:.2f}x, the most any tool can gain here)")
        if "cryo" in wall:
            print(f"ours / cryo throughput:         {wall['cryo'] / wall['ours']:6.2f}x   (goal >= 1x)")
        print(f"ceiling / ours throughput:      {wall['ours'] / wall['ceiling']:6.2f}x   (goal <= 2x; the same requests in "
              f"the same windows and batches)")
        print(f"node ceiling / ours throughput: {wall['ours'] / wall['node']:6.2f}x   (all requests at once: the node's "
              "own rate)")
        print()
        pe = idx["per_entity"]
        nflows = ing["value_flows"]
        print(f"index bytes per tx (all eth_ index files / txs):       {idx['index_total'] / ntx:8.1f}")
        print(f"  of which the tx columns (hash, first flow):          {pe.get('eth_transactions', 0) / ntx:8.1f}")
        print(f"index bytes per value flow (the flow columns / flows): "
              f"{pe.get('eth_value_flows', 0) / max(nflows, 1):8.1f}   ({nflows:,} flows, {nflows / ntx:.2f} per tx)")
        print(f"Parquet bytes per tx (eth_ tables):                    {idx['parquet'] / ntx:8.1f}")
        print()
        # Same blocks, same answers: the rows every tool exported must agree with ours where they overlap.
        want = {"blocks": nblocks, "txs": ntx, "logs": ing["logs"], "traces": ing["traces"]}
        got = {"ethereum-etl": etl_rows if runs["etl"] else None,
               "cryo": {"txs": cryo_rows.get("transactions"), **cryo_rows} if runs["cryo"] else None}
        for tool, rows in got.items():
            bad = [f"{k} {rows.get(k)} (ours {v})" for k, v in want.items() if rows is not None and rows.get(k) != v]
            if bad:
                print(f"WARNING: {tool} exported other row counts: {', '.join(bad)}")
        print("what each exported (rows of the last round):")
        print(f"  ours: {ing['blocks']} blocks, {ntx} txs (receipt fields merged), {ing['logs']} logs, "
              f"{ing['traces']} traces ({ing['traces_source']}), {ing['token_transfers']} token transfers (ERC-20, "
              f"ERC-721, ERC-1155, wrap/unwrap), {ing['contracts']} contracts (code, selectors, proxies), tokens "
              f"(eth_call metadata), addresses, {nflows} value flows; Parquet + mmap index, atomic commits")
        if runs["etl"]:
            print("  ethereum-etl: " + ", ".join(f"{k} {v}" for k, v in sorted(etl_rows.items()))
                  + " (CSV; token transfers are ERC-20/721 Transfer logs only; no contracts or tokens export, no "
                  "value flows; steps " + ", ".join(f"{k} {v:.1f} s" for k, v in etl_steps.items()) + ")")
        if runs["cryo"]:
            print("  cryo: " + ", ".join(f"{k} {v}" for k, v in sorted(cryo_rows.items()))
                  + " (Parquet; asks for full blocks, block receipts, eth_getLogs and trace_block; no token transfers,"
                  " contracts, tokens or value flows)")
        print(f"  ceilings: the JSON of {nblocks} blocks, their receipts and trace_block, {json_bytes / 1e6:.1f} MB, "
              "parsed by orjson and dropped; 'our windows' fetches them as the ingest does (windows of "
              f"{args.batch_blocks} blocks, each method in turn, JSON-RPC batches of 50 on 4 connections)")
        if prof is not None:
            print_profile(prof)
        sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Load on the workbench API: 50 concurrent clients against `chaintrail serve`, from a second process, on loopback.

    .venv/bin/python bench/api.py                      # builds the demo store under bench/out/, then runs
    .venv/bin/python bench/api.py --store DIR --clients 50 --requests 6000 --seconds 60
    .venv/bin/python bench/api.py --stores SMALL LARGE     # each in turn, then their figures side by side

Each client keeps one HTTP/1.1 connection open and sends requests back to back:
address lookups (GET /addresses/{a}), 3-hop traces (GET /trace?max_hops=3)
and entity pages (GET /entities/{id}/members), mixed by --mix. The run stops
after --requests requests or --seconds seconds, whichever comes first; a
request still out 10 s after that is counted as unfinished, not waited for.
Prints throughput and p50/p90/p99 per kind, and errors (any non-200 or
failed connection). Targets: zero errors, lookup p99 under 50 ms.

Peer figure, from the same run: the same address lookup answered the way
`chaintrail sql` would (a read-only DuckDB query over the store's Parquet),
one at a time in this process.

Also prints the server's start-up time (process start to its first answered
API request; the first start on a store without a persisted read model
includes building it, see --cold) and its resident memory after start and
after the load: RSS split into anonymous memory (what the process itself
holds) and mapped file pages (the OS page cache, shared), for the API
process and its trace workers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GRACE_S = 10.0          # how long past --seconds a request may still finish
sys.path.insert(0, str(ROOT / "src"))


# -- a minimal keep-alive HTTP/1.1 client (httpx would cost more CPU than the server we measure) ---------
class Conn:
    def __init__(self, host: str, port: int, token: str):
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:                                   # chunked
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


# -- workload -----------------------------------------------------------------------------------------
def workload(store: Path, n: int, seed: int) -> dict[str, list[str]]:
    """Request paths per kind, drawn from the store: busy and quiet addresses, small and large entities."""
    from chaintrail.api.chainview import ChainView
    from chaintrail.store.chainstore import ChainStore

    rng = np.random.default_rng(seed)
    with ChainStore(store) as st:
        v = ChainView(st)
        out_addr = np.asarray(v.out_addr)
        has_out = np.unique(out_addr[out_addr != 0xFFFFFFFF])         # addresses that received something
        addrs = v.addresses(rng.choice(has_out, size=min(n, len(has_out)), replace=False))
        spent = np.flatnonzero(v.out_spent[np.arange(v.n_out)] != 0xFFFFFFFF)
        srcs = [v.address(int(v.out_addr[o])) for o in rng.choice(spent, size=min(n, len(spent)), replace=False)
                if int(v.out_addr[o]) != 0xFFFFFFFF]
        sizes = np.asarray(v.cluster_size)
        multi = np.flatnonzero(sizes >= 2)
        big = multi[np.argsort(-sizes[multi])][:20]
        ents = np.concatenate([rng.choice(multi, size=min(n, len(multi)), replace=True), big])
    entity_paths = []
    for c in ents.tolist():
        off = int(rng.integers(0, max(1, int(sizes[c]) - 100) + 1))
        entity_paths.append(f"/api/v1/entities/{c}/members?offset={off}&limit=100")
    return {
        "lookup": [f"/api/v1/addresses/{quote(a)}" for a in addrs],
        "trace": [f"/api/v1/trace?source={quote(a)}&max_hops=3&limit=50&graph=false" for a in srcs],
        "entity": entity_paths,
    }


async def run_clients(url: str, token: str, paths: dict[str, list[str]], mix: dict[str, float], clients: int,
                      max_requests: int, max_seconds: float, seed: int) -> tuple[dict, float]:
    parts = urlsplit(url)
    kinds = list(mix)
    weights = [mix[k] for k in kinds]
    lat: dict[str, list[float]] = {k: [] for k in kinds}
    errors: dict[str, list[str]] = {k: [] for k in kinds}
    unfinished: dict[str, int] = {k: 0 for k in kinds}
    budget = {"left": max_requests}
    deadline = time.perf_counter() + max_seconds

    async def client(i: int) -> None:
        rnd = random.Random(seed * 1000 + i)
        conn = Conn(parts.hostname, parts.port, token)
        try:
            while budget["left"] > 0 and time.perf_counter() < deadline:
                budget["left"] -= 1
                kind = rnd.choices(kinds, weights)[0]
                path = rnd.choice(paths[kind])
                t = time.perf_counter()
                try:
                    # A request still out GRACE_S after the deadline (a trace queued behind minutes of others)
                    # is left unfinished rather than holding the run open.
                    status, body = await asyncio.wait_for(conn.get(path), deadline + GRACE_S - time.perf_counter())
                    if status != 200:
                        errors[kind].append(f"{status} {path}: {body[:120]!r}")
                except asyncio.TimeoutError:
                    unfinished[kind] += 1
                    await conn.close()
                    continue
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors[kind].append(f"{type(exc).__name__} {path}")
                    await conn.close()
                lat[kind].append(time.perf_counter() - t)
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"latency": lat, "errors": errors, "unfinished": unfinished}, time.perf_counter() - t0


# -- the server under test ------------------------------------------------------------------------------
def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def memory(pid: int) -> dict:
    """RSS in MB of the server process and of its children (trace workers), anonymous vs mapped files."""
    me = _status_kb(pid)
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            kids += [int(x) for x in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    except OSError:
        pass
    ks = [_status_kb(k) for k in kids]
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    return {"api_rss_mb": mb(me.get("VmRSS", 0)), "api_anon_mb": mb(me.get("RssAnon", 0)),
            "api_file_mb": mb(me.get("RssFile", 0)), "api_peak_mb": mb(me.get("VmHWM", 0)),
            "workers": len(ks), "workers_anon_mb": mb(sum(k.get("RssAnon", 0) for k in ks)),
            "workers_file_mb": mb(sum(k.get("RssFile", 0) for k in ks))}


def first_answer(url: str, token: str, t0: float, deadline: float) -> float:
    """Seconds from ``t0`` (process start) to the first answered API request (GET /api/v1/meta)."""
    parts = urlsplit(url)

    async def once() -> int:
        c = Conn(parts.hostname, parts.port, token)
        try:
            return (await c.get("/api/v1/meta"))[0]
        finally:
            await c.close()

    while time.perf_counter() < deadline:
        try:
            if asyncio.run(once()) == 200:
                return time.perf_counter() - t0
        except (OSError, asyncio.IncompleteReadError):
            pass
        time.sleep(0.01)
    raise SystemExit("server did not answer /api/v1/meta")


def start_server(store: Path, token: str) -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).parent / "chaintrail"
    proc = subprocess.Popen([str(exe), "serve", "--store", str(store), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "CHAINTRAIL_TOKEN": token, "COLUMNS": "200"}, start_new_session=True)
    fd = proc.stdout.fileno()       # raw reads: a line left in a Python buffer would never wake select()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    seen = ""
    end = time.monotonic() + 600
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read()}")
        if sel.select(0.5):
            seen += os.read(fd, 65536).decode(errors="replace")
            for line in seen.splitlines():
                if line.strip().startswith("open") and "http://" in line:
                    return proc, line.split()[1].split("#")[0]
    proc.kill()
    raise SystemExit("server did not start within 600 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server; its whole process group (trace workers included) if it does not stop in 30 s."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def peer_sql_lookups(store: Path, addrs: list[str], n: int, budget_s: float = 60.0) -> list[float]:
    """The same address lookup as `chaintrail sql` answers it: one DuckDB query per address; at most ``n``,
    and no more once ``budget_s`` has passed with 3 done (a scan of a 10M-tx chain's addresses takes many
    seconds each)."""
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.sql import query

    out: list[float] = []
    t0 = time.perf_counter()
    with ChainStore(store) as st:
        for a in addrs[:n]:
            if len(out) >= 3 and time.perf_counter() - t0 > budget_s:
                break
            t = time.perf_counter()
            query(st, "SELECT * FROM addresses WHERE address = $a", {"a": a})
            out.append(time.perf_counter() - t)
    return out


def chain_size(store: Path) -> dict:
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.readmodel import FOLDER

    with ChainStore(store) as st:
        c = st.counts
    rm = sum(f.stat().st_size for f in (store / FOLDER).rglob("*") if f.is_file())
    return {"txs": c["txs"], "outputs": c["outputs"], "addresses": c["addresses"], "read_model_mb": rm / 2**20}


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000, p)) if xs else float("nan")


def measure(store: Path, args, mix: dict[str, float]) -> dict:
    """Start `chaintrail serve` on ``store``, load it, stop it: every figure of one store."""
    if args.cold:
        import shutil

        from chaintrail.store.readmodel import FOLDER
        shutil.rmtree(store / FOLDER, ignore_errors=True)
    token = secrets.token_urlsafe(24)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc, url = start_server(store, token)
    try:
        startup_s = first_answer(url, token, t0, t0 + 600)
        mem_start = memory(proc.pid)
        paths = workload(store, 2000, args.seed)
        # Warm-up: first calls compile the trace kernel's specialisations and fill caches.
        asyncio.run(run_clients(url, token, paths, mix, 4, 200, 30, args.seed + 1))
        res, wall = asyncio.run(run_clients(url, token, paths, mix, args.clients, args.requests, args.seconds,
                                            args.seed))
        mem_load = memory(proc.pid)
    finally:
        stop_server(proc)
    load_after = os.getloadavg()[0]
    peer = peer_sql_lookups(store, [p.rsplit("/", 1)[1] for p in paths["lookup"]], args.peer)
    total = sum(len(v) for v in res["latency"].values())
    n_err = sum(len(v) for v in res["errors"].values())
    rows = {k: {"requests": len(v), "errors": len(res["errors"][k]), "unfinished": res["unfinished"][k],
                "per_s": round(len(v) / wall, 1), "p50_ms": round(pct(v, 50), 2), "p90_ms": round(pct(v, 90), 2),
                "p99_ms": round(pct(v, 99), 2), "max_ms": round(max(v) * 1000, 2) if v else None}
            for k, v in res["latency"].items()}
    ok = n_err == 0 and rows["lookup"]["p99_ms"] < 50
    return {"store": str(store), "clients": args.clients, "requests": total, "seconds": round(wall, 2),
            "throughput_per_s": round(total / wall, 1), "errors": n_err, "kinds": rows,
            "peer_sql_lookup": {"requests": len(peer), "p50_ms": round(pct(peer, 50), 2),
                                "p99_ms": round(pct(peer, 99), 2)},
            "targets_met": ok, "cpus": os.cpu_count(), "load_avg_before": round(load_before, 2),
            "load_avg_after": round(load_after, 2), "chain": chain_size(store), "startup_s": round(startup_s, 2),
            "cold": args.cold, "memory_after_start": mem_start, "memory_after_load": mem_load,
            "error_samples": {k: v[:3] for k, v in res["errors"].items()}}


def report(out: dict) -> None:
    """One store's figures as text."""
    total, wall = out["requests"], out["seconds"]
    print(f"chaintrail API under load: {out['clients']} clients, {total:,} requests in {wall:.1f} s "
          f"= {out['throughput_per_s']:,.0f} req/s, {out['errors']} errors  (store {out['store']}; {out['cpus']} "
          f"cores, load average {out['load_avg_before']:.1f} before the run, {out['load_avg_after']:.1f} after)")
    c = out["chain"]
    print(f"chain: {c['txs']:,} txs, {c['outputs']:,} outputs, {c['addresses']:,} addresses; "
          f"read model {c['read_model_mb']:,.0f} MB on disk")
    print(f"start-up (process start -> first answered request): {out['startup_s']:.2f} s"
          + ("  (cold: includes building the read model)" if out["cold"] else ""))
    for when, m in (("after start", out["memory_after_start"]), ("after load", out["memory_after_load"])):
        print(f"memory {when:11}: API process RSS {m['api_rss_mb']:,.0f} MB (anon {m['api_anon_mb']:,.0f}, "
              f"mapped files {m['api_file_mb']:,.0f}, peak {m['api_peak_mb']:,.0f}); {m['workers']} trace "
              f"workers anon {m['workers_anon_mb']:,.0f} MB, mapped files {m['workers_file_mb']:,.0f} MB")
    print(f"{'kind':8} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'unfinished':>10}")
    for k, r in out["kinds"].items():
        print(f"{k:8} {r['requests']:>9,} {r['errors']:>7} {r['per_s']:>8.1f} {r['p50_ms']:>8.2f} "
              f"{r['p90_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms'] or 0:>8.2f} {r['unfinished']:>10}")
    print(f"peer: the same lookup as a DuckDB query over the store (`chaintrail sql`), one at a time: "
          f"{out['peer_sql_lookup']['requests']} queries, p50 {out['peer_sql_lookup']['p50_ms']:.1f} ms, p99 {out['peer_sql_lookup']['p99_ms']:.1f} ms")
    print(f"targets (zero errors, lookup p99 < 50 ms): {'met' if out['targets_met'] else 'NOT met'}")
    for k, errs in out["error_samples"].items():
        for e in errs:
            print(f"  error ({k}): {e}")


def side_by_side(outs: list[dict]) -> None:
    """The figures that must not grow with the chain, one column per store."""
    def row(name: str, fmt, get) -> None:
        print(f"{name:34}" + "".join(f"{fmt(get(o)):>16}" for o in outs))

    print("\nside by side (start-up and the API process's memory should not grow with the chain):")
    row("store", lambda x: x, lambda o: Path(o["store"]).name[:15])
    row("txs", lambda x: f"{x:,}", lambda o: o["chain"]["txs"])
    row("load average before / after", lambda x: x, lambda o: f"{o['load_avg_before']:.1f} / {o['load_avg_after']:.1f}")
    row("start-up s", lambda x: f"{x:.2f}", lambda o: o["startup_s"])
    for when in ("start", "load"):
        m = f"memory_after_{when}"
        row(f"API anon MB after {when}", lambda x: f"{x:,.0f}", lambda o: o[m]["api_anon_mb"])
        row(f"API mapped files MB after {when}", lambda x: f"{x:,.0f}", lambda o: o[m]["api_file_mb"])
        row(f"workers anon MB after {when}", lambda x: f"{x:,.0f}", lambda o: o[m]["workers_anon_mb"])
    for k in outs[0]["kinds"]:
        row(f"{k} p50 / p99 ms", lambda x: x,
            lambda o: f"{o['kinds'][k]['p50_ms']:.1f} / {o['kinds'][k]['p99_ms']:.1f}")
    row("errors", lambda x: f"{x:,}", lambda o: o["errors"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, help="A chain store [default: build the demo under bench/out/demo]")
    ap.add_argument("--stores", type=Path, nargs="+", help="Several stores, measured one after the other, and "
                                                          "their figures side by side (e.g. a small and a large chain)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=6000, help="Stop after this many requests")
    ap.add_argument("--seconds", type=float, default=60.0, help="... or after this many seconds")
    ap.add_argument("--mix", default="lookup=0.7,trace=0.15,entity=0.15")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="Print the figures as JSON")
    ap.add_argument("--peer", type=int, default=50, help="Peer lookups to time (DuckDB; seconds each on a big store: stops after 60 s with 3 done)")
    ap.add_argument("--cold", action="store_true", help="Remove the store's persisted read model first, so the "
                                                        "start-up includes building it (a store from before it)")
    args = ap.parse_args()
    mix = {k: float(v) for k, v in (x.split("=") for x in args.mix.split(","))}
    stores = args.stores or [args.store]
    if stores == [None]:
        from chaintrail.api.demo_case import build_demo

        case = build_demo(ROOT / "bench" / "out" / "demo")
        stores = [Path(case.store)]
    outs = []
    for store in stores:
        outs.append(measure(store, args, mix))
        if not args.json:
            report(outs[-1])
    if args.json:
        print(json.dumps(outs if args.stores else outs[0], indent=1))
    elif len(outs) > 1:
        side_by_side(outs)
    return 0 if all(o["targets_met"] for o in outs) else 1


if __name__ == "__main__":
    sys.exit(main())

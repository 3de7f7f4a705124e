"""Alert latency of `chaintrail follow` on a real anvil: block available -> alert recorded, with 10,000 watches.

Run: .venv/bin/python bench/alerts.py [--blocks 40] [--watches 10000] [--poll 0.05] [--work /tmp/DIR]

Plays blocks into anvil (automine: one payment from a watched account per block), with a follower polling
every ``--poll`` seconds in a thread. A block is *available* when its receipt answers; its alert is
*recorded* at the alert row's created_at (same clock). Prints p50/p99 of the gap and, from the same run on a
fresh store, the peer figure with a single watch: the ratio is what the 10,000 watches cost. The poll
interval bounds the latency from below (a block waits up to one poll for the follower to look).
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def _ts(s: str) -> float:
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()


def _watches(repo, p, ref: str, senders: list[str], n: int) -> None:
    """``n`` address watches in one transaction: the senders' plus random never-used addresses."""
    from chaintrail.monitor.watch_spec import check_spec
    from chaintrail.monitor.watches import add_watches

    targets = senders + ["0x" + secrets.token_hex(20) for _ in range(max(0, n - len(senders)))]
    add_watches(repo, p, ref, [check_spec("eth", "address", a, {"direction": "out"}) for a in targets[:n]])


def run(work: Path, n_blocks: int, n_watches: int, poll: float) -> list[float]:
    import sqlalchemy as sa

    from chaintrail.cases import schema as S
    from chaintrail.cases.repository import CaseRepository
    from chaintrail.chains.ethereum.node import AnvilNode
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.monitor.follow import Follower

    work.mkdir(parents=True)
    with AnvilNode() as node, EthRpc(node.url) as rpc, CaseRepository.open(work / "cases.sqlite") as repo:
        accts = rpc.call("eth_accounts", [])
        p = repo.ensure_operator("BENCH", "bench")
        ref = repo.create_case(p, "Latency")["ref"]
        t0 = time.perf_counter()
        _watches(repo, p, ref, accts[:min(n_watches, 10)], n_watches)
        print(f"  {n_watches} watches stored in {time.perf_counter() - t0:.1f} s")
        f = Follower(work / "store", node.url, "eth", repo.db, poll_s=poll)
        f.look()
        th = threading.Thread(target=f.run, daemon=True)
        th.start()
        available: dict[str, float] = {}
        try:
            for i in range(n_blocks):
                h = rpc.call("eth_sendTransaction", [{"from": accts[i % min(n_watches, 10)], "to": accts[-1],
                                                      "value": hex(10**15)}])
                while rpc.call("eth_getTransactionReceipt", [h]) is None:
                    time.sleep(0.002)
                available[h] = time.time()
                time.sleep(poll * 3)                         # let the follower catch each block on its own
            end = time.monotonic() + 30
            while time.monotonic() < end:
                with repo.db.read() as conn:
                    n = conn.execute(sa.select(sa.func.count()).select_from(S.alerts)).scalar_one()
                if n >= n_blocks:
                    break
                time.sleep(0.05)
        finally:
            f.stop()
            th.join(30)
        with repo.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(S.alerts.c.tx_hash, S.alerts.c.created_at))]
    return [_ts(r["created_at"]) - available[r["tx_hash"]] for r in rows if r["tx_hash"] in available]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=40)
    ap.add_argument("--watches", type=int, default=10_000)
    ap.add_argument("--poll", type=float, default=0.05)
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="watch-bench-", dir="/tmp"))
    try:
        figures = {}
        for label, n in (("1 watch (peer)", 1), (f"{a.watches} watches", a.watches)):
            print(f"{label}: {a.blocks} blocks, poll {a.poll} s")
            lat = np.array(run(work / f"w{n}", a.blocks, n, a.poll)) * 1000
            figures[label] = (np.percentile(lat, 50), np.percentile(lat, 99), len(lat))
            print(f"  alerts {len(lat)}/{a.blocks}: latency p50 {figures[label][0]:.0f} ms, "
                  f"p99 {figures[label][1]:.0f} ms (block available -> alert recorded)")
        (p50a, p99a, _), (p50b, p99b, _) = figures.values()
        print(f"ratio {a.watches} watches / 1 watch: p50 {p50b / p50a:.2f}x, p99 {p99b / p99a:.2f}x")
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

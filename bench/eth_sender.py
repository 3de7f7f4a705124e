"""Ethereum scenario generation rate: the fast Sender on anvil, a mix of ETH and stablecoin transfers.

Run: .venv/bin/python bench/eth_sender.py [--blocks N] [--per-block K] [--people P] [--token-share F]

One anvil (scenario.eth.genesis.Genesis: automine off, fifo pool, auto-impersonation) gets ``people`` fresh
seed-derived addresses funded with ETH and a stablecoin, then ``blocks`` blocks of ``per-block`` transfers
(``token-share`` of them ERC-20 ``transfer`` calls), each block sent in batches, mined at a set time and every
receipt checked (scenario.eth.mix.play_mix). The same run goes through a JournalRpc (what generation does) and
is then replayed from the journal into a fresh anvil (what ``scenario serve`` does). Prints tx/s of both, and
anvil's resident memory at the end (it keeps every block, receipt and trace in memory).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth.genesis import Genesis
from chaintrail.scenario.eth.journal import JournalRpc, replay
from chaintrail.scenario.eth.mix import play_mix
from chaintrail.scenario.eth.sender import Sender


def _rss_mb(pid: int) -> float:
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return int(out or 0) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=100)
    ap.add_argument("--per-block", type=int, default=300)
    ap.add_argument("--people", type=int, default=1000)
    ap.add_argument("--token-share", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    genesis = Genesis()
    with tempfile.TemporaryDirectory(prefix="eth-sender-") as tmp:
        journal = Path(tmp) / "journal.jsonl.gz"
        with genesis.node() as node, JournalRpc(node.url, journal, genesis) as rpc:
            res = play_mix(Sender(rpc), seed=args.seed, people=args.people, blocks=args.blocks,
                           per_block=args.per_block, token_share=args.token_share)
            tip = rpc.finish()
            rss = _rss_mb(node._proc.pid) if node._proc else 0.0
        started = time.perf_counter()
        with genesis.node() as node, EthRpc(node.url, batch_size=1 << 30, workers=1, retries=0) as rpc:
            replay(journal, rpc)
        replay_s = time.perf_counter() - started
        size = journal.stat().st_size
    print(f"generation: {res['transfers']:,} transfers ({args.token_share:.0%} ERC-20) in {args.blocks:,} blocks, "
          f"{res['seconds']:.1f} s, {res['tx_per_s']:,.0f} tx/s (sends, mining and receipt checks, journaled)")
    print(f"replay:     {tip['transactions']:,} txs (funding included) into a fresh anvil in {replay_s:.1f} s, "
          f"{tip['transactions'] / replay_s:,.0f} tx/s (node start included), same tip {tip['tip_hash'][:18]}…")
    print(f"journal:    {size / 1e6:.1f} MB gzipped, {size / tip['transactions']:.0f} bytes/tx; "
          f"anvil resident memory {rss:,.0f} MB ({rss * 1e6 / tip['transactions']:,.0f} bytes/tx)")


if __name__ == "__main__":
    main()

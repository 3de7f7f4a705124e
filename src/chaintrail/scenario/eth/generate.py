"""Generate an Ethereum scenario: two anvil chains played deterministically, their journals and an answer key.

This is the skeleton the economy and the crime cases plug into. For now it plays placeholders: the test-chain
driver's contract activity (``eth_activity.drive``) on the main chain and a mix of ETH and stablecoin
transfers (``mix.play_mix``) on the bridge's second chain. Each chain's calls go through a ``JournalRpc`` into
``chain-<id>.journal.jsonl.gz``, which ``serve`` replays into a fresh anvil (see ``journal`` for why a journal
and not anvil's state dump); ``dump_state`` also writes anvil's own dump with every block's state,
``chain-<id>.state.json``, which ``anvil --load-state`` reads (fine for small chains only).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path

from chaintrail.errors import UsageError
from chaintrail.scenario.eth.genesis import Genesis
from chaintrail.scenario.eth.journal import JournalRpc
from chaintrail.scenario.eth.mix import play_mix
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth_activity import drive

KINDS = ("defi_exploit", "approval_phishing", "pig_butchering", "sanctions_evasion", "all", "none")
MAIN_CHAIN, BRIDGE_CHAIN = 31337, 31338
TXS_PER_BLOCK = 100
BRIDGE_SHARE = 0.2  # of the scale's transactions, played on the second chain


def chains() -> list[Genesis]:
    """The scenario's two chains: the main one and the bridge's destination (another chain id and genesis)."""
    return [Genesis(chain_id=MAIN_CHAIN), Genesis(chain_id=BRIDGE_CHAIN, timestamp=Genesis().timestamp + 7)]


def journal_path(out: Path, chain_id: int) -> Path:
    return out / f"chain-{chain_id}.journal.jsonl.gz"


def state_path(out: Path, chain_id: int) -> Path:
    return out / f"chain-{chain_id}.state.json"


def generate(seed: int, kind: str, scale: float, out: str | Path, *, dump_state: bool = False,
             progress: Callable[[str], None] | None = None) -> dict:
    """Play the scenario into ``out``; return the answer key (written to ``out/answer_key.json``) and the rate.

    ``scale`` is in thousands of transactions, as for Bitcoin scenarios.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown Ethereum scenario kind {kind!r} (choose from {', '.join(KINDS)})")
    if not scale > 0:
        raise UsageError(f"--scale must be positive, got {scale}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    total = max(1, round(scale * 1000))
    main_blocks = max(1, round(total * (1 - BRIDGE_SHARE) / TXS_PER_BLOCK))
    bridge_blocks = max(1, round(total * BRIDGE_SHARE / TXS_PER_BLOCK))
    started = time.perf_counter()
    key_chains = []
    for genesis in chains():
        if progress:
            progress(f"chain {genesis.chain_id}")
        with genesis.node() as node, JournalRpc(node.url, journal_path(out, genesis.chain_id), genesis) as rpc:
            if genesis.chain_id == MAIN_CHAIN:
                drive(node.url, seed=seed, blocks=main_blocks, txs_per_block=TXS_PER_BLOCK, rpc=rpc)
            else:
                play_mix(Sender(rpc), seed=seed, people=100, blocks=bridge_blocks, per_block=TXS_PER_BLOCK)
            tip = rpc.finish()
            entry = {"chain_id": genesis.chain_id, "genesis": genesis.as_dict(), **tip,
                     "journal": journal_path(out, genesis.chain_id).name}
            if dump_state:
                write_state(rpc, state_path(out, genesis.chain_id))
                entry["state"] = state_path(out, genesis.chain_id).name
            key_chains.append(entry)
    seconds = time.perf_counter() - started
    transactions = sum(c["transactions"] for c in key_chains)
    key = {"chain": "eth", "seed": seed, "kind": kind, "scale": scale, "placeholder": True,
           "chains": key_chains, "transactions": transactions}
    (out / "answer_key.json").write_text(json.dumps(key, indent=1, sort_keys=True) + "\n")
    return {**key, "seconds": round(seconds, 3), "tx_per_s": round(transactions / seconds, 1) if seconds else None}


def write_state(rpc: JournalRpc, path: Path) -> None:
    """anvil's state dump with every block's state (``anvil_dumpState [true]``), as JSON for ``--load-state``."""
    dumped = rpc.call("anvil_dumpState", [True])
    path.write_bytes(gzip.decompress(bytes.fromhex(dumped[2:])))


__all__ = ["KINDS", "chains", "generate", "journal_path", "state_path", "write_state"]

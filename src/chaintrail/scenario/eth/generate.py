"""Generate an Ethereum scenario: two anvil chains played deterministically, their journals and an answer key.

``generate`` starts one anvil per chain (the main chain and the bridge's second chain, other chain id and
genesis time), deploys the world on both (``world.deploy_world``), funds the background users
(``economy.Economy.fund``), then plays block after block until the scale's transactions are reached and every
crime case is done: the economy queues its block (and, through ``relay.BridgeRelay``, relays the bridge both
ways and plays chain B's holders), each crime case queues its own (``step(block_number)``), and both chains are
mined. Each chain's calls go through a ``JournalRpc`` into ``chain-<id>.journal.jsonl.gz``, which ``serve``
replays into a fresh anvil (see ``journal`` for why a journal and not anvil's state dump); ``dump_state`` also
writes anvil's own dump with every block's state, ``chain-<id>.state.json`` (small chains only).

Crime cases come from ``scenario.eth.crimes.build_cases(kind, context)`` once that module exists: objects with
``step(block_number) -> None`` (queue through ``context.sender_a``/``sender_b``), ``done`` and ``record()``
(their part of the answer key). While generating, anvil keeps only the last ``KEEP_BLOCKS`` blocks'
transactions in memory (``--transaction-block-keeper``; the replay that serves the chain keeps all of them).
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import UsageError
from chaintrail.scenario.eth.airdrop import Airdrop
from chaintrail.scenario.eth.behaviour import EthBehaviour, resolve
from chaintrail.scenario.eth.economy import Economy
from chaintrail.scenario.eth.genesis import Genesis
from chaintrail.scenario.eth.journal import JournalRpc
from chaintrail.scenario.eth.relay import BridgeRelay
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth.world import World, deploy_world

KINDS = ("defi_exploit", "approval_phishing", "pig_butchering", "sanctions_evasion", "all", "none")
MAIN_CHAIN, BRIDGE_CHAIN = 31337, 31338
KEEP_BLOCKS = 256
GAS_LIMIT = 60_000_000  # room for ~250 background transactions a block (anvil's cost per block grows with state)
# One transaction per request: anvil answers a JSON-RPC batch's items concurrently, so two senders' txs in one
# batch can reach its pool in either order, and the block (its hash) with them; one by one, the order is fixed
# and the journal's replay gives the same blocks.
SEND_CHUNK = 1
MAX_EXTRA_BLOCKS = 5_000  # blocks played after the scale is reached, for crime cases still running


@dataclass
class CaseContext:
    """What a crime case is built from: the world, both chains' senders and RPCs, the economy and its seed."""

    seed: int
    kind: str
    world: World
    sender_a: Sender
    sender_b: Sender
    rpc_a: EthRpc
    rpc_b: EthRpc
    economy: Economy
    relay: BridgeRelay
    behaviour: EthBehaviour
    horizon: int = 7_200                     # blocks a case spreads over: about the blocks the scale takes


def chains() -> list[Genesis]:
    """The scenario's two chains: the main one and the bridge's destination (another chain id and genesis)."""
    return [Genesis(chain_id=MAIN_CHAIN, gas_limit=GAS_LIMIT),
            Genesis(chain_id=BRIDGE_CHAIN, timestamp=Genesis().timestamp + 7, gas_limit=GAS_LIMIT)]


def journal_path(out: Path, chain_id: int) -> Path:
    return out / f"chain-{chain_id}.journal.jsonl.gz"


def state_path(out: Path, chain_id: int) -> Path:
    return out / f"chain-{chain_id}.state.json"


def users_for(total: int) -> int:
    """Background users for a scale of ``total`` transactions: about one per 400, from 50 to 3,000."""
    return int(min(3_000, max(50, total // 400)))


def build_cases(kind: str, ctx: CaseContext) -> list:
    """The crime cases of ``kind`` (none until scenario.eth.crimes provides ``build_cases``)."""
    if kind == "none" or importlib.util.find_spec("chaintrail.scenario.eth.crimes") is None:
        return []
    module = importlib.import_module("chaintrail.scenario.eth.crimes")
    build = getattr(module, "build_cases", None)
    return list(build(kind, ctx)) if build is not None else []


def generate(seed: int, kind: str, scale: float, out: str | Path, *, dump_state: bool = False,
             behaviour: str | EthBehaviour | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Play the scenario into ``out``; return the answer key (written to ``out/answer_key.json``) and the rate.

    ``scale`` is in thousands of transactions (both chains together), as for Bitcoin scenarios.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown Ethereum scenario kind {kind!r} (choose from {', '.join(KINDS)})")
    if not scale > 0:
        raise UsageError(f"--scale must be positive, got {scale}")
    profile = resolve(behaviour, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    total = max(1, round(scale * 1000))
    gen_a, gen_b = chains()
    keep = () if dump_state else ("--transaction-block-keeper", str(KEEP_BLOCKS), "--prune-history", "64")
    started = time.perf_counter()
    with gen_a.node(extra_args=keep) as node_a, gen_b.node(extra_args=keep) as node_b, \
            JournalRpc(node_a.url, journal_path(out, MAIN_CHAIN), gen_a) as rpc_a, \
            JournalRpc(node_b.url, journal_path(out, BRIDGE_CHAIN), gen_b) as rpc_b:
        send_a, send_b = Sender(rpc_a, chunk=SEND_CHUNK), Sender(rpc_b, chunk=SEND_CHUNK)
        accounts = [a.lower() for a in rpc_a.call("eth_accounts", [])]
        if progress:
            progress("deploying the world")
        world = deploy_world(rpc_a, send_a, accounts, rpc_b=rpc_b, send_b=send_b)
        rng = np.random.Generator(np.random.PCG64(seed))
        economy = Economy(world, send_a, rng, profile, seed=seed, users=users_for(total))
        if progress:
            progress(f"funding {len(economy.users):,} users")
        role = world.accounts
        economy.airdrop = Airdrop(economy, role["issuer"], seed)
        economy.fund([role["issuer"], role["liquidity"], role["vault_lender"], role["otc_owner"]])
        assert world.bridge is not None
        relay = BridgeRelay(world.bridge, economy.ledger, send_b, rng, gas_station=role["liquidity"],
                            back_p=profile.bridge_back_p)
        economy.relay = relay
        # a case spreads over about the blocks the scale's transactions take (at least 40, so it has waits)
        horizon = max(40, round(0.9 * total / profile.txs_per_block))
        cases = build_cases(kind, CaseContext(seed, kind, world, send_a, send_b, rpc_a, rpc_b, economy, relay,
                                              profile, horizon))
        extra = 0
        while send_a.mined + send_b.mined < total or (any(not c.done for c in cases) and extra < MAX_EXTRA_BLOCKS):
            if send_a.mined + send_b.mined >= total:
                extra += 1
            economy.step()
            number = send_a.number + 1
            for case in cases:
                case.step(number)
            send_a.mine()
            send_b.mine()
            if progress and send_a.number % 100 == 0:
                progress(f"block {send_a.number:,}: {send_a.mined + send_b.mined:,}/{total:,} txs")
        economy.ledger.settle()
        relay.b.settle()
        key_chains = []
        for genesis, rpc in ((gen_a, rpc_a), (gen_b, rpc_b)):
            tip = rpc.finish()
            entry = {"chain_id": genesis.chain_id, "genesis": genesis.as_dict(), **tip,
                     "journal": journal_path(out, genesis.chain_id).name}
            if dump_state:
                write_state(rpc, state_path(out, genesis.chain_id))
                entry["state"] = state_path(out, genesis.chain_id).name
            key_chains.append(entry)
    seconds = time.perf_counter() - started
    transactions = sum(c["transactions"] for c in key_chains)
    tables = write_tables(out, economy, relay)
    from chaintrail.scenario.eth.prices import write_eth_prices

    # the chain's own daily ETH and stablecoin series (synthetic, labelled so) for fiat values
    write_eth_prices(out, seed, gen_a.timestamp, max(send_a.timestamp, send_b.timestamp), list(world.stablecoins))
    if cases:
        tables.update(cases[0].write_tables(out))
    key = {"chain": "eth", "seed": seed, "kind": kind, "scale": scale, "chains": key_chains,
           "transactions": transactions, "behaviour": profile.to_json(), "world": world.to_json(),
           "economy": {"users": len(economy.users), "entities": len(economy.entities),
                       "tornado_links": len(economy.tornado_links), "bridge_legs": len(relay.legs),
                       "airdrop": economy.airdrop.record(), "tables": tables},
           "cases": [case.record() for case in cases]}
    (out / "answer_key.json").write_text(json.dumps(key, indent=1, sort_keys=True) + "\n")
    return {**key, "seconds": round(seconds, 3), "tx_per_s": round(transactions / seconds, 1) if seconds else None}


def write_tables(out: Path, economy: Economy, relay: BridgeRelay) -> dict[str, str]:
    """The answer key's large parts as Parquet: background entities' addresses, deposit addresses, Tornado
    links and bridge legs (amounts as decimal strings: they exceed 64 bits)."""
    entity_rows = [(e, a) for e, addrs in economy.entities.items() for a in addrs]
    deposit_rows = [(ex, user, address, kind) for (user, ex), (address, kind) in economy.deposit_addr.items()]
    tables = {
        "economy_addresses": pa.table({"entity": [r[0] for r in entity_rows], "address": [r[1] for r in entity_rows]}),
        "deposit_addresses": pa.table({n: [r[i] for r in deposit_rows]
                                       for i, n in enumerate(("exchange", "customer", "address", "kind"))}),
        "tornado_links": _rows(economy.tornado_links, ("pool", "asset", "denomination", "commitment",
                                                       "nullifier_hash", "depositor", "entity", "deposit_tx",
                                                       "recipient", "relayer", "fee", "withdrawal_tx")),
        "bridge_legs": _rows(relay.legs, ("direction", "nonce", "asset", "sender", "recipient", "amount",
                                          "source_tx", "source_block", "dest_tx", "dest_block")),
        "airdrop": _rows(economy.airdrop.rows if economy.airdrop else [],
                         ("token", "distributor", "recipient", "entity", "farm_owner", "amount", "action",
                          "forwarded_to")),
    }
    names = {}
    for name, table in tables.items():
        path = out / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd")
        names[name] = path.name
    return names


def _rows(rows: list[dict], columns: tuple[str, ...]) -> pa.Table:
    big = {"denomination", "fee", "amount"}
    return pa.table({c: [str(r.get(c)) if c in big else r.get(c) for r in rows] for c in columns})


def write_state(rpc: JournalRpc, path: Path) -> None:
    """anvil's state dump with every block's state (``anvil_dumpState [true]``), as JSON for ``--load-state``."""
    dumped = rpc.call("anvil_dumpState", [True])
    path.write_bytes(gzip.decompress(bytes.fromhex(dumped[2:])))


__all__ = ["KINDS", "CaseContext", "build_cases", "chains", "generate", "journal_path", "state_path", "users_for",
           "write_state"]

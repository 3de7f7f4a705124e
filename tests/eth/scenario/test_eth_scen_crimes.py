"""Each crime kind played on a fresh two-chain world: the answer key's facts hold against the chain read by plain RPC.

Checked per kind: every case address's balance of every asset equals what the ledger says it holds (gas
included: the ledger misses no movement); the amounts paid into each exchange's deposit addresses (ETH by tx
value, tokens by Transfer events) equal the key's true-flow figures; every Tornado link's deposit and
withdrawal events are where the key says, and the recipient got the denomination less the fee; every bridge
leg's mint equals its lock (nonce, amount, log positions); the vault lost exactly the stolen amounts; haircut
figures stay within true flow and are conserved. Same seed, same key.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from eth_scen_chain import open_chain

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.answer_key import build_key, write_answer_key
from chaintrail.scenario.eth.bridge import LOCKED_EVENT, MINTED_EVENT
from chaintrail.scenario.eth.case_ledger import CaseLedger
from chaintrail.scenario.eth.crimes import make_crimes
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth.tornado import DEPOSIT_EVENT, WITHDRAWAL_EVENT
from chaintrail.scenario.eth.world import WorldConfig, deploy_world

SMALL = WorldConfig(pool_eth=100, stable_pair_usd=100_000, otc_eth=10, otc_usd=20_000, p2p_usd=5_000,
                    vault_usd=50_000)
TRANSFER = event_topic("Transfer(address,address,uint256)")


def _play(tmp_path: Path, kind: str, seed: int, horizon: int = 60):
    """Deploy the world on two anvils, play ``kind``'s cases to the end; (key, chain A, chain B, world, start)."""
    gen_a, gen_b = open_chain(tmp_path / "a", 31337), open_chain(tmp_path / "b", 4242)
    a, b = next(gen_a), next(gen_b)
    try:
        world = deploy_world(a.rpc, a.send, a.accounts, config=SMALL, rpc_b=b.rpc, send_b=b.send)
        sa, sb = Sender(a.rpc), Sender(b.rpc)
        ledger = CaseLedger(world.chain_id, world.chain_id_b)
        start = sa.number + 1
        crimes = make_crimes(kind, world, (sa, sb), np.random.Generator(np.random.PCG64(seed)), ledger, start,
                             horizon=horizon)
        for _ in range(20 * horizon):
            if all(c.done for c in crimes):
                break
            for c in crimes:
                c.step(sa.number + 1)
            sa.mine()
            sb.mine()
        assert all(c.done for c in crimes)
        key = write_answer_key(tmp_path / "out", ledger, world, {"seed": seed, "kind": kind})
        yield key, a, b, world, start
    finally:
        gen_a.close()
        gen_b.close()


def _txs_to(rpc, start: int, addresses: set[str], senders: set[str]) -> dict[str, int]:
    """ETH sent by successful top-level transactions from ``senders`` to each of ``addresses`` (blocks start..)."""
    got: dict[str, int] = defaultdict(int)
    for n in range(start, rpc.head() + 1):
        block = rpc.call("eth_getBlockByNumber", [hex(n), True])
        receipts = {r["transactionHash"]: r for r in rpc.call("eth_getBlockReceipts", [hex(n)])}
        for tx in block["transactions"]:
            if tx["to"] and tx["to"].lower() in addresses and tx["from"].lower() in senders \
                    and receipts[tx["hash"]]["status"] == "0x1":
                got[tx["to"].lower()] += int(tx["value"], 16)
    return got


def _token_in(rpc, token: str, to: str, start: int, senders: set[str]) -> int:
    """``token`` moved from ``senders`` to ``to`` by Transfer events in blocks start.."""
    logs = rpc.call("eth_getLogs", [{"address": token, "fromBlock": hex(start), "toBlock": "latest",
                                     "topics": [TRANSFER, None, "0x" + to[2:].rjust(64, "0")]}])
    return sum(int(lg["data"], 16) for lg in logs if "0x" + lg["topics"][1][-40:] in senders)


def _log(rpc, tx: str, index: int) -> dict:
    receipt = rpc.call("eth_getTransactionReceipt", [tx])
    (log,) = [lg for lg in receipt["logs"] if int(lg["logIndex"], 16) == index]
    return log


def _check_key(key: dict, a, b, world, start: int) -> None:
    deposits = {d["address"]: e["id"] for e in key["entities"] if e["kind"] == "exchange"
                for d in e["deposit_addresses"]}
    perps = {e["id"]: e["addresses"] for e in key["entities"] if e["kind"] == "perpetrator"}
    view = World_(list(world.stablecoins.values()), world.otc.address, world.bridge.wrapped)
    _check_cases(key["cases"], perps, deposits, key["tornado_links"], key["bridge_legs"], a, b, view, start)


@dataclass
class World_:
    stables: list[str]
    otc: str
    wrapped: dict[str, str]


def _check_cases(cases: list[dict], perps: dict, deposits: dict, links: list[dict], legs: list[dict], a, b,
                 world: World_, start: int) -> None:
    rpc = a.rpc
    for case in cases:
        # 1. every case address holds exactly what the ledger says (held rows; absent = nothing)
        held = {(h["chain"], h["address"], h["asset"]): int(h["amount"]) for h in case["held"]}
        for addr in perps[case["perpetrator"]]:
            node = a if addr["chain"] == "A" else b
            assets = ["ETH", *world.stables] if addr["chain"] == "A" else list(world.wrapped.values())
            for asset in assets:
                got = node.eth(addr["address"]) if asset == "ETH" else tokens.balance_of(node.rpc, asset,
                                                                                           addr["address"])
                assert got == held.get((addr["chain"], addr["address"], asset), 0), (case["id"], addr, asset)
        # 2. true flow per exchange and asset = what the chain shows arriving at the case's deposit addresses
        mine = {p["deposit_address"] for p in case["exchange_payments"]}
        assert mine, f"{case['id']} reached no exchange"
        senders = {x["address"] for x in perps[case["perpetrator"]]}
        eth_in = _txs_to(rpc, start, mine, senders)
        chain_reached: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for addr in mine:
            exchange = deposits[addr] if addr in deposits else "otc_desk"
            assert addr in deposits or addr == world.otc
            chain_reached[exchange]["ETH"] += eth_in.get(addr, 0)
            for token in world.stables:
                chain_reached[exchange][token] += _token_in(rpc, token, addr, start, senders)
        want = {ex: {asset: int(v["true_flow"]) for asset, v in per.items()} for ex, per in case["reached"].items()}
        got = {ex: {asset: v for asset, v in per.items() if v} for ex, per in chain_reached.items()}
        assert got == {ex: {k: v for k, v in per.items() if v} for ex, per in want.items()}, case["id"]
        for ex, per in case["reached"].items():
            for asset, v in per.items():
                assert 0 <= int(v["haircut"]) <= int(v["true_flow"]) or int(v["true_flow"]) == 0
        # 3. stolen = the sources' sum per asset
        sums: dict[str, int] = defaultdict(int)
        for s in case["sources"]:
            sums[s["asset"]] += int(s["amount"])
        assert {k: str(v) for k, v in sums.items()} == case["stolen"]
    # 4. every Tornado link on chain
    for link in links:
        dep = _log(rpc, link["deposit_tx"], link["deposit_log_index"])
        assert dep["address"].lower() == link["pool"] and dep["topics"][0] == event_topic(DEPOSIT_EVENT)
        assert dep["topics"][1] == link["commitment"]
        if link["withdrawal_tx"] is None:
            continue
        w = _log(rpc, link["withdrawal_tx"], link["withdrawal_log_index"])
        assert w["address"].lower() == link["pool"] and w["topics"][0] == event_topic(WITHDRAWAL_EVENT)
        data = bytes.fromhex(w["data"][2:])
        assert "0x" + data[12:32].hex() == link["recipient"] and "0x" + data[32:64].hex() == link["nullifier_hash"]
        assert int.from_bytes(data[64:96], "big") == int(link["fee"])
        block = link["withdrawal_block"]
        gained = a.eth(link["recipient"], block) - a.eth(link["recipient"], block - 1)
        assert gained == int(link["denomination"]) - int(link["fee"]) == int(link["recipient_amount"])
    # 5. every bridge leg: lock and mint with the same nonce and amount
    minted: dict[str, int] = defaultdict(int)
    for leg in legs:
        lock = _log(rpc, leg["source_tx"], leg["source_log_index"])
        assert lock["topics"][0] == event_topic(LOCKED_EVENT) and int(lock["topics"][1], 16) == leg["nonce"]
        assert int(lock["data"][66:130], 16) == int(leg["amount"])
        mint = _log(b.rpc, leg["dest_tx"], leg["dest_log_index"])
        assert mint["topics"][0] == event_topic(MINTED_EVENT) and int(mint["topics"][1], 16) == leg["nonce"]
        assert "0x" + mint["topics"][3][-40:] == leg["recipient"] and int(mint["data"], 16) == int(leg["amount"])
        minted[leg["recipient"]] += int(leg["amount"])
    for recipient, amount in minted.items():
        assert tokens.balance_of(b.rpc, world.wrapped["0x" + "00" * 20], recipient) == amount


@pytest.mark.parametrize("kind", ["defi_exploit", "approval_phishing", "pig_butchering", "sanctions_evasion"])
def test_crime_kind_key_holds_on_chain(tmp_path: Path, kind: str) -> None:
    gen = _play(tmp_path, kind, seed=11)
    key, a, b, world, start = next(gen)
    try:
        _check_key(key, a, b, world, start)
        (case,) = key["cases"]
        assert case["kind"] == kind
        if kind == "defi_exploit":
            # the vault lost exactly what the key says was stolen, in the attack's block
            attack = case["sources"][0]["block"]
            for token in world.vault.tokens:
                lost = tokens.balance_of(a.rpc, token, world.vault.address, attack - 1) - \
                    tokens.balance_of(a.rpc, token, world.vault.address, attack)
                assert lost == int(case["stolen"][token]) == 50_000 * 10**6
            assert case["tornado_links"] and case["bridge_legs"] and len(case["swaps"]) == 2
        if kind == "sanctions_evasion":
            # hops carry their gas funder's clean ETH: haircut strictly below true flow
            for per in case["reached"].values():
                assert int(per["ETH"]["haircut"]) < int(per["ETH"]["true_flow"])
        if kind in ("approval_phishing", "pig_butchering"):
            # nothing clean is mixed in: haircut equals true flow at every exchange
            for per in case["reached"].values():
                assert all(v["haircut"] == v["true_flow"] for v in per.values())
            assert "otc_desk" in case["reached"]
        assert (tmp_path / "out" / "answer_key" / "tornado_links.parquet").exists()
    finally:
        gen.close()


def test_all_kinds_same_seed_same_key(tmp_path: Path) -> None:
    keys = []
    for run in ("1", "2"):
        gen = _play(tmp_path / run, "all", seed=5, horizon=40)
        key, a, b, world, start = next(gen)
        try:
            if run == "1":
                _check_key(key, a, b, world, start)
            keys.append(json.dumps(key, sort_keys=True))
        finally:
            gen.close()
    assert keys[0] == keys[1]
    key = json.loads(keys[0])
    assert [c["kind"] for c in key["cases"]] == ["defi_exploit", "approval_phishing", "pig_butchering",
                                                 "sanctions_evasion"]
    # shared pools: the exploit's haircut at exchanges is diluted by the other case's deposits, never raised
    assert key["taint_rules"]["haircut"].startswith("* Tracked accounts")
    assert build_key  # the builder is importable for generate.py


class _Node:
    def __init__(self, rpc):
        self.rpc = rpc

    def eth(self, address: str, block: int | str = "latest") -> int:
        return self.rpc.balances([address], block)[0]


def test_generate_with_the_economy_key_holds_on_the_served_chain(tmp_path: Path) -> None:
    """generate.py's run: shared relayer, the economy's Tornado use in the same pools; the cases' key still holds."""
    from anvil_needed import need_anvil

    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.scenario.eth.behaviour import REFERENCE
    from chaintrail.scenario.eth.generate import generate
    from chaintrail.scenario.eth.serve import serve

    need_anvil()
    fast = replace(REFERENCE, txs_per_block=40, tornado_wait_min=1, tornado_wait_max=4, sweep_every=4)
    out = tmp_path / "scenario"
    generate(3, "all", 2, out, behaviour=fast)
    key = json.loads((out / "answer_key.json").read_text())
    cases = key["cases"]
    assert [c["kind"] for c in cases] == ["defi_exploit", "approval_phishing", "pig_butchering", "sanctions_evasion"]
    links = pq.read_table(out / "answer_key" / "tornado_links.parquet").to_pylist()
    assert any(r["deposit_case"] is None for r in links)        # the economy's links are in the key too
    perps = {e["id"]: e["addresses"] for c in cases for e in c["entities"]}
    deposits = {d["address"]: d["exchange"] for c in cases for d in c["deposit_addresses"]}
    w = key["world"]
    view = World_(list(w["stablecoins"].values()), w["otc"]["desk"], w["bridge"]["wrapped"])
    with serve(out) as nodes, EthRpc(nodes[31337].url) as rpc_a, EthRpc(nodes[31338].url) as rpc_b:
        _check_cases(cases, perps, deposits, [r for c in cases for r in c["tornado_links"]],
                     [g for c in cases for g in c["bridge_legs"]], _Node(rpc_a), _Node(rpc_b), view, 1)
    # the exploit's pools hold the economy's deposits too: its haircut at exchanges is diluted
    defi = cases[0]
    assert sum(int(v["ETH"]["haircut"]) for v in defi["reached"].values()) < \
        sum(int(v["ETH"]["true_flow"]) for v in defi["reached"].values())

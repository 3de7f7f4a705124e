"""Tornado-style pools found from the store alone, the linking heuristics' leads and their placebo.

On a generated chain (dev seed 11, kind all) the pools, deposits and withdrawals are exactly the answer key's,
the anonymity sets and FIFO leads equal ones worked out from the key's positions alone, and the placebo is
computed over non-linked pairs. On a hand-built chain each heuristic finds exactly the pair it was built for.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from eth_inv_stores import CLI, scenario_store

from chaintrail.analysis.eth.tornado import anonymity_sets, find_pools
from chaintrail.analysis.eth.tornado_links import HEURISTICS, NOT_PROOF, analyse, find_leads, placebo, sample_pairs
from chaintrail.store.chainstore import ChainStore

ETHER = 10**18
SRC = Path(__file__).resolve().parents[3] / "src" / "chaintrail"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    store, folder, _ = scenario_store(tmp_path_factory, 11, "all", 2)
    key = pq.read_table(folder / "answer_key" / "tornado_links.parquet").to_pylist()
    with ChainStore(store) as st:
        m = find_pools(st)
        leads = find_leads(st, m)
    return store, key, m, leads


def _hx(b: bytes | None) -> str | None:
    return None if b is None else "0x" + b.hex()


def test_pools_deposits_withdrawals_are_the_keys(generated) -> None:
    _, key, m, _ = generated
    withdrawn = [r for r in key if r["withdrawal_tx"]]
    assert len(key) >= 40 and len(withdrawn) >= 20
    assert {(p.address.hex(), "ETH" if p.asset is None else "0x" + p.asset.hex(), str(p.denomination))
            for p in m.pools} == {(r["pool"][2:], r["asset"], r["denomination"]) for r in key}
    for p in m.pools:
        assert p.deposits == sum(r["pool"] == _hx(p.address) for r in key)
        assert p.withdrawals == sum(r["pool"] == _hx(p.address) for r in withdrawn)
    deps = {_hx(r["commitment"]): r for r in m.deposits.to_pylist()}
    assert len(deps) == m.deposits.num_rows == len(key)
    for r in key:
        d = deps[r["commitment"]]
        assert (_hx(d["pool"]), _hx(d["sender"]), d["denomination"], d["block_number"], d["log_index"]) == \
            (r["pool"], r["depositor"], r["denomination"], r["deposit_block"], r["deposit_log_index"])
    wds = {_hx(r["nullifier_hash"]): r for r in m.withdrawals.to_pylist()}
    assert len(wds) == m.withdrawals.num_rows == len(withdrawn)
    for r in withdrawn:
        w = wds[r["nullifier_hash"]]
        assert (_hx(w["recipient"]), _hx(w["relayer"]), w["fee"], w["block_number"], w["log_index"]) == \
            (r["recipient"], r["relayer"], r["fee"], r["withdrawal_block"], r["withdrawal_log_index"])
        assert int(w["denomination"]) - int(w["fee"]) == int(r["recipient_amount"])


def _events(key):
    """Per pool, the key's deposits and withdrawals in chain order: (position, kind, commitment)."""
    ev: dict[str, list] = {}
    for r in key:
        ev.setdefault(r["pool"], []).append(((r["deposit_block"], r["deposit_log_index"]), "d", r["commitment"]))
        if r["withdrawal_tx"]:
            ev[r["pool"]].append(((r["withdrawal_block"], r["withdrawal_log_index"]), "w", r["nullifier_hash"]))
    return {p: sorted(e) for p, e in ev.items()}


def test_anonymity_sets_and_fifo_leads_match_the_keys_order(generated) -> None:
    _, key, m, leads = generated
    expect_anon, expect_fifo = {}, set()
    for events in _events(key).values():
        open_notes, queue = 0, []
        for _, kind, ident in events:
            if kind == "d":
                open_notes += 1
                queue.append(ident)
            else:
                expect_anon[ident] = open_notes
                expect_fifo.add((queue.pop(0), ident))
                open_notes -= 1
    _, _, w_anon = anonymity_sets(m)
    got = dict(zip((_hx(x) for x in m.withdrawals["nullifier_hash"].to_pylist()), w_anon.tolist()))
    assert got == expect_anon and max(got.values()) > 1
    commit = dict(zip(m.deposits["log_num"].to_pylist(), (_hx(x) for x in m.deposits["commitment"].to_pylist())))
    nullif = dict(zip(m.withdrawals["log_num"].to_pylist(), (_hx(x) for x in m.withdrawals["nullifier_hash"].to_pylist())))
    fifo = {(commit[d], nullif[w]) for d, w, h in zip(leads["deposit_log_num"].to_pylist(),
                                                      leads["withdrawal_log_num"].to_pylist(),
                                                      leads["heuristic"].to_pylist()) if h == "fifo_timing"}
    assert fifo == expect_fifo


def test_placebo_rate_over_non_linked_pairs(generated) -> None:
    _, key, m, leads = generated
    deps = dict(zip((_hx(x) for x in m.deposits["commitment"].to_pylist()), m.deposits["log_num"].to_pylist()))
    wds = dict(zip((_hx(x) for x in m.withdrawals["nullifier_hash"].to_pylist()), m.withdrawals["log_num"].to_pylist()))
    truth = {(deps[r["commitment"]], wds[r["nullifier_hash"]]) for r in key if r["withdrawal_tx"]}
    pairs = sample_pairs(m, truth, 10**6, 1)
    assert pairs and not set(pairs) & truth and len(set(pairs)) == len(pairs)
    assert all(d < w for d, w in pairs)
    fifo = {(d, w) for d, w, h in zip(leads["deposit_log_num"].to_pylist(), leads["withdrawal_log_num"].to_pylist(),
                                      leads["heuristic"].to_pylist()) if h == "fifo_timing"}
    rates = placebo(leads, pairs)
    k = len(fifo - truth)           # every wrong FIFO guess is a non-linked pair, and all of them are sampled
    assert rates["fifo_timing"]["matches"] == k > 0 and rates["fifo_timing"]["pairs"] == len(pairs)
    assert rates["fifo_timing"]["rate"] == pytest.approx(k / len(pairs))
    lo, hi = rates["fifo_timing"]["wilson95"]
    assert lo < k / len(pairs) < hi
    assert len(sample_pairs(m, truth, 10, 1)) == 10


def test_cli_leads_state_rates_and_that_a_lead_is_no_proof(generated) -> None:
    store, _, m, leads = generated
    r = subprocess.run([*CLI, "tornado", "leads", "--store", str(store), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["leads"]) == leads.num_rows and len(out["pools"]) == len(m.pools)
    assert NOT_PROOF in out["note"].lower()
    for lead in out["leads"]:
        assert NOT_PROOF in lead["evidence"] and lead["heuristic"] in HEURISTICS
        assert {"precision", "chance_match_rate", "expected_chance_matches", "measured_on"} <= set(lead)
    one = out["leads"][0]
    r = subprocess.run([*CLI, "tornado", "leads", "--store", str(store), "--deposit", one["deposit_tx"], "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and {x["deposit_tx"] for x in json.loads(r.stdout)["leads"]} == {one["deposit_tx"]}
    r = subprocess.run([*CLI, "tornado", "leads", "--store", str(store), "--address", "0x12"], capture_output=True,
                       text=True)
    assert r.returncode == 5 and r.stderr.count("\n") == 1 and "--address" in r.stderr


def test_tornado_analysis_reads_no_answer_key() -> None:
    files = [*(SRC / "analysis" / "eth").glob("tornado*.py"), SRC / "cli" / "tornado.py"]
    assert len(files) >= 3
    for f in files:
        text = f.read_text()
        assert not re.search(r"answer_key[/.]|tornado_links\.parquet|chaintrail\.scenario", text), f


# -- a hand-built chain: each heuristic's pattern once ---------------------------------------------------------

GWEI = 10**9


def _legacy(rpc, gas_price: int):
    """A send(frm, to, value, data, gas) pricing gas the legacy way at ``gas_price``, one block per tx."""
    def send(frm, to, value, data, gas):
        tx = {"from": frm, "to": to, "value": hex(value), "data": data, "gas": hex(gas), "gasPrice": hex(gas_price)}
        h = rpc.call("eth_sendTransaction", [tx])
        rpc.call("evm_mine", [])
        return rpc.call("eth_getTransactionReceipt", [h])
    return send


def test_each_heuristic_finds_its_pattern_on_a_hand_built_chain(anvil, tmp_path) -> None:
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.scenario.eth.contracts import derived_address
    from chaintrail.scenario.eth.rpc_send import RpcSend
    from chaintrail.scenario.eth.tornado import Note, deploy_pools

    with EthRpc(anvil.url, workers=1) as rpc:
        send = RpcSend(rpc)
        deployer, verifier, relayer, alice, bob, carol, dave, erin = [a.lower() for a in rpc.call("eth_accounts", [])][:8]
        fresh = {n: derived_address(b"tornado-test", n, 0) for n in ("bob2", "carol2", "dave2", "erin2", "x0", "x1")}
        pools = deploy_pools(send, deployer, verifier=verifier, eth=(ETHER // 10, ETHER))
        small, big = pools[(None, ETHER // 10)], pools[(None, ETHER)]
        k = iter(range(100))

        def note(pool):
            return Note.derive(b"t", pool.address, next(k))

        plan = [(alice, big, alice, relayer, send), (bob, small, fresh["bob2"], relayer, _legacy(rpc, 7_777_777_777)),
                (carol, small, fresh["carol2"], relayer, send), (dave, big, fresh["dave2"], relayer, send),
                (dave, small, fresh["dave2"], relayer, send), (erin, small, fresh["erin2"], erin, send)]
        notes = []
        for who, pool, to, via, how in plan:
            n = note(pool)
            pool.deposit(how, who, n)
            notes.append((pool, n, to, via))
        for i in range(3):                                   # noise: another user's notes, one left in the pool
            n = note(small)
            small.deposit(send, deployer, n)
            if i < 2:
                notes.append((small, n, fresh[f"x{i}"], relayer))
        send(carol, fresh["carol2"], ETHER, "0x", 21_000)    # carol and carol2: three direct txs
        send(fresh["carol2"], carol, ETHER // 2, "0x", 21_000)
        send(carol, fresh["carol2"], ETHER // 4, "0x", 21_000)
        for pool, n, to, via in notes:
            pool.withdraw(send, rpc, n, to, via, pool.denomination // 200)
        _legacy(rpc, 7_777_777_777)(fresh["bob2"], deployer, 10**15, "0x", 21_000)   # bob2 spends, bob's gas price
        r = subprocess.run([*CLI, "ingest", "eth", "--rpc", anvil.url, "--store", str(tmp_path / "s"), "--json"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    with ChainStore(tmp_path / "s") as st:
        m, leads = analyse(st)
    assert [(p.denomination, p.deposits, p.withdrawals) for p in m.pools] == [(ETHER // 10, 7, 6), (ETHER, 2, 2)]
    dep_of = dict(zip(m.deposits["log_num"].to_pylist(), (_hx(x) for x in m.deposits["sender"].to_pylist())))
    rec_of = dict(zip(m.withdrawals["log_num"].to_pylist(), (_hx(x) for x in m.withdrawals["recipient"].to_pylist())))
    found: dict[str, set] = {h: set() for h in HEURISTICS}
    for d, w, h in zip(leads["deposit_log_num"].to_pylist(), leads["withdrawal_log_num"].to_pylist(),
                       leads["heuristic"].to_pylist()):
        found[h].add((dep_of[d], rec_of[w]))
    assert found["address_match"] == {(alice, alice)}
    assert found["unique_gas_price"] == {(bob, fresh["bob2"])}
    assert found["linked_addresses"] == {(carol, fresh["carol2"])}
    assert found["multi_denomination"] == {(dave, fresh["dave2"])}
    assert sum(h == "multi_denomination" for h in leads["heuristic"].to_pylist()) == 2   # one pair per pool
    assert found["relayer_fee"] == {(erin, fresh["erin2"])}
    assert sum(h == "fifo_timing" for h in leads["heuristic"].to_pylist()) == 8          # one per withdrawal
    ev = {h: e for h, e in zip(leads["heuristic"].to_pylist(), leads["evidence"].to_pylist())}
    assert "7777777777" in ev["unique_gas_price"] and "3 direct transactions" in ev["linked_addresses"]
    assert all(NOT_PROOF in e for e in leads["evidence"].to_pylist())

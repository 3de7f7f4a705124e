"""Behaviour profiles: reference chains unchanged, evaluation seeds drawn at random, every family on chain.

A chain with every behaviour family forced on is read back from its block files
(the independent python-bitcoinlib reader) and checked: satoshis conserved, each
case re-derived to the sat, and each family's trace visible in the answer key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from scenario_view import from_display, read_folder
from test_scenario_answer_key import _addr, _rederive
from test_scenario_chain import test_satoshis_are_conserved_and_match_the_key as check_conservation
from typer.testing import CliRunner

from chaintrail.cli.scenario import app
from chaintrail.errors import UsageError
from chaintrail.scenario.behaviour import FAMILIES, FAMILY_PARAMS, RANGES, REFERENCE, Behaviour, draw, resolve
from chaintrail.scenario.evaluation import EVAL_SEEDS, generate_eval_scenarios, is_eval_seed
from chaintrail.scenario.generator import generate

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-behaviour.md"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _in_range(name: str, value) -> bool:
    rng = RANGES[name]
    if rng[0] == "bool":
        return isinstance(value, bool)
    if isinstance(rng[0], str):
        return value in rng
    return rng[0] <= value <= rng[1]


def test_reference_outside_the_block_random_inside_reference_refused_there(tmp_path):
    assert resolve(None, 11) is REFERENCE and resolve("reference", 11) is REFERENCE
    assert resolve(None, 9000) == draw(9000) and resolve(None, 9000).mode == "random"
    assert is_eval_seed(EVAL_SEEDS.start) and is_eval_seed(EVAL_SEEDS.stop - 1) and not is_eval_seed(EVAL_SEEDS.stop)
    with pytest.raises(UsageError, match="evaluation seed"):
        resolve("reference", 9123)
    with pytest.raises(UsageError, match="unknown behaviour"):
        resolve("chaotic", 1)
    res = CliRunner().invoke(app, ["generate", "--seed", "9001", "--out", str(tmp_path / "x"),
                                   "--behaviour", "reference"])
    assert res.exit_code == 5 and "evaluation seed" in res.output
    with pytest.raises(UsageError, match="not evaluation seeds"):
        generate_eval_scenarios(tmp_path / "e", [11], ["ransomware"], 0.5)


def test_drawn_profiles_lie_in_their_documented_ranges_and_differ_by_seed():
    doc = DOC.read_text()
    fields = {f.name for f in dataclasses.fields(Behaviour)} - {"mode", "families"}
    assert fields == set(RANGES)
    for name in list(RANGES) + list(FAMILIES):
        assert f"`{name}`" in doc, f"{name} is not documented in {DOC.name}"
    profiles = [draw(s) for s in range(9000, 9060)]
    seen = Counter()
    for p in profiles:
        assert p.mode == "random"
        seen.update(p.families)
        for name in fields:
            value = getattr(p, name)
            family = next((f for f, q in FAMILY_PARAMS.items() if q == name), None)
            if family is not None and family not in p.families:
                assert value == getattr(REFERENCE, name), name      # a family that is off keeps "off"
                continue
            assert _in_range(name, value), (name, value)
        assert p.peel_hops_min <= p.peel_hops_max and p.hack_split_min <= p.hack_split_max
        assert p.peel_fraction_min + 0.02 <= p.peel_fraction_max + 1e-9
        assert p.whirlpool_mixes_min <= p.whirlpool_mixes_max
        if p.fee_style == "scaled":
            assert 0.5 <= p.fee_factor <= 3.0
        elif p.fee_style == "fixed":
            assert p.fee_factor == int(p.fee_factor) and 1 <= p.fee_factor <= 60
    assert set(seen) == set(FAMILIES)                      # every family is drawn somewhere in 60 seeds
    assert len({json.dumps(p.to_json(), sort_keys=True) for p in profiles}) == len(profiles)
    assert draw(9000) == draw(9000) != draw(9001)


def test_random_behaviour_gives_the_same_bytes_twice_and_records_the_profile(tmp_path):
    [a] = generate_eval_scenarios(tmp_path / "a", [9002], ["ransomware"], 0.5)
    assert a.name == "eval-9002-ransomware-0.5"
    b = generate(tmp_path / "b", seed=9002, kind="ransomware", scale=0.5, workers=0)
    assert _digest(a) == _digest(b.out_dir)
    gen = json.loads((a / "answer_key.json").read_text())["generator"]
    assert gen["behaviour"] == draw(9002).to_json()
    stamp = (a / "blk00000.dat").stat().st_mtime_ns
    assert generate_eval_scenarios(tmp_path / "a", [9002], ["ransomware"], 0.5) == [a]   # kept, not redone
    assert (a / "blk00000.dat").stat().st_mtime_ns == stamp
    c = generate(tmp_path / "c", seed=9003, kind="ransomware", scale=0.5)
    assert _digest(c.out_dir)["blk00000.dat"] != _digest(a)["blk00000.dat"]
    # the reference profile writes no behaviour entry: reference keys keep their old bytes
    r = generate(tmp_path / "r", seed=4, kind="ransomware", scale=0.5)
    assert "behaviour" not in json.loads((r.out_dir / "answer_key.json").read_text())["generator"]


@pytest.fixture(scope="module")
def every_family(tmp_path_factory):
    """Seed 9004, every kind, every family forced on (about 500 transactions)."""
    profile = draw(9004, families=FAMILIES)
    sc = generate(tmp_path_factory.mktemp("families") / "g", seed=9004, kind="all", scale=0.5, behaviour=profile)
    key = json.loads((sc.out_dir / "answer_key.json").read_text())
    addrs = pq.read_table(sc.out_dir / "answer_key" / "addresses.parquet").to_pydict()
    return sc, read_folder(sc.out_dir), key, addrs


def test_every_family_chain_conserves_sats_and_rederives_each_case(every_family):
    sc, view, key, addrs = every_family
    assert key["generator"]["behaviour"]["families"] == list(FAMILIES)
    check_conservation(view, key)
    issuer = dict(zip(addrs["address"], addrs["issuer_entity_id"]))
    for case in key["cases"]:
        endpoints, fees, unspent, custody = _rederive(view, key, case, issuer)
        assert {(from_display(e["txid"]), e["vout"]) for e in case["cash_out_endpoints"] + case["other_endpoints"]} \
            == set(endpoints), case["id"]
        assert case["fees_sat"] == fees
        total = sum(e[0] for e in endpoints.values()) + fees + sum(unspent.values()) + sum(custody.values())
        assert total == case["source_total_sat"]
        assert case["laundered_sat"] > 0


def test_every_family_leaves_its_trace_on_chain(every_family):
    sc, view, key, addrs = every_family
    b = draw(9004, families=FAMILIES)        # the values each check expects (as the fixture forced them)
    owner = dict(zip(addrs["address"], addrs["entity_id"]))
    stype = dict(zip(addrs["address"], addrs["script_type"]))
    heights = {txid: h for txid, (h, _, _) in view.txs.items()}
    roles: dict[str, set[str]] = {}
    for r in key["laundering_txs"]:
        roles.setdefault(r["txid"], set()).add(r["role"])
    by_id = {c["id"]: c for c in key["cases"]}
    perps = {p["entity"] for c in key["cases"] for p in c["perpetrators"]}

    def outs(txid: str) -> list[str | None]:
        return [_addr(view, from_display(txid), n) for n in range(len(view.txs[from_display(txid)][2].vout))]

    # intermediate_hops: self-transfers between the mixer and the deposit, to the actor's own address
    hops = [t for t, r in roles.items() if "layering_hop" in r]
    assert hops and all(owner[a] in perps for t in hops for a in outs(t))
    # fresh_address_type: the P2WPKH actors' hops pay addresses of the drawn new type only
    want = {"p2tr": "p2tr", "p2pkh": "p2pkh", "p2sh-p2wpkh": "p2sh"}[b.cashout_atype]
    p2wpkh_actors = {"ransomware-1", "exchange_hack-1"}
    hop_types = {stype[a] for r in key["laundering_txs"] if r["case"] in p2wpkh_actors and r["role"] == "layering_hop"
                 for a in outs(r["txid"])}
    assert hop_types == {want}
    # grouped_spend_with_change: a cash-out of chips or post-mix coins (not a peel) pays a deposit and keeps
    # change (the reference sweeps them whole); with hops on, the group was merged by its first hop
    mixed_cases = {"ransomware-1", "exchange_hack-1"}
    grouped = [r["txid"] for r in key["laundering_txs"] if r["case"] in mixed_cases and r["role"] == "cash_out"
               and "peel_step" not in roles[r["txid"]]
               and {owner.get(a) in perps for a in outs(r["txid"])} == {True, False}]
    assert grouped
    # long_wait: chips lie at least half the drawn dormancy before the first cash-out of the ransomware case
    rw = by_id["ransomware-1"]
    handed = max(h["height"] for h in rw["mixer_handovers"])
    chip_spends = [heights[from_display(t)] for t, r in roles.items() if r & {"chip_spend", "chip_merge"}
                   and any(x["txid"] == t and x["case"] == "ransomware-1" for x in key["laundering_txs"])]
    assert min(chip_spends) - handed >= b.long_wait_blocks // 2
    # many_exchanges: the case cashes out at more exchanges than the reference's two or three
    assert [len(c.cash_exchanges) for c in sc.cases[:2]] == [b.n_exchanges, min(5, b.n_exchanges)]
    assert max(len({a["exchange"] for a in c["exchange_accounts"]}) for c in key["cases"]) > 3
    # address_reuse: the market sweeps every round into one hot address; peels send change to their input
    sweeps = [t for t, r in roles.items() if "market_sweep" in r]
    assert len(sweeps) >= 2 and len({a for t in sweeps for a in outs(t)}) == 1

    def self_change(t: str) -> bool:
        tx = view.txs[from_display(t)][2]
        return bool({_addr(view, i.prevout.hash, i.prevout.n) for i in tx.vin} & set(outs(t)))

    assert any(self_change(t) for t, r in roles.items() if "peel_step" in r)

"""The answer key is exact: re-derived from the block files alone, and consistent with the chain."""

from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow.parquet as pq
import pytest
from scenario_view import display, from_display

from chaintrail.chains.bitcoin.address import script_address
from chaintrail.chains.bitcoin.network import REGTEST
from chaintrail.scenario.taint import allocate


@pytest.fixture(scope="module")
def tables(scenario):
    side = scenario.out_dir / "answer_key"
    return {n: pq.read_table(side / f"{n}.parquet").to_pydict() for n in ("addresses", "txs")}


@pytest.fixture(scope="module")
def issuer(tables):
    return dict(zip(tables["addresses"]["address"], tables["addresses"]["issuer_entity_id"]))


@pytest.fixture(scope="module")
def controller(tables):
    return dict(zip(tables["addresses"]["address"], tables["addresses"]["entity_id"]))


def _addr(view, txid: bytes, vout: int) -> str | None:
    return script_address(bytes(view.out(txid, vout).scriptPubKey), REGTEST)[1]


def _op(s: str) -> tuple[bytes, int]:
    t, v = s.split(":")
    return from_display(t), int(v)


def _rederive(view, key, case, issuer):
    """The attribution rule, written again from the files on disk and the key's ownership facts."""
    kinds = {e["id"]: e["kind"] for e in key["entities"]}
    perps = {p["entity"] for p in case["perpetrators"]}
    cj = {from_display(c["txid"]): c for c in key["coinjoin_txs"]}
    handovers = case["mixer_handovers"]
    deposit_of = {_op(d): k for k, h in enumerate(handovers) for d in h["deposits"]}
    by_height = defaultdict(list)
    for k, h in enumerate(handovers):
        by_height[h["height"]].append(k)
    taint, custody, endpoints, fees = {}, {}, {}, 0

    def receive(op, amount, owner):
        if amount == 0:
            return
        if owner in perps:
            taint[op] = amount
        elif op in deposit_of:
            custody[op] = amount
        else:
            endpoints[op] = (amount, kinds.get(owner))

    for vp in case["victim_payments"]:
        op = (from_display(vp["txid"]), vp["vout"])
        receive(op, view.out(*op).nValue, issuer[_addr(view, *op)])
    for h, b in enumerate(view.blocks):
        for k in by_height.get(h, []):
            rec = handovers[k]
            t_in = sum(custody.pop(_op(d), 0) for d in rec["deposits"])
            chips = [_op(c) for c in rec["chips"]]
            parts = allocate(t_in, [view.out(*c).nValue for c in chips] + [rec["withheld_sat"]])
            fees += parts[-1]
            for c, amt in zip(chips, parts):
                receive(c, amt, rec["customer"])
        for tx in b.vtx[1:]:
            txid = tx.GetTxid()
            ins = [(i.prevout.hash, i.prevout.n) for i in tx.vin]
            if not any(op in taint for op in ins):
                continue
            if txid in cj:
                groups = []
                for p in cj[txid]["participants"]:
                    g_in = [_op(x) for x in p["inputs"]]
                    g_out = sorted(_op(x) for x in p["outputs"] + p["change"])
                    fee = sum(view.out(*o).nValue for o in g_in) - sum(view.out(*o).nValue for o in g_out)
                    groups.append((g_in, g_out, fee))
            else:
                fee = sum(view.out(*o).nValue for o in ins) - sum(o.nValue for o in tx.vout)
                groups = [(ins, [(txid, n) for n in range(len(tx.vout))], fee)]
            for g_in, g_out, g_fee in groups:
                t_in = sum(taint.pop(o, 0) for o in g_in)
                if not t_in:
                    continue
                parts = allocate(t_in, [view.out(*o).nValue for o in g_out] + [g_fee])
                fees += parts[-1]
                for o, amt in zip(g_out, parts):
                    a = _addr(view, *o)
                    receive(o, amt, issuer.get(a, -1) if a else -1)
    return endpoints, fees, taint, custody


def test_every_case_is_rederived_to_the_sat(view, key, issuer):
    assert {c["kind"] for c in key["cases"]} == {"ransomware", "exchange_hack", "darknet", "scam"}
    for case in key["cases"]:
        endpoints, fees, unspent, custody = _rederive(view, key, case, issuer)
        listed = {(from_display(e["txid"]), e["vout"]): e for e in case["cash_out_endpoints"] + case["other_endpoints"]}
        assert set(listed) == set(endpoints), case["id"]
        for op, (amt, kind) in endpoints.items():
            assert listed[op]["amount_sat"] == amt
            assert listed[op]["entity_kind"] == kind
            assert listed[op]["category"] == ("cash_out" if kind in ("exchange", "p2p_trader") else
                                              listed[op]["category"])
        assert case["fees_sat"] == fees
        assert case["unspent_sat"] == sum(unspent.values())
        assert {(from_display(u["txid"]), u["vout"]) for u in case["unspent"]} == set(unspent)
        assert case["in_custody_sat"] == sum(custody.values())
        assert case["laundered_sat"] == sum(e["amount_sat"] for e in case["cash_out_endpoints"])
        total = sum(e[0] for e in endpoints.values()) + fees + sum(unspent.values()) + sum(custody.values())
        assert total == case["source_total_sat"] == sum(v["value_sat"] for v in case["victim_payments"])
        assert case["laundered_sat"] > 0.5 * case["source_total_sat"]


def test_case_shapes(key):
    roles = defaultdict(Counter)
    for r in key["laundering_txs"]:
        roles[r["case"]][r["role"]] += 1
    by_kind = {c["kind"]: c for c in key["cases"]}
    assert {"peel_step", "mixer_deposit", "cash_out", "consolidation"} <= set(roles[by_kind["ransomware"]["id"]])
    assert {"hack", "split", "coinjoin", "cash_out"} <= set(roles[by_kind["exchange_hack"]["id"]])
    assert {"market_deposit", "market_sweep", "vendor_withdrawal", "cash_out"} <= set(roles[by_kind["darknet"]["id"]])
    assert {"victim_payment", "scam_payout", "mule_transfer", "cash_out"} <= set(roles[by_kind["scam"]["id"]])
    rw = by_kind["ransomware"]
    assert rw["mixer_handovers"] and all(h["chips"] for h in rw["mixer_handovers"])
    hack = by_kind["exchange_hack"]
    kinds = {e["entity_kind"] for e in hack["cash_out_endpoints"]}
    assert kinds == {"exchange", "p2p_trader"}
    assert len({e["entity"] for e in hack["cash_out_endpoints"] if e["entity_kind"] == "exchange"}) == 2
    txids = {r["txid"] for r in key["laundering_txs"]}
    assert {c["txid"] for c in key["coinjoin_txs"]} & txids


def test_coinjoins_have_their_published_structure(view, key):
    protocols = Counter(c["protocol"] for c in key["coinjoin_txs"])
    assert {"wasabi2", "whirlpool", "joinmarket"} <= set(protocols)
    for c in key["coinjoin_txs"]:
        tx = view.txs[from_display(c["txid"])][2]
        vals = Counter(o.nValue for o in tx.vout)
        assert len(c["participants"]) >= (5 if c["protocol"] == "whirlpool" else 3)
        ins = sorted(x for p in c["participants"] for x in p["inputs"])
        assert ins == sorted(f"{display(i.prevout.hash)}:{i.prevout.n}" for i in tx.vin)
        if c["protocol"] == "whirlpool":
            assert len(tx.vin) == len(tx.vout) == 5 and len(vals) == 1
            assert next(iter(vals)) in (100_000, 1_000_000, 5_000_000, 50_000_000)
            assert all(bytes(o.scriptPubKey)[:2] == b"\x00\x14" for o in tx.vout)
            assert tx.nVersion == 1 and tx.nLockTime == 0
        elif c["protocol"] == "joinmarket":
            _, n = vals.most_common(1)[0]
            assert n == len(c["participants"]) and tx.nLockTime > 0
        elif c["protocol"].startswith("wasabi1"):
            base = min(v for v in vals if vals[v] >= 2 and 9_900_000 <= v <= 10_100_000)
            assert vals[base] >= 2
            assert all(bytes(o.scriptPubKey)[:2] == b"\x00\x14" for o in tx.vout)
        else:  # wasabi2: descending values, standard denominations except the odd remainder
            values = [o.nValue for o in tx.vout]
            assert values == sorted(values, reverse=True)


def test_mixer_handovers_are_chips(key):
    chips = {100_000 << k for k in range(14)}
    seen = 0
    for case in key["cases"]:
        for h in case["mixer_handovers"]:
            seen += 1
            assert h["withheld_sat"] < 100_000
    assert seen >= 1
    assert chips


def test_change_outputs_go_back_to_the_spender(view, key, tables, controller):
    txs = tables["txs"]
    n = 0
    for txid, ent, cv, cj in zip(txs["txid"], txs["entity_id"], txs["change_vout"], txs["coinjoin"]):
        if cv < 0 or cj:
            continue
        a = _addr(view, from_display(txid), cv)
        assert controller[a] == ent, txid
        n += 1
    assert n > 100
    listed = set(key["change_outputs"])
    assert len(listed) == sum(txs["n_change"])


def test_multi_input_ground_truth_holds_outside_coinjoins(view, key, tables, controller):
    """Every non-CoinJoin tx spends addresses of a single controller (the clustering ground truth)."""
    cj = {from_display(c["txid"]) for c in key["coinjoin_txs"]}
    multi = 0
    for b in view.blocks[1:]:
        for tx in b.vtx[1:]:
            if tx.GetTxid() in cj:
                continue
            owners = {controller[_addr(view, i.prevout.hash, i.prevout.n)] for i in tx.vin}
            assert len(owners) == 1
            multi += len(tx.vin) > 1
    assert multi > 20
    assert len(tables["addresses"]["address"]) == sum(e["address_count"] for e in key["entities"])

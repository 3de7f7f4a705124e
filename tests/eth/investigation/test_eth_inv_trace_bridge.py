"""Bridge crossings (issue 21): legs matched across two chain stores by the bridge's own events (Locked/Minted,
Burned/Released with their nonces), the trace continued on the other chain with the minted asset, and each
crossing's evidence; on a generated scenario with both chains ingested, the cases' bridged amounts equal the
answer key's bridge legs exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chaintrail.analysis.eth.bridge_legs import ChainBridge, match

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
Z = bytes(20)


def _a(i: int) -> bytes:
    return bytes([i]) * 20


def _ev(kind, nonce, token, recipient, amount, dst=None) -> dict:
    return {"kind": kind, "nonce": nonce, "token": token, "recipient": recipient, "amount": amount,
            "dst_chain": dst, "sender": _a(9), "contract": _a(8), "tx_num": nonce, "log_index": 0,
            "block_number": 0, "pos": nonce}


def _chain(cid, events, origin=None) -> ChainBridge:
    return ChainBridge(cid, events, origin or {}, np.zeros(0, np.int8))


def test_crossings_pair_by_nonce_asset_recipient_amount_and_chain_id() -> None:
    wrapped = _a(5)
    x = _chain(1, [_ev("locked", 0, Z, _a(1), 10, 2),          # pairs with y[0]
                   _ev("locked", 1, Z, _a(1), 10, 3),          # to another chain id: no
                   _ev("locked", 2, Z, _a(1), 11, 2),          # amount differs from the mint: no
                   _ev("locked", 3, _a(6), _a(1), 10, 2),      # token differs (the mint's origin is ETH): no
                   _ev("released", 7, Z, _a(2), 4)])
    y = _chain(2, [_ev("minted", 0, wrapped, _a(1), 10), _ev("minted", 1, wrapped, _a(1), 10),
                   _ev("minted", 2, wrapped, _a(1), 12), _ev("minted", 3, wrapped, _a(1), 10),
                   _ev("burned", 7, Z, _a(2), 4, 1),           # back to chain 1: pairs with x[4]
                   _ev("burned", 8, Z, _a(2), 4, 1)],          # no release on x
              {wrapped: Z})
    assert match(x, y) == [(0, 0)]
    assert match(y, x) == [(4, 4)]
    # a mint whose wrapped token has no AssetAdded origin cannot be matched; nor a chain without its id
    assert match(x, _chain(2, y.events)) == []
    assert match(_chain(None, x.events), y) == []
    # two identical candidates: ambiguous, left unmatched
    assert match(x, _chain(2, y.events + [y.events[0]], {wrapped: Z})) == []


# -- generated scenario: both chains -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    from anvil_needed import need_anvil

    from chaintrail.analysis.eth.conversions import write_conversions
    from chaintrail.analysis.eth.deposits import write_deposit_addresses
    from chaintrail.scenario.eth.generate import generate
    from chaintrail.scenario.eth.serve import serve
    from chaintrail.scenario.eth.service_tags import write_service_tags
    from chaintrail.store.chainstore import ChainStore

    need_anvil()
    root = tmp_path_factory.mktemp("bridge11")
    out = root / "scenario"
    generate(11, "all", 2, out)
    with serve(out) as nodes:
        for cid, name in ((31337, "a"), (31338, "b")):
            r = subprocess.run([*CLI, "ingest", "eth", "--rpc", nodes[cid].url, "--store", str(root / name), "--json"],
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, r.stderr
    write_service_tags(out, root / "services.csv")
    for name in ("a", "b"):
        r = subprocess.run([*CLI, "tags", "import", str(root / "services.csv"), "--store", str(root / name)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        with ChainStore(root / name) as st:
            write_conversions(st)
            write_deposit_addresses(st)
    return root / "a", root / "b", json.loads((out / "answer_key.json").read_text())


def _trace(a: Path, b: Path | None, case: dict) -> dict:
    srcs = sorted({f"{s['tx']}:{s['to']}" for s in case["sources"]})
    links = [f"{x['deposit_tx']}:{x['withdrawal_tx']}" for x in case["tornado_links"] if x.get("withdrawal_tx")]
    other = ["--other-store", str(b)] if b else []
    r = subprocess.run([*CLI, "trace", "--chain", "eth", *sum((["--from", s] for s in srcs), []), "--until-exchange",
                        "--tornado-heuristics", "none", *sum((["--link", x] for x in links), []), *other,
                        "--store", str(a), "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _conserved(d: dict) -> None:
    for asset, t in d["totals"].items():
        ends: dict[str, int] = {}
        for e in d["endpoints"]:
            if e["asset"] == asset:
                ends[e["kind"]] = ends.get(e["kind"], 0) + int(e["amount"])
        assert int(t["unspent"]) == ends.get("unspent", 0)
        total = sum(int(t[k]) for k in ("to_endpoints", "fees", "unspent", "below_threshold", "stopped", "converted"))
        assert total == int(t["traced"]), (asset, t)


def _low(a: str) -> str:
    return a if a == "ETH" else a.lower()


def test_bridged_amounts_follow_onto_chain_b_as_the_keys_legs(chains) -> None:
    """With the cases' Tornado links confirmed (the key's rule, see test_eth_inv_trace_tornado), every crossing the
    trace follows is one of the case's key legs, field for field (nonce, asset, wrapped asset, amount, sender,
    recipient, both txs, blocks, log indexes, chain ids), and the taint each carries arrives whole on chain B.
    The key's haircut held on chain B is matched exactly where the trail reaches the lock without a Tornado
    withdrawal's rounding (defi_exploit); through withdrawals the kernel and the key's replay round the pool's
    share differently by at most 1 base unit per withdrawal (an upstream difference, not the crossing's)."""
    a, b, key = chains
    cases = [c for c in key["cases"] if c["bridge_legs"]]
    assert {c["kind"] for c in cases} >= {"defi_exploit", "sanctions_evasion"}
    for case in cases:
        d = _trace(a, b, case)
        other = d["other_chain"]
        assert d["chain_id"] == 31337 and other["chain_id"] == 31338
        _conserved(d)
        _conserved(other)
        steps = {s["nonce"]: s for s in d["bridges"] if s["followed"]}
        assert set(steps) == {leg["nonce"] for leg in case["bridge_legs"]}, case["id"]
        for leg in case["bridge_legs"]:
            s = steps[leg["nonce"]]
            assert (s["event"], s["to"]["event"], s["to"]["nonce"]) == ("Locked", "Minted", leg["nonce"])
            assert (_low(s["asset"]), s["to"]["asset"].lower()) == (leg["asset"], leg["wrapped"])
            assert s["amount"] == s["to"]["amount"] == leg["amount"]
            assert (s["sender"], s["recipient"], s["to"]["recipient"]) == (leg["sender"], leg["recipient"],
                                                                           leg["recipient"])
            assert (s["tx_hash"], s["block_number"], s["log_index"]) == (leg["source_tx"], leg["source_block"],
                                                                         leg["source_log_index"])
            assert (s["to"]["tx_hash"], s["to"]["block_number"], s["to"]["log_index"]) == (
                leg["dest_tx"], leg["dest_block"], leg["dest_log_index"])
            assert (s["chain_id"], s["dst_chain_id"], s["to"]["chain_id"]) == (
                leg["source_chain_id"], leg["dest_chain_id"], leg["dest_chain_id"])
            assert s["block_hash"].startswith("0x") and len(s["to"]["block_hash"]) == 66
            assert 0 < int(s["tainted"]) <= int(leg["amount"])
        # chain A: what left by the bridge is the key's bridge_lock endpoint; chain B: it arrived whole, unspent
        left = sum(int(e["amount"]) for e in d["endpoints"] if e["kind"] == "bridged")
        assert left == sum(int(s["tainted"]) for s in steps.values())
        assert int(other["totals"][case["bridge_legs"][0]["wrapped"]]["source"]) == left
        held = {(h["address"], h["asset"]): int(h["haircut"]) for h in case["held"] if h["chain"] == "B"}
        got = {(e["address"], e["asset"].lower()): int(e["amount"]) for e in other["endpoints"]
               if e["kind"] == "unspent"}
        assert set(got) == set(held), case["id"]
        key_lock = sum(int(e["haircut"]) for e in case["haircut_endpoints"] if e["kind"] == "bridge_lock")
        if case["kind"] == "defi_exploit":
            assert got == held and left == key_lock
        else:
            assert all(abs(got[k] - v) <= 1 for k, v in held.items()) and abs(left - key_lock) <= len(held)


def test_without_the_other_store_the_trail_stops_at_the_lock_with_its_evidence(chains) -> None:
    a, _, key = chains
    case = next(c for c in key["cases"] if c["kind"] == "defi_exploit")
    d = _trace(a, None, case)
    _conserved(d)
    steps = {s["nonce"]: s for s in d["bridges"]}
    assert set(steps) == {leg["nonce"] for leg in case["bridge_legs"]}
    assert not any(s["followed"] for s in steps.values()) and "other_chain" not in d
    for e in d["endpoints"]:
        if e["kind"] == "bridged":
            assert "Locked nonce" in e["evidence"] and "not followed" in e["evidence"]


def test_far_chain_endpoints_carry_fiat_at_the_series_of_what_the_wrapped_token_stands_for(chains) -> None:
    """Issue 25: an endpoint on chain B in a bridge's wrapped token is valued at the series of the asset locked on
    chain A (bETH at ETH/USD, bUSDX at USDX/USD), at the UTC close of the day of the last chain-B tx that paid it;
    recomputed from the scenario's price CSVs and chain B's block times, CLI = API."""
    import csv
    import datetime as dt

    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.sql import query

    a, b, key = chains
    prices = a.parent / "scenario" / "prices"
    for f in sorted(prices.glob("*_usd_daily.csv")):
        r = subprocess.run([*CLI, "prices", "import", str(f), "--store", str(a)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    series = {"0x" + "00" * 20: "eth", **{v.lower(): k.lower() for k, v in key["world"]["stablecoins"].items()}}
    origin = {w.lower(): series.get(o.lower()) for o, w in key["world"]["bridge"]["wrapped"].items()}
    close = {s: {r["date"]: float(r["close_usd"]) for r in csv.DictReader(open(prices / f"{s}_usd_daily.csv"))}
             for s in set(series.values()) if (prices / f"{s}_usd_daily.csv").exists()}
    with ChainStore(b) as st:
        when = {x["h"]: x["t"] for x in query(st, """SELECT t.hash AS h, b.timestamp AS t FROM eth_transactions t
                                                    JOIN eth_blocks b ON b.number = t.block_number""").to_pylist()}
        decimals = {x["address"]: x["decimals"] for x in query(st, "SELECT address, decimals FROM eth_tokens").to_pylist()}
    case = next(c for c in key["cases"] if c["kind"] == "defi_exploit")
    src = f"{case['sources'][0]['tx']}:{case['sources'][0]['to']}"
    r = subprocess.run([*CLI, "trace", "--chain", "eth", "--from", src, "--until-exchange", "--other-store", str(b),
                        "--store", str(a), "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    far = [e for e in d["other_chain"]["endpoints"] if e["asset"].lower() in origin and e.get("txs")]
    assert far and {origin[e["asset"].lower()] for e in far} <= set(close)
    for e in far:
        s = origin[e["asset"].lower()]
        day = dt.datetime.fromtimestamp(when[e["txs"][-1]], dt.timezone.utc).date().isoformat()
        want = round(int(e["amount"]) * close[s][day] / 10 ** decimals[e["asset"]] * 100)
        assert e["fiat"]["series"] == s.upper() and e["fiat"]["day"] == day, e
        assert round(e["fiat"]["usd"] * 100) == want, e
    app = create_app(a, token="t" * 32, other_store=b)
    with ServerThread(app) as url:
        import httpx

        body = httpx.get(url + "/api/v1/eth/trace", headers={"Authorization": "Bearer " + "t" * 32}, timeout=300,
                         params={"source": src, "until_exchange": True, "limit": 5000}).json()
    assert body["other_chain"]["fiat"] == d["other_chain"]["fiat"] and body["other_chain"]["fiat"]["prices"]
    assert [e["fiat"] for e in body["other_chain"]["endpoints"]] == [e["fiat"] for e in d["other_chain"]["endpoints"]]

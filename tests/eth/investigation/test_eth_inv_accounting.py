"""Forensic accounting on Ethereum (issue 25): a generated chain's own price series, `chaintrail account --chain
eth` per asset, and fiat on Ethereum trace endpoints (CLI and API, one function).

Every figure is recomputed here from the scenario's price CSVs, the store's value flows (SQL) and the block
times, never with chaintrail's price or lot code. A stablecoin is valued at its own series: a program that
assumes 1.00 fails.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from eth_inv_served import cli, prepared_store, serve
from eth_inv_stores import scenario_store
from fifo_reference import fifo_reference

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

SEED = 11


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    store, key = prepared_store(tmp_path_factory, SEED)
    _, scenario, _ = scenario_store(tmp_path_factory, SEED)
    for f in sorted((scenario / "prices").glob("*_usd_daily.csv")):
        cli("prices", "import", str(f), "--store", str(store))
    return store, scenario, key


def closes(scenario: Path, asset: str) -> dict[str, float]:
    with open(scenario / "prices" / f"{asset.lower()}_usd_daily.csv") as f:
        return {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}


def day(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).date().isoformat()


def cents(amount: int, close: float, decimals: int) -> int:
    return round(amount * close / 10**decimals * 100)


def test_the_scenario_writes_its_own_eth_and_stablecoin_series(prepared, tmp_path):
    from chaintrail.scenario.eth.prices import write_eth_prices

    _, scenario, key = prepared
    stables = sorted(key["world"]["stablecoins"])
    assert stables == ["USDX", "USDY"]
    folder = scenario / "prices"
    assert sorted(p.name for p in folder.glob("*.csv")) == ["eth_usd_daily.csv", "usdx_usd_daily.csv",
                                                          "usdy_usd_daily.csv"]
    for name in ("eth", "usdx", "usdy"):
        assert "Synthetic series" in (folder / f"{name}_usd_daily.PROVENANCE.txt").read_text()
    # Deterministic: the same seed and days give the same bytes.
    days = sorted(closes(scenario, "ETH"))
    t0 = int(dt.datetime.fromisoformat(days[0]).replace(tzinfo=dt.timezone.utc).timestamp())
    t1 = int(dt.datetime.fromisoformat(days[-1]).replace(tzinfo=dt.timezone.utc).timestamp())
    for p in write_eth_prices(tmp_path, SEED, t0, t1, stables):
        assert p.read_bytes() == (folder / p.name).read_bytes()
    # Stablecoins are their own series, not 1.00.
    assert all(v != 1.0 for s in stables for v in closes(scenario, s).values())


def _balances(store: Path, account: str) -> dict[str, int]:
    with ChainStore(store) as st:
        rows = query(st, "SELECT asset, net_change FROM eth_balance_changes WHERE address = $a",
                     {"a": account}).to_pylist()
    return {r["asset"]: int(r["net_change"]) for r in rows}


def _flows(store: Path, account: str) -> list[dict]:
    """The account's value flows with block times (token items left out), from SQL over the store's views."""
    with ChainStore(store) as st:
        return query(st, """
            SELECT f.asset, f.from_address, f.to_address, f.amount, f.kind, b.timestamp AS time
            FROM eth_value_flows f JOIN eth_blocks b ON b.number = f.block_number
            WHERE (f.from_address = $a OR f.to_address = $a) AND f.token_id IS NULL
              AND f.from_address IS DISTINCT FROM f.to_address
            ORDER BY f.block_number, f.flow_index""", {"a": account}).to_pylist()


def test_account_per_asset_balances_values_and_fifo(prepared):
    store, scenario, key = prepared
    with ChainStore(store) as st:
        busiest = query(st, """SELECT address FROM eth_balance_changes WHERE asset <> 'ETH' AND net_change::BIGNUM > 0
                               ORDER BY flows DESC, address LIMIT 1""").to_pylist()[0]["address"]
        usdx = query(st, "SELECT address FROM eth_tokens WHERE address = $t",
                     {"t": key["world"]["stablecoins"]["USDX"]}).to_pylist()
    assert usdx
    r = cli("account", "--chain", "eth", busiest, "--store", str(store))
    bal = _balances(store, busiest)
    flows = _flows(store, busiest)
    stables = {v: k for k, v in key["world"]["stablecoins"].items()}
    assert {a["asset"] for a in r["assets"]} == {f["asset"] for f in flows}
    for a in r["assets"]:
        t = a["totals"]
        # coins: sources - uses = the account's net change (eth_balance_changes), exactly, in base units
        assert int(t["opening"]) + int(t["sources"]) - int(t["uses"]) == int(t["closing"]) == bal[a["asset"]]
        mine = [f for f in flows if f["asset"] == a["asset"]]
        ins = [f for f in mine if f["to_address"] == busiest]
        outs = [f for f in mine if f["from_address"] == busiest]
        assert int(t["sources"]) == sum(int(f["amount"]) for f in ins)
        series = "ETH" if a["asset"] == "ETH" or a["symbol"] == "WETH" else stables.get(a["asset"])
        if series is None:
            # LP shares and other tokens have no series: they say so and carry no fiat
            assert a["price_series"] is None and a["price_note"] and t["sources_cents"] == 0
            continue
        assert a["price_series"] == series
        close = closes(scenario, series)
        dec = a["decimals"]
        in_c = [cents(int(f["amount"]), close[day(f["time"])], dec) for f in ins]
        out_c = [cents(int(f["amount"]), close[day(f["time"])], dec) for f in outs]
        assert t["sources_cents"] == sum(in_c) and t["uses_cents"] == sum(out_c), a["asset"]
        if series != "ETH" and sum(int(f["amount"]) for f in ins) > 10**dec:
            # a stablecoin at 1.00 would be another figure
            assert t["sources_cents"] != sum(cents(int(f["amount"]), 1.0, dec) for f in ins)
        if int(t["closing"]) >= 0 and sum(int(f["amount"]) for f in outs) <= int(t["sources"]):
            cost = fifo_reference([(int(f["amount"]), c) for f, c in zip(ins, in_c)], [int(f["amount"]) for f in outs])
            assert [d["cost_cents"] for d in a["disposals"]] == cost
            assert t["realised_gain_cents"] == sum(out_c) - sum(cost)
            assert t["closing_cost_cents"] == sum(in_c) - sum(cost)
    assert "ETH" in {p["asset"] for p in r["prices"]}
    assert all("Synthetic series" in (p["source"] or "") for p in r["prices"]), r["prices"]


def test_eth_trace_endpoints_carry_fiat_in_cli_and_api(prepared):
    store, scenario, key = prepared
    case = key["cases"][0]
    src = case["sources"][0]["tx"]
    out = cli("trace", "--chain", "eth", "--from", src, "--until-exchange", "--store", str(store))
    assert out["fiat"]["currency"] == "USD" and out["fiat"]["prices"]
    with ChainStore(store) as st:
        t = {r["h"]: r["time"] for r in query(st, """SELECT x.hash AS h, b.timestamp AS time FROM eth_transactions x
                                                     JOIN eth_blocks b ON b.number = x.block_number""").to_pylist()}
        tokens = {r["address"]: (r["symbol"], r["decimals"]) for r in
                  query(st, "SELECT address, symbol, decimals FROM eth_tokens").to_pylist()}
    stables = {v: k for k, v in key["world"]["stablecoins"].items()}
    valued = 0
    for e in out["endpoints"]:
        f = e["fiat"]
        asset = e["asset"]
        series = "ETH" if asset == "ETH" or tokens.get(asset, (None,))[0] == "WETH" else stables.get(asset)
        if series is None or not e["txs"]:
            assert f["usd"] is None and f["missing"], e
            continue
        dec = 18 if asset == "ETH" else tokens[asset][1]
        d = day(t[e["txs"][-1]])
        assert f["day"] == d and round(f["usd"] * 100) == cents(int(e["amount"]), closes(scenario, series)[d], dec), e
        valued += 1
    assert valued
    with serve(store) as api:
        body = api.ok("/eth/trace", source=src, until_exchange=True, limit=5000)
        # the account schedules through the API are the CLI's
        who = next(e["address"] for e in out["endpoints"] if e["address"])
        acct = cli("account", "--chain", "eth", who, "--store", str(store))
        got = api.ok("/account", subject=who, chain="eth")
        assert got["assets"] == acct["assets"] and got["prices"] == acct["prices"]
    assert body["trace_hash"] == out["trace_hash"] and body["fiat"] == out["fiat"]
    assert [e["fiat"] for e in body["endpoints"]] == [e["fiat"] for e in out["endpoints"]]
    json.dumps(body)

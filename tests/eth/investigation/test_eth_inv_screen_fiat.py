"""Ethereum screening exposure in fiat (issue 25): each exposure's parts valued in their asset's series at the UTC
close of the day they reached the tagged account, in USD and EUR (the real ECB fixing), on generated seed 11.

The values are recomputed here from the price CSVs and the store's value flows (SQL), never with chaintrail's
price code; the API answers as the CLI does.
"""

from __future__ import annotations

from eth_inv_served import cli, serve
from test_eth_inv_accounting_entity import cents, closes, day, eur_fixing, prepared  # noqa: F401 (fixture)

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query


def test_direct_mixer_exposure_carries_usd_and_eur_of_each_deposit_on_its_day(prepared, shared_data):
    store, scenario, key = prepared
    case = next(c for c in key["cases"] if c["kind"] == "sanctions_evasion")
    pools = {p.lower() for p in key["world"]["pools"].values()}
    subject = sorted({ln["depositor"] for ln in case["tornado_links"]})[0]
    res = cli("screen", "--chain", "eth", subject, "--hops", "1", "--currency", "EUR", "--store", str(store))
    mix = [e for e in res["exposures"] if e["category"] == "mixer" and e["direction"] == "outgoing"]
    assert [e["asset"] for e in mix] == ["ETH"]
    e = mix[0]
    with ChainStore(store) as st:
        parts = query(st, """SELECT f.amount, b.timestamp AS time FROM eth_value_flows f
                             JOIN eth_blocks b ON b.number = f.block_number
                             WHERE f.from_address = $s AND list_contains($p, f.to_address) AND f.asset = 'ETH'
                               AND f.kind <> 'gas'""", {"s": subject, "p": sorted(pools)}).to_pylist()
    assert parts and sum(int(p["amount"]) for p in parts) == e["amount"] == e["direct"]
    close = closes(scenario / "prices" / "eth_usd_daily.csv")
    usd = [cents(int(p["amount"]), close[day(p["time"])], 18) for p in parts]
    eur = [round(c / eur_fixing(shared_data, day(p["time"]))) for c, p in zip(usd, parts)]
    f = e["fiat"]
    assert round(f["usd"] * 100) == sum(usd) and round(f["eur"] * 100) == sum(eur), f
    assert f["series"] == "ETH" and f["days"] == [min(day(p["time"]) for p in parts),
                                                  max(day(p["time"]) for p in parts)]
    assert res["fiat"]["currency"] == "EUR" and {p["asset"] for p in res["fiat"]["prices"]} == {"ETH", "EUR"}
    # the same through the API; USD only without a reporting currency
    with serve(store) as api:
        got = api.ok("/eth/screen", subject=subject, hops=1, currency="EUR")
        plain = api.ok("/eth/screen", subject=subject, hops=1)
    assert got["exposures"] == res["exposures"] and got["fiat"] == res["fiat"]
    e2 = next(x for x in plain["exposures"] if x["category"] == "mixer" and x["direction"] == "outgoing")
    assert round(e2["fiat"]["usd"] * 100) == sum(usd) and "eur" not in e2["fiat"]


def test_screen_eth_refuses_a_currency_without_a_series(prepared):
    store, _, key = prepared
    subject = key["world"]["pools"][sorted(key["world"]["pools"])[0]]
    assert cli("screen", "--chain", "eth", subject, "--currency", "JPY", "--store", str(store), ok=5) is None

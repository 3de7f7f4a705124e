"""Forensic-accounting rules a wrong program would break (issue 25), on hand-built movements and real price files.

Each figure is recomputed here from the CSV files in ../shared/data/prices with plain Python, never with
chaintrail's price or lot code:

* FIFO and specific identification give different costs, so different gains, for the same disposals;
* lots acquired and disposed of on different days at different closes: proceeds, cost and gain per use;
* EUR on a Saturday is the ECB's Friday fixing, and the figure says so;
* a day without a close is missing (reported, left out of fiat totals), never interpolated;
* `chaintrail prices import` stops at a bad row with file:line and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from fifo_reference import fifo_reference
from priced_store import priced_store
from typer.testing import CliRunner

from chaintrail.analysis.accounting import AccountParams, _schedules
from chaintrail.store.prices import PriceBook

DAY = 86_400


def series(path: Path) -> dict[str, float]:
    with open(path) as f:
        return {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}


def t(day: str, hour: int = 12) -> int:
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc).timestamp()) + hour * 3600


def cents(sat: int, close: float) -> int:
    return round(sat * close / 1e8 * 100)


@pytest.fixture(scope="module")
def store(tmp_path_factory, btc_data, shared_data) -> Path:
    """A real store (mainnet block 1) with the real BTC/USD, ETH/USD and ECB EUR/USD series imported."""
    return priced_store(tmp_path_factory.mktemp("acct-rules") / "store", btc_data, shared_data,
                        ("btc_usd_daily.csv", "eth_usd_daily.csv", "eur_usd_daily.csv"))


@pytest.fixture(scope="module")
def book(store) -> PriceBook:
    return PriceBook.open(store)


# Hand-built movements of one wallet: two receipts on two days, two spends on two later days.
#   tx1 2021-01-04 receives 1.00000000 BTC (output 101)
#   tx2 2021-02-08 receives 0.50000000 BTC (output 201)
#   tx3 2021-03-13 (a Saturday) spends output 201: 0.30000000 to an exchange, fee 0.00010000, change 0.19990000 (301)
#   tx4 2021-04-20 spends output 101: 0.60000000 to a merchant, fee 0.00010000, change 0.39990000 (401)
DAYS = {"tx1": "2021-01-04", "tx2": "2021-02-08", "tx3": "2021-03-13", "tx4": "2021-04-20"}


def movements():
    def base(n, name):
        return {"tx_num": n, "txid": name, "time": t(DAYS[name]), "height": n, "block_hash": f"b{n}"}
    flows = [
        {**base(1, "tx1"), "dir": "in", "sat": 100_000_000, "category": "untagged", "name": "A", "cluster": 7},
        {**base(2, "tx2"), "dir": "in", "sat": 50_000_000, "category": "untagged", "name": "B", "cluster": 8},
        {**base(3, "tx3"), "dir": "out", "sat": 30_000_000, "category": "exchange", "name": "X", "cluster": 9},
        {**base(3, "tx3"), "dir": "out", "sat": 10_000, "category": "network fee", "name": "fees", "cluster": None},
        {**base(4, "tx4"), "dir": "out", "sat": 60_000_000, "category": "untagged", "name": "Y", "cluster": 10},
        {**base(4, "tx4"), "dir": "out", "sat": 10_000, "category": "network fee", "name": "fees", "cluster": None},
    ]
    spends = [
        {**base(1, "tx1"), "e_in": 0, "e_out": 100_000_000, "mine_ins": [], "mine_outs": [(101, 100_000_000)]},
        {**base(2, "tx2"), "e_in": 0, "e_out": 50_000_000, "mine_ins": [], "mine_outs": [(201, 50_000_000)]},
        {**base(3, "tx3"), "e_in": 50_000_000, "e_out": 19_990_000, "mine_ins": [201], "mine_outs": [(301, 19_990_000)]},
        {**base(4, "tx4"), "e_in": 100_000_000, "e_out": 39_990_000, "mine_ins": [101],
         "mine_outs": [(401, 39_990_000)]},
    ]
    return flows, spends


def schedule(book, lots="fifo", currency="USD") -> dict:
    flows, spends = movements()
    return _schedules({"kind": "address", "id": "hand-built", "addresses": 1}, AccountParams(lots=lots, currency=currency),
                      currency, book, flows, spends, None, None, 0)


def split(cost: int, parts: list[int]) -> list[int]:
    """A spent output's cost shared over what the tx paid (uses, then change), floors telescoping."""
    total, run, prev, out = sum(parts), 0, 0, []
    for p in parts:
        run += p
        out.append(cost * run // total - prev)
        prev = cost * run // total
    return out


def test_fifo_and_specific_identification_give_different_gains_across_days(book, shared_data):
    close = series(shared_data / "prices" / "btc_usd_daily.csv")
    c1, c2 = cents(100_000_000, close[DAYS["tx1"]]), cents(50_000_000, close[DAYS["tx2"]])
    uses = [(30_000_000, "tx3"), (10_000, "tx3"), (60_000_000, "tx4"), (10_000, "tx4")]
    proceeds = [cents(s, close[DAYS[tx]]) for s, tx in uses]
    # FIFO: the first uses take from the 2021-01-04 lot, though tx3 spent the 2021-02-08 output.
    fifo_cost = fifo_reference([(100_000_000, c1), (50_000_000, c2)], [s for s, _ in uses])
    # Specific identification: tx3 spent output 201 (tx2's lot), tx4 output 101 (tx1's lot).
    spec_cost = split(c2, [30_000_000, 10_000, 19_990_000])[:2] + split(c1, [60_000_000, 10_000, 39_990_000])[:2]
    for method, cost in (("fifo", fifo_cost), ("specific", spec_cost)):
        r = schedule(book, method)
        got = [(d["sat"], d["fiat_cents"], d["cost_cents"], d["gain_cents"]) for d in r["disposals"]]
        assert got == [(s, p, c, p - c) for (s, _), p, c in zip(uses, proceeds, cost)], method
        tt = r["totals"]
        assert tt["realised_gain_cents"] == sum(p - c for p, c in zip(proceeds, cost))
        assert tt["sources_cents"] == c1 + c2 and tt["uses_cents"] == sum(proceeds)
        # cost still held = cost received - cost disposed, to the cent; coins likewise
        assert tt["closing_cost_cents"] == c1 + c2 - sum(cost)
        assert tt["closing_sat"] == 150_000_000 - sum(s for s, _ in uses) == 59_980_000
    gains = {m: schedule(book, m)["totals"]["realised_gain_cents"] for m in ("fifo", "specific")}
    assert gains["fifo"] != gains["specific"]
    # The 2021-01-04 lot was cheaper than the 2021-02-08 one: FIFO's tx3 gain is the larger.
    assert schedule(book, "fifo")["disposals"][0]["gain_cents"] > schedule(book, "specific")["disposals"][0]["gain_cents"]


def test_eur_on_a_saturday_is_fridays_fixing_and_says_so(book, shared_data):
    close = series(shared_data / "prices" / "btc_usd_daily.csv")
    eur = series(shared_data / "prices" / "eur_usd_daily.csv")
    assert dt.date.fromisoformat(DAYS["tx3"]).weekday() == 5 and DAYS["tx3"] not in eur
    r = schedule(book, "fifo", "EUR")
    tx3 = [f for f in r["flows"] if f["txid"] == "tx3"]
    for f in tx3:
        p = f["price"]
        assert p["day"] == "2021-03-13" and p["price_usd"] == close["2021-03-13"]     # the BTC close of Saturday
        assert p["fx_day"] == "2021-03-12" and p["fx_usd_per_unit"] == eur["2021-03-12"]
        assert "2021-03-12" in p["fx_note"] and "2021-03-13" in p["fx_note"] and "working days" in p["fx_note"]
        assert f["fiat_cents"] == round(cents(f["sat"], close["2021-03-13"]) / eur["2021-03-12"])
    # A working day uses its own fixing and carries no note.
    tx1 = next(f for f in r["flows"] if f["txid"] == "tx1")
    assert "fx_note" not in tx1["price"] and tx1["price"]["fx_usd_per_unit"] == eur["2021-01-04"]
    assert {p["asset"] for p in r["prices"]} == {"BTC", "EUR"}


def test_a_missing_day_is_missing_not_interpolated(book, shared_data):
    from chaintrail.store.prices import exposure_fiat

    eth = series(shared_data / "prices" / "eth_usd_daily.csv")
    assert "2015-08-09" not in eth and "2015-08-08" in eth and "2015-08-10" in eth
    v = book.value("ETH", [10**18, 10**18, 10**18], [t("2015-08-08"), t("2015-08-09"), t("2015-08-10")],
                   decimals=18)
    rows = [v.row(i) for i in range(3)]
    assert rows[0]["usd"] == round(eth["2015-08-08"], 2) and rows[2]["usd"] == round(eth["2015-08-10"], 2)
    assert rows[1]["usd"] is None and rows[1]["price_usd"] is None
    assert rows[1]["missing"] == "no close for 2015-08-09 in the price series"
    f = exposure_fiat(book, [10**18, 10**18], [t("2015-08-08"), t("2015-08-09")], asset="ETH", decimals=18)
    assert f["usd"] is None and "2015-08-09" in f["missing"]
    # In a schedule: a BTC movement before the series starts has no fiat value and is named as missing.
    flows, spends = movements()
    flows[1]["time"] = spends[1]["time"] = t("2010-07-17")          # the BTC series starts 2010-07-18
    r = _schedules({"kind": "address", "id": "x", "addresses": 1}, AccountParams(), "USD", book, flows, spends,
                   None, None, 0)
    assert r["missing_prices"] == ["2010-07-17"] and r["fiat_complete"] is False
    assert next(f for f in r["flows"] if f["txid"] == "tx2")["fiat_cents"] is None
    close = series(shared_data / "prices" / "btc_usd_daily.csv")
    assert r["totals"]["sources_cents"] == cents(100_000_000, close[DAYS["tx1"]])     # left out, not estimated


def test_prices_import_bad_row_names_file_and_line_and_writes_nothing(store, tmp_path):
    from chaintrail.cli.main import app

    before = PriceBook.open(store).get("BTC")
    n_before = len(before.days)
    bad = tmp_path / "btc_usd_daily.csv"
    bad.write_text("date,close_usd\n2021-01-01,29000.5\n2021-01-02,31000\n2021-01-03,not-a-price\n2021-01-04,1\n")
    r = CliRunner().invoke(app, ["prices", "import", str(bad), "--store", str(store), "--source", "test",
                                 "--licence", "none"])
    assert r.exit_code == 2, r.output
    assert f"{bad.name}:4: close 'not-a-price'" in r.output and len(r.output.strip().splitlines()) == 1
    after = PriceBook.open(store).get("BTC")
    assert len(after.days) == n_before and (after.close == before.close).all()   # nothing written
    # A day twice, and a day out of order: refused the same way.
    for text, line in (("date,close_usd\n2021-01-01,1\n2021-01-01,2\n", 3),
                       ("date,close_usd\n2021-01-02,1\n2021-01-01,2\n", 3)):
        bad.write_text(text)
        r = CliRunner().invoke(app, ["prices", "import", str(bad), "--store", str(store), "--source", "t",
                                     "--licence", "n"])
        assert r.exit_code == 2 and f"{bad.name}:{line}" in r.output, r.output
    assert len(PriceBook.open(store).get("BTC").days) == n_before

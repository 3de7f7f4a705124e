"""Fiat beside coin amounts everywhere (issue 25): CLI trace, API trace and CSV, screening, entity summaries.

Every figure is recomputed here from the price files in ../shared/data/prices, the amounts and the block times,
never from chaintrail's price code: USD cents = round(sat x close / 1e8 x 100) per output on its UTC day; a
reporting currency = round(USD cents / USD-per-unit), the ECB fixing of the day or of the last working day
before it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from ct_workbench import DEMO_TRACE
from typer.testing import CliRunner

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query


def _series(path) -> dict[str, float]:
    with open(path) as f:
        return {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def closes(shared_data) -> dict[str, float]:
    return _series(shared_data / "prices" / "btc_usd_daily.csv")


@pytest.fixture(scope="module")
def eur(shared_data) -> dict[str, float]:
    return _series(shared_data / "prices" / "eur_usd_daily.csv")


def day(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).date().isoformat()


def fixing(eur: dict[str, float], d: str) -> tuple[str, float]:
    """The ECB fixing of day ``d`` or of the last day before it that has one."""
    x = dt.date.fromisoformat(d)
    while x.isoformat() not in eur:
        x -= dt.timedelta(days=1)
    return x.isoformat(), eur[x.isoformat()]


def times(store: str, txids: list[str]) -> dict[str, int]:
    with ChainStore(store) as st:
        rows = query(st, "SELECT t.txid, b.time FROM txs t JOIN blocks b ON b.hash = t.block_hash "
                         "WHERE list_contains($t, t.txid)", {"t": sorted(set(txids))}).to_pylist()
    return {r["txid"]: r["time"] for r in rows}


def expected_endpoint(store, e, closes, eur) -> tuple[int, int, set[str]]:
    """(USD cents, EUR cents, fixing notes) of one endpoint: each output on its own tx's day."""
    txids = [o.split(":")[0] for o in e["outputs"]]
    t = times(store, txids)
    usd = eurc = 0
    notes = set()
    for x, a in zip(txids, e["output_amounts"]):
        d = day(t[x])
        c = round(a * closes[d] / 1e8 * 100)
        fd, fx = fixing(eur, d)
        usd += c
        eurc += round(c / fx)
        if fd != d:
            notes.add((fd, d))
    return usd, eurc, notes


def cli(*args: str) -> str:
    from chaintrail.cli import _common
    from chaintrail.cli.main import app

    # the console takes its width once, when first imported (by whichever test came first): set it for this run
    width = _common.console.width
    _common.console.width = 300
    try:
        r = CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "300"})
    finally:
        _common.console.width = width
    assert r.exit_code == 0, r.output
    return r.output


def _trace_args(demo) -> list[str]:
    args = ["trace", "--store", demo.store, "--from", demo.subject, "--max-hops", str(DEMO_TRACE["max_hops"]),
            "--mixer-policy", DEMO_TRACE["mixer_policy"]]
    for s in DEMO_TRACE["stop"]:
        args += ["--stop-category", s]
    return args


def test_cli_trace_json_carries_the_api_fiat_in_eur(demo, demo_api, closes, eur):
    out = json.loads(cli(*_trace_args(demo), "--json", "--currency", "EUR"))
    api = demo_api.ok("/trace", source=demo.subject, **DEMO_TRACE, limit=5000, currency="EUR", steps=True,
                      graph=False)
    assert out["trace_hash"] == api["trace_hash"]
    assert out["fiat"] == api["fiat"] and out["fiat"]["currency"] == "EUR"
    assert {p["asset"] for p in out["fiat"]["prices"]} == {"BTC", "EUR"}
    by_key = {(e["address"], tuple(e["outputs"])): e["fiat"] for e in api["endpoints"]}
    assert len(by_key) == len(out["endpoints"])
    weekend = 0
    for e in out["endpoints"]:
        assert e["fiat"] == by_key[(e["address"], tuple(e["outputs"]))]
        if not e["outputs"] or "output_amounts" not in e:
            continue
        usd, eurc, notes = expected_endpoint(demo.store, e, closes, eur)
        assert round(e["fiat"]["usd"] * 100) == usd, e
        assert round(e["fiat"]["eur"] * 100) == eurc, e
        for fd, d in notes:       # a weekend or holiday: the earlier fixing is used, and said to be used
            weekend += 1
            assert any(fd in n and d in n for n in e["fiat"]["fx_notes"]), e["fiat"]
    # The steps carry each tx's day and BTC close, the same in both.
    t = times(demo.store, [s["txid"] for s in api["steps"]])
    assert out["steps"] == [{k: v for k, v in s.items()} for s in api["steps"]]
    for s in api["steps"]:
        assert s["day"] == day(t[s["txid"]]) and s["price_usd"] == closes[s["day"]]
    # The CSV export carries the same values, and the EUR column with the fixing's note.
    r = demo_api.get("/trace", source=demo.subject, **DEMO_TRACE, format="csv", currency="EUR")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(out["endpoints"])
    for row, e in zip(rows, api["endpoints"]):
        assert row["value_usd"] == f"{e['fiat']['usd']:.2f}" and row["value_eur"] == f"{e['fiat']['eur']:.2f}"
        assert row["fx_note"] == " ".join(e["fiat"].get("fx_notes", []))


def test_cli_trace_table_shows_fiat_and_uah_is_refused(demo):
    text = cli(*_trace_args(demo), "--currency", "EUR")
    assert "value USD (day)" in text and "value EUR (day)" in text and "Coin Metrics" in text, text
    assert "UTC daily close" in text and "European Central Bank" in text
    from chaintrail.cli.main import app

    r = CliRunner().invoke(app, [*_trace_args(demo), "--json", "--currency", "UAH"])
    assert r.exit_code == 5 and "no UAH price series" in r.output


def cents(sat: int, close: float) -> int:
    return round(sat * close / 1e8 * 100)


def _valued(store: str, sql: str, params: dict, closes) -> tuple[int, int]:
    """(sats, USD cents) of the rows (value_sat, time) the SQL gives, each on its own UTC day."""
    with ChainStore(store) as st:
        rows = query(st, sql, params).to_pylist()
    return sum(r["value_sat"] for r in rows), sum(cents(r["value_sat"], closes[day(r["time"])]) for r in rows)


def test_entity_and_address_summaries_carry_fiat(demo, demo_api, closes, eur):
    a = demo_api.ok(f"/addresses/{demo.subject}")
    cid = a["cluster"]
    ent = demo_api.ok(f"/entities/{cid}", currency="EUR")
    f = ent["fiat"]
    assert f["currency"] == "EUR" and f["convention"].startswith("UTC daily close")
    recv_sat, recv_c = _valued(demo.store, """
        SELECT o.value_sat, b.time FROM outputs o JOIN clusters c USING (address) JOIN txs t ON t.txid = o.txid
        JOIN blocks b ON b.hash = t.block_hash WHERE c.cluster = $c""", {"c": cid}, closes)
    sent_sat, sent_c = _valued(demo.store, """
        SELECT i.value_sat, b.time FROM inputs i JOIN clusters c USING (address) JOIN txs t ON t.txid = i.txid
        JOIN blocks b ON b.hash = t.block_hash WHERE c.cluster = $c AND i.value_sat IS NOT NULL""", {"c": cid},
                               closes)
    assert (recv_sat, sent_sat) == (ent["received_sat"], ent["sent_sat"])
    assert round(f["received"]["usd"] * 100) == recv_c and round(f["sent"]["usd"] * 100) == sent_c
    with ChainStore(demo.store) as st:
        tip = query(st, "SELECT max(time) AS t FROM blocks").to_pylist()[0]["t"]
    d = day(tip)
    bal = cents(ent["balance_sat"], closes[d])
    assert f["balance"]["day"] == d and round(f["balance"]["usd"] * 100) == bal
    fd, fx = fixing(eur, d)
    assert round(f["balance"]["eur"] * 100) == round(bal / fx)
    # The CLI's entity summary is the API's.
    out = json.loads(cli("entity", "show", f"cluster:{cid}", "--store", demo.store, "--json", "--currency", "EUR"))
    assert out == ent
    text = cli("entity", "show", demo.subject, "--store", demo.store)
    assert f"{f['received']['usd']:,.2f} USD" in text
    # The address's transactions page: each row's USD at its day's close.
    page = demo_api.ok(f"/addresses/{demo.subject}/txs", limit=1000)
    for it in page["items"]:
        d = day(it["time"])
        assert it["fiat"]["day"] == d and it["fiat"]["price_usd"] == closes[d]
        assert round(it["fiat"]["received_usd"] * 100) == cents(it["received_sat"], closes[d])
        assert round(it["fiat"]["sent_usd"] * 100) == cents(it["sent_sat"], closes[d])


def test_screening_exposure_carries_fiat(demo, demo_api, closes):
    api = demo_api.ok("/screen", subject=demo.subject)
    out = json.loads(cli("screen", demo.subject, "--store", demo.store, "--json"))
    assert out["exposures"] == api["exposures"]
    flows = [e for e in api["exposures"] if e["direction"] != "self"]
    assert flows
    for e in flows:
        f = e["fiat"]
        lo, hi = (dt.date.fromisoformat(x) for x in f["days"])
        prices = [closes[(lo + dt.timedelta(days=k)).isoformat()] for k in range((hi - lo).days + 1)]
        # Each part is valued on its own day: the sum lies within the day range's closes (a cent per part).
        assert cents(e["amount_sat"], min(prices)) - 100 <= round(f["usd"] * 100) <= \
            cents(e["amount_sat"], max(prices)) + 100, (e, prices)
        if lo == hi:
            assert abs(round(f["usd"] * 100) - cents(e["amount_sat"], prices[0])) <= 50, e
    # Self exposure of a tagged exchange address: every output it received, on its own day.
    with ChainStore(demo.store) as st:
        tagged = query(st, """SELECT t.address, count(*) AS n FROM tags t JOIN outputs o USING (address)
                              WHERE list_contains(t.risk_categories, 'exchange') GROUP BY 1 ORDER BY 2 DESC, 1
                              LIMIT 1""").to_pylist()[0]["address"]
    sc = demo_api.ok("/screen", subject=tagged, currency="EUR")
    own = next(e for e in sc["exposures"] if e["direction"] == "self")
    sat, c = _valued(demo.store, """SELECT o.value_sat, b.time FROM outputs o JOIN txs t ON t.txid = o.txid
                                    JOIN blocks b ON b.hash = t.block_hash WHERE o.address = $a""",
                     {"a": tagged}, closes)
    assert own["amount_sat"] == sat and round(own["fiat"]["usd"] * 100) == c and own["fiat"]["eur"] is not None
    text = cli("screen", demo.subject, "--store", demo.store, "--currency", "EUR")
    assert "value USD" in text and "value EUR" in text


def test_entity_member_rows_carry_fiat(demo, demo_api, closes):
    """Each member of a page: USD of what it received and sent, every output and input on its own tx's day, summed
    per member (recomputed by SQL over outputs and inputs)."""
    cid = demo_api.ok(f"/addresses/{demo.subject}")["cluster"]
    page = demo_api.ok(f"/entities/{cid}/members", limit=20)
    assert page["items"]
    for m in page["items"]:
        recv_sat, recv_c = _valued(demo.store, """
            SELECT o.value_sat, b.time FROM outputs o JOIN txs t ON t.txid = o.txid
            JOIN blocks b ON b.hash = t.block_hash WHERE o.address = $a""", {"a": m["address"]}, closes)
        sent_sat, sent_c = _valued(demo.store, """
            SELECT i.value_sat, b.time FROM inputs i JOIN txs t ON t.txid = i.txid
            JOIN blocks b ON b.hash = t.block_hash WHERE i.address = $a AND i.value_sat IS NOT NULL""",
            {"a": m["address"]}, closes)
        assert (recv_sat, sent_sat) == (m["received_sat"], m["sent_sat"])
        assert round(m["fiat"]["received_usd"] * 100) == recv_c and round(m["fiat"]["sent_usd"] * 100) == sent_c, m

"""Forensic accounting on the demo case (issue 25): fiat values recomputed here from the price file and amounts.

The demo imports the real BTC/USD series (../shared/data/prices). Each figure is recomputed in this file from
that CSV, the answer key's amounts and the block times, never from chaintrail's price code.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest

from chaintrail.api.demo_case import pick_case
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query


@pytest.fixture(scope="module")
def closes(shared_data) -> dict[str, float]:
    with open(shared_data / "prices" / "btc_usd_daily.csv") as f:
        return {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}


def cents(sat: int, close: float) -> int:
    """The stated rule: coins x close of the UTC day, to the cent per transaction."""
    return round(sat * close / 1e8 * 100)


def money(c: int) -> str:
    return f"{c / 100:,.2f} USD"


def times(store: str, txids: list[str]) -> dict[str, int]:
    with ChainStore(store) as st:
        rows = query(st, "SELECT t.txid, b.time FROM txs t JOIN blocks b ON b.hash = t.block_hash "
                         "WHERE list_contains($t, t.txid)", {"t": txids}).to_pylist()
    return {r["txid"]: r["time"] for r in rows}


def day(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).date().isoformat()


@pytest.fixture(scope="module")
def case_and_report(demo, demo_api, tmp_path_factory):
    from chaintrail.cases.demo import open_demo_case
    from chaintrail.cases.report import build_report
    from chaintrail.cases.repository import CaseRepository

    key = json.loads(Path(demo.answer_key).read_text())
    case, expected = pick_case(demo_api.app.state.wb.view, key)
    db = tmp_path_factory.mktemp("acct") / "cases.sqlite"
    with CaseRepository.open(str(db)) as repo:
        p = repo.ensure_operator("Demo Agency", "analyst")
        ref = open_demo_case(repo, p, demo.store, demo.answer_key, demo.case_id, demo.subject)
        text = build_report(repo, p, ref, "html").decode()
        findings = repo.case(p, ref).findings
    return case, expected, text, findings


def _rows(text: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", " ", r)) for r in re.findall(r"<tr>.*?</tr>", text, re.S)]


def test_report_states_the_ransom_and_each_cash_out_in_usd_on_its_day(demo, case_and_report, closes):
    case, expected, text, findings = case_and_report
    pays = case["victim_payments"]
    t = times(demo.store, [v["txid"] for v in pays])
    plain = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for v in pays:
        d = day(t[v["txid"]])
        want = f"{v['value_sat'] / 1e8:.8f} BTC on {d} = {money(cents(v['value_sat'], closes[d]))}"
        assert want in plain, want
    # Each cash-out the trace reached at an exchange: each output it reached valued on its own tx's day, summed.
    rows = _rows(text)
    trace = next(f for f in findings if f["kind"] == "trace")["result"]
    cash_outs = [e for e in trace["endpoints"] if any(x.startswith("exchange:") for x in e["tags"])]
    assert {x["exchange"] for x in expected} <= {x.split(":", 1)[1] for e in cash_outs for x in e["tags"]}
    for e in cash_outs:
        txids = [o.split(":")[0] for o in e["outputs"]]
        t = times(demo.store, txids)
        assert sum(e["output_amounts"]) == e["amount_sat"]
        total = sum(cents(a, closes[day(t[x])]) for x, a in zip(txids, e["output_amounts"]))
        row = [r for r in rows if e["address"] in r and "USD" in r]
        assert row, e["address"]
        assert money(total) in row[0] and all(day(t[x]) in row[0] for x in txids), (row[0], money(total))
    assert "UTC close" in plain and "Coin Metrics" in plain and "FIFO" in plain   # methodology names them


def test_ransom_wallet_sources_minus_uses_is_its_holdings(demo, case_and_report, closes):
    case, _, _, findings = case_and_report
    acct = next(f for f in findings if f["kind"] == "account")["result"]
    t = acct["totals"]
    # Coins: sources - uses = holdings at the end, and the holdings are the entity's unspent outputs (SQL).
    assert t["opening_sat"] + t["sources_sat"] - t["uses_sat"] == t["closing_sat"]
    cluster = int(acct["subject"]["id"].split(":")[1])
    with ChainStore(demo.store) as st:
        utxo = query(st, """SELECT coalesce(sum(o.value_sat), 0)::BIGINT AS v FROM outputs o JOIN clusters c
                            USING (address) WHERE c.cluster = $c AND o.spent_by_txid IS NULL""",
                     {"c": cluster}).to_pylist()[0]["v"]
    assert t["closing_sat"] == utxo
    # Fiat: in cents, exactly, at the stated prices.
    assert t["opening_cost_cents"] + t["sources_cents"] - t["uses_cents"] + t["realised_gain_cents"] \
        == t["closing_cost_cents"]
    # The sources are the victims' payments, each valued here from the price file.
    pays = case["victim_payments"]
    tt = times(demo.store, [v["txid"] for v in pays])
    assert t["sources_sat"] == sum(v["value_sat"] for v in pays)
    assert t["sources_cents"] == sum(cents(v["value_sat"], closes[day(tt[v["txid"]])]) for v in pays)
    assert sum(g["fiat_cents"] for g in acct["uses"]) == t["uses_cents"]
    assert acct["prices"][0]["file"] == "btc_usd_daily.csv" and acct["convention"].startswith("UTC")


def test_account_finding_reproduces_and_api_agrees(demo, demo_api, case_and_report):
    from chaintrail.cases.findings import rerun

    _, _, _, findings = case_and_report
    f = next(f for f in findings if f["kind"] == "account")
    with ChainStore(demo.store) as st:
        assert rerun(st, f).reproduced
    api = demo_api.ok("/account", subject=f["spec"]["subject"])
    assert api["totals"] == f["result"]["totals"]
    eur = demo_api.ok("/account", subject=f["spec"]["subject"], currency="EUR")
    assert eur["currency"] == "EUR" and {p["asset"] for p in eur["prices"]} == {"BTC", "EUR"}
    r = demo_api.get("/account", subject=f["spec"]["subject"], currency="UAH")
    assert r.status_code == 400 and "no UAH price series" in r.json()["error"]

"""Ethereum forensic accounting of entities, in a reporting currency, as CSV, as a case finding and in the workbench
(issue 25), on generated seed 11 with its own price series and the real ECB EUR/USD fixing.

Every figure is recomputed here from the price CSVs, the entity file (analysis/eth_clusters.parquet read with
pyarrow), the store's value flows (SQL) and the block times, never with chaintrail's price or lot code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from eth_inv_served import CLI, TOKEN, cli, prepared_store, serve
from eth_inv_stores import scenario_store

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

SEED = 11


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, shared_data):
    store, key = prepared_store(tmp_path_factory, SEED)
    _, scenario, _ = scenario_store(tmp_path_factory, SEED)
    for f in sorted((scenario / "prices").glob("*_usd_daily.csv")):
        cli("prices", "import", str(f), "--store", str(store))
    cli("prices", "import", str(shared_data / "prices" / "eur_usd_daily.csv"), "--asset", "EUR", "--store", str(store))
    return store, scenario, key


def closes(path: Path) -> dict[str, float]:
    with open(path) as f:
        return {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}


def day(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).date().isoformat()


def cents(amount: int, close: float, decimals: int) -> int:
    return round(amount * close / 10**decimals * 100)


def eur_fixing(shared_data: Path, d: str) -> float:
    """The ECB's USD per EUR on ``d`` or the last working day before it."""
    rates = closes(shared_data / "prices" / "eur_usd_daily.csv")
    return rates[max(k for k in rates if k <= d)]


def busiest_entity(store: Path) -> tuple[int, set[str], int]:
    """(entity id, its accounts, flows between them) of the entity with the most flows between its own accounts."""
    t = pq.read_table(store / "analysis" / "eth_clusters.parquet").to_pydict()
    with ChainStore(store) as st:
        addr = {r["addr_num"]: r["address"]
                for r in query(st, "SELECT addr_num, address FROM eth_addresses").to_pylist()}
        flows = query(st, "SELECT from_address, to_address FROM eth_value_flows WHERE from_address <> to_address"
                          " AND token_id IS NULL").to_pylist()
    members: dict[int, set[str]] = {}
    for n, c in zip(t["addr_num"], t["cluster_id"]):
        if n in addr:
            members.setdefault(c, set()).add(addr[n])
    best = max((c for c, m in members.items() if len(m) > 1),
               key=lambda c: sum(f["from_address"] in members[c] and f["to_address"] in members[c] for f in flows))
    internal = sum(f["from_address"] in members[best] and f["to_address"] in members[best] for f in flows)
    return best, members[best], internal


def test_entity_schedules_per_asset_equal_its_accounts_flows(prepared):
    store, scenario, key = prepared
    cid, members, internal = busiest_entity(store)
    assert internal > 0          # a program that counts transfers between its own accounts must fail here
    r = cli("account", "--chain", "eth", f"cluster:{cid}", "--store", str(store))
    assert r["subject"] == {"kind": "entity", "id": f"cluster:{cid}", "chain": "eth", "addresses": len(members)}
    with ChainStore(store) as st:
        flows = query(st, """SELECT f.asset, f.from_address, f.to_address, f.amount, b.timestamp AS time
                             FROM eth_value_flows f JOIN eth_blocks b ON b.number = f.block_number
                             WHERE f.token_id IS NULL AND f.from_address IS DISTINCT FROM f.to_address""").to_pylist()
        net = query(st, "SELECT address, asset, net_change FROM eth_balance_changes").to_pylist()
        tokens = {x["address"]: x["symbol"] for x in query(st, "SELECT address, symbol FROM eth_tokens").to_pylist()}
    stables = {v: k for k, v in key["world"]["stablecoins"].items()}
    ins = [f for f in flows if f["to_address"] in members and f["from_address"] not in members]
    outs = [f for f in flows if f["from_address"] in members and f["to_address"] not in members]
    for a in r["assets"]:
        t = a["totals"]
        held = sum(int(x["net_change"]) for x in net if x["address"] in members and x["asset"] == a["asset"])
        assert int(t["opening"]) == 0 and int(t["closing"]) == held, a["asset"]
        i = [f for f in ins if f["asset"] == a["asset"]]
        o = [f for f in outs if f["asset"] == a["asset"]]
        assert int(t["sources"]) == sum(int(f["amount"]) for f in i)
        assert int(t["uses"]) == sum(int(f["amount"]) for f in o)
        assert sum(g["flows"] for g in a["sources"]) == len(i) and sum(g["flows"] for g in a["uses"]) == len(o)
        series = "ETH" if a["asset"] == "ETH" or tokens.get(a["asset"]) == "WETH" else stables.get(a["asset"])
        if series is None:
            assert a["price_series"] is None and a["price_note"] and t["sources_cents"] == 0
            continue
        close = closes(scenario / "prices" / f"{series.lower()}_usd_daily.csv")
        dec = a["decimals"]
        assert t["sources_cents"] == sum(cents(int(f["amount"]), close[day(f["time"])], dec) for f in i)
        assert t["uses_cents"] == sum(cents(int(f["amount"]), close[day(f["time"])], dec) for f in o)
        if series != "ETH":     # stated: a generated chain's token is priced by its symbol, as a fallback
            assert "fallback" in a["price_note"] and "chain 31337" in a["price_note"]
    # the same through the API
    with serve(store) as api:
        got = api.ok("/account", subject=f"cluster:{cid}", chain="eth")
    assert got["assets"] == r["assets"] and got["subject"] == r["subject"]


def test_eur_trace_and_account_csv_through_the_api(prepared, shared_data):
    store, scenario, key = prepared
    src = key["cases"][0]["sources"][0]["tx"]
    out = cli("trace", "--chain", "eth", "--from", src, "--until-exchange", "--currency", "EUR", "--store", str(store))
    with ChainStore(store) as st:
        when = {x["h"]: x["time"] for x in query(st, """SELECT t.hash AS h, b.timestamp AS time FROM eth_transactions t
                                                         JOIN eth_blocks b ON b.number = t.block_number""").to_pylist()}
        decimals = {x["address"]: x["decimals"]
                    for x in query(st, "SELECT address, decimals FROM eth_tokens").to_pylist()}
    with serve(store) as api:
        body = api.ok("/eth/trace", source=src, until_exchange=True, currency="EUR", limit=5000)
        text = api.get("/eth/trace", source=src, until_exchange=True, currency="EUR", format="csv").text
        who = next(e["address"] for e in out["endpoints"] if e["address"] and e["fiat"].get("usd"))
        acct = api.ok("/account", subject=who, chain="eth", currency="EUR")
        acct_csv = api.get("/account", subject=who, chain="eth", currency="EUR", format="csv").text
    assert body["fiat"] == out["fiat"] and body["fiat"]["currency"] == "EUR"
    assert [e["fiat"] for e in body["endpoints"]] == [e["fiat"] for e in out["endpoints"]]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(out["endpoints"]) and "value_eur" in rows[0]
    valued = 0
    for e, row in zip(out["endpoints"], rows):
        f = e["fiat"]
        if f.get("usd") is None:
            assert row["value_usd"] == "" and row["missing"], row
            continue
        d = day(when[e["txs"][-1]])
        series = f["series"]
        dec = 18 if e["asset"] == "ETH" else decimals[e["asset"]]
        usd = cents(int(e["amount"]), closes(scenario / "prices" / f"{series.lower()}_usd_daily.csv")[d], dec)
        assert round(f["usd"] * 100) == usd and row["value_usd"] == f"{usd / 100:.2f}", e
        eur = round(usd / eur_fixing(shared_data, d))
        assert round(f["eur"] * 100) == eur and row["value_eur"] == f"{eur / 100:.2f}", e
        assert (row["day"], row["asset"], row["amount_base"]) == (d, e["asset"], e["amount"])
        valued += 1
    assert valued
    # the account's CSV: one row per movement of every asset, its EUR cents the JSON's
    arows = list(csv.DictReader(io.StringIO(acct_csv)))
    flows = [(a, f) for a in acct["assets"] for f in a["flows"]]
    assert len(arows) == len(flows) > 0
    for row, (a, f) in zip(arows, flows):
        assert (row["asset"], row["amount_base"], row["tx_hash"], row["direction"]) == \
            (a["asset"], f["amount"], f["tx_hash"] or "", f["dir"])
        assert row["value_eur"] == ("" if f["fiat_cents"] is None else f"{f['fiat_cents'] / 100:.2f}")
        if a["price_series"]:
            close = closes(scenario / "prices" / f"{a['price_series'].lower()}_usd_daily.csv")[f["day"]]
            usd = cents(int(f["amount"]), close, a["decimals"])
            assert row["value_usd"] == f"{usd / 100:.2f}"
            assert f["fiat_cents"] == round(usd / eur_fixing(shared_data, f["day"]))


def _case(store, *args, db, ok=0):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINTRAIL_USER")}
    r = subprocess.run([*CLI, "case", *args, "--store", str(store), "--db", str(db), "--json"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == ok, r.stderr
    return json.loads(r.stdout) if ok == 0 and r.stdout.strip() else r


def test_account_and_eur_trace_findings_reproduce_and_reach_the_report(prepared, tmp_path):
    from chaintrail.cases.eth_findings import eth_account_finding

    store, scenario, key = prepared
    cid, members, _ = busiest_entity(store)
    db = tmp_path / "cases.sqlite"
    ref = _case(store, "new", "Accounts", db=db)["ref"]
    saved = _case(store, "finding", "account", ref, "--chain", "eth", f"cluster:{cid}", "--currency", "EUR", db=db)
    with ChainStore(store) as st:
        want = eth_account_finding(st, f"cluster:{cid}", currency="EUR")
        usd = eth_account_finding(st, f"cluster:{cid}")
    assert saved["finding_hash"] == want["finding_hash"] != usd["finding_hash"]
    src = key["cases"][0]["sources"][0]["tx"]
    tr_eur = _case(store, "finding", "trace", ref, "--chain", "eth", "--from", src, "--until-exchange",
                   "--currency", "EUR", db=db)
    tr_usd = _case(store, "finding", "trace", ref, "--chain", "eth", "--from", src, "--until-exchange", db=db)
    assert tr_eur["finding_hash"] != tr_usd["finding_hash"]
    view = _case(store, "show", ref, db=db)
    by_id = {f["id"]: f for f in view["findings"]}
    acct, eur_trace = by_id[saved["id"]], by_id[tr_eur["id"]]
    assert acct["kind"] == "eth_account" and acct["params"]["currency"] == "EUR"
    assert eur_trace["params"]["currency"] == "EUR" and "currency" not in by_id[tr_usd["id"]]["params"]
    assert all("eur" in e["fiat"] for e in eur_trace["result"]["endpoints"] if e["fiat"].get("usd") is not None)
    with ChainStore(store) as st:   # the blocks of every movement in or out of the entity, by SQL
        blocks = {x["h"] for x in query(st, """
            SELECT DISTINCT b.hash AS h FROM eth_value_flows f JOIN eth_blocks b ON b.number = f.block_number
            WHERE (list_contains($m, f.from_address) OR list_contains($m, f.to_address)) AND f.token_id IS NULL
              AND f.from_address IS DISTINCT FROM f.to_address
              AND NOT (list_contains($m, coalesce(f.from_address, ''))
                       AND list_contains($m, coalesce(f.to_address, '')))""",
            {"m": sorted(members)}).to_pylist()}
    assert set(acct["block_hashes"]) == blocks
    for fid in (saved["id"], tr_eur["id"]):
        assert _case(store, "finding", "rerun", ref, str(fid), db=db)["reproduced"]
    # the court report states each asset's sources in EUR as the finding holds them; the package exports
    out = tmp_path / "report.html"
    _case(store, "report", ref, "--format", "html", "--out", str(out), db=db)
    html = out.read_text()
    assert "Forensic accounting of the Ethereum entity" in html and f"cluster:{cid}" in html
    for a in acct["result"]["assets"]:
        if a["price_series"]:
            assert f"{a['totals']['sources_cents'] / 100:,.2f} EUR" in html, a["asset"]
    assert "Gain and loss on uses (FIFO)" in html and "<svg" in html
    _case(store, "export", ref, "--out", str(tmp_path / "pkg.zip"), db=db)
    assert (tmp_path / "pkg.zip").stat().st_size > 0


def units(amount: str, decimals: int | None, symbol: str) -> str:
    """format.js fmtUnits (English): thousands separators, trailing zeros cut, the symbol."""
    n = int(amount)
    if decimals is None:
        return f"{n:,} base units of {symbol}"
    whole, frac = divmod(abs(n), 10**decimals)
    f = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{'-' if n < 0 else ''}{whole:,}" + (f".{f}" if f else "") + f" {symbol}"


def money(c: int | None, cur: str) -> str:
    """format.js fmtCents (English)."""
    if c is None:
        return "no price"
    return f"{'-' if c < 0 else ''}{abs(c) // 100:,}.{abs(c) % 100:02d} {cur}"


def test_workbench_account_tab_shows_an_ethereum_entity_per_asset(prepared):
    """In a real headless Chromium: the entity's Account tab, opened from one of its accounts, holds the API's
    figures cell for cell per asset (amounts in the asset's units, fiat beside them), one chart point per balance;
    EUR asked in the form gives the API's EUR figures."""
    from playwright.sync_api import sync_playwright

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail("Debian chromium is missing: run `bash scripts/setup.sh` (it installs it)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
    store = prepared[0]
    cid, members, _ = busiest_entity(store)

    def rows(pg, testid: str, asset: str) -> list[list[str]]:
        return [[c.strip() for c in r.locator("td").all_inner_texts()]
                for r in pg.locator(f'[data-testid="{testid}"][data-asset="{asset}"] tbody tr').all()]

    with serve(store) as api, sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=flags, headless=True)
        pg = b.new_page(viewport={"width": 1600, "height": 1000})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.set_default_timeout(60_000)
        pg.goto(f"{api.url}/#token={TOKEN}")
        pg.wait_for_selector('body[data-ready="1"]')
        pg.fill("#search-input", sorted(members)[0])
        pg.click("#search-btn")
        pg.wait_for_selector('[data-testid="eth-account"]')
        pg.click("#btn-eth-entity-account")
        # the entity's own answer (the account's, asked first, may still be on its way)
        pg.wait_for_function("(id) => (document.querySelector('[data-testid=\"account-head\"]') || {}).innerText"
                             "?.includes(id)", arg=f"cluster:{cid}")
        pg.wait_for_selector('[data-testid="account-totals"][data-asset="ETH"] tbody tr')
        want = api.ok("/account", subject=f"cluster:{cid}", chain="eth")
        assert f"cluster:{cid}" in pg.inner_text('[data-testid="account-head"]')
        for a in want["assets"]:
            unit, dec, t, cur = a["symbol"] or a["asset"], a["decimals"], a["totals"], "USD"
            priced = a["price_series"] is not None

            def fiat(c, unpriced=0, priced=priced):
                return money(c if priced and not unpriced else None, cur)
            assert rows(pg, "account-totals", a["asset"]) == [
                ["opening", units(t["opening"], dec, unit), fiat(t["opening_cost_cents"])],
                ["+ sources", units(t["sources"], dec, unit), fiat(t["sources_cents"])],
                ["− uses", units(t["uses"], dec, unit), fiat(t["uses_cents"])],
                ["+ realised gain", "", fiat(t["realised_gain_cents"])],
                ["= closing", units(t["closing"], dec, unit), fiat(t["closing_cost_cents"])],
                [f"closing at market ({t['closing_day']})", "", money(t["closing_market_cents"], cur)]], a["asset"]
            for testid, key in (("account-sources", "sources"), ("account-uses", "uses")):
                assert rows(pg, testid, a["asset"]) == [
                    [g["category"], g["name"], str(g["flows"]), units(g["amount"], dec, unit),
                     fiat(g["fiat_cents"], g["unpriced"])] for g in a[key]], (a["asset"], key)
            chart = pg.locator(f'[data-testid="account-chart"][data-asset="{a["asset"]}"]')
            assert int(chart.get_attribute("data-points")) == len(a["balance"]) > 0
            assert chart.locator("circle").evaluate_all("cs => cs.map(c => c.getAttribute('data-balance'))") == \
                [x["balance"] for x in a["balance"]]
        # EUR from the form: the API's EUR cents beside the same amounts
        pg.select_option("#account-currency", "EUR")
        pg.click("#account-run")
        pg.wait_for_selector('[data-testid="account-totals"][data-asset="ETH"] td:has-text("EUR")')
        eur = api.ok("/account", subject=f"cluster:{cid}", chain="eth", currency="EUR")
        eth = next(a for a in eur["assets"] if a["asset"] == "ETH")
        assert rows(pg, "account-totals", "ETH")[1] == ["+ sources", units(eth["totals"]["sources"], 18, "ETH"),
                                                       money(eth["totals"]["sources_cents"], "EUR")]
        assert "European Central Bank" in pg.inner_text('[data-testid="account-prices"]')
        b.close()
    assert errors == []

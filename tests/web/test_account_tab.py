"""The workbench's Account tab and fiat beside coins (issue 25), in a real headless Chromium.

The tab's figures must be the API's (GET /account, the same as `chaintrail account`), cell for cell, and the
chart must draw one point per balance the API gives; the address and entity panels and the screening table
show the USD value beside each coin amount, recomputed here from the price file.
"""

from __future__ import annotations

import csv
import datetime as dt

from headless import browser  # noqa: F401
from test_browser import page, wait_attr  # noqa: F401


def money(cents: int | None, cur: str) -> str:
    """The UI's fiat format (format.js fmtCents, English)."""
    if cents is None:
        return "no price"
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100:,}.{abs(cents) % 100:02d} {cur}"


def btc(sat: int) -> str:
    whole, frac = divmod(abs(sat), 10**8)
    return f"{'-' if sat < 0 else ''}{whole:,}.{frac:08d} BTC"


def rows(page, testid: str) -> list[list[str]]:
    return [[c.strip() for c in r.locator("td").all_inner_texts()]
            for r in page.locator(f'[data-testid="{testid}"] tbody tr').all()]


def open_subject(page, demo):
    page.fill("#search-input", demo.subject)
    page.click("#search-btn")
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) == 1)
    page.wait_for_selector("#tab-details .kv")


def test_account_tab_equals_the_api(page, demo, demo_api):
    open_subject(page, demo)
    page.click("#btn-account")
    page.wait_for_selector('[data-testid="account-totals"] tbody tr')
    api = demo_api.ok("/account", subject=demo.subject)
    t, cur = api["totals"], "USD"
    assert rows(page, "account-totals") == [
        ["opening", btc(t["opening_sat"]), money(t["opening_cost_cents"], cur)],
        ["+ sources", btc(t["sources_sat"]), money(t["sources_cents"], cur)],
        ["− uses", btc(t["uses_sat"]), money(t["uses_cents"], cur)],
        ["+ realised gain", "", money(t["realised_gain_cents"], cur)],
        ["= closing", btc(t["closing_sat"]), money(t["closing_cost_cents"], cur)],
        [f"closing at market ({t['closing_day']})", "", money(t["closing_market_cents"], cur)]]
    for testid, key in (("account-sources", "sources"), ("account-uses", "uses")):
        assert rows(page, testid) == [[g["category"], g["name"], str(g["txs"]), btc(g["sat"]),
                                       money(None if g["unpriced"] else g["fiat_cents"], cur)] for g in api[key]]
    assert rows(page, "account-monthly") == [[m["month"], btc(m["receipts_sat"]), money(m["receipts_cents"], cur),
                                              btc(m["disbursements_sat"]), money(m["disbursements_cents"], cur)]
                                             for m in api["monthly"]]
    assert rows(page, "account-gains") == [[d["day"], btc(d["sat"]), money(d["fiat_cents"], cur),
                                            money(d["cost_cents"], cur), money(d["gain_cents"], cur)]
                                           for d in api["disposals"]]
    # The chart: one point per balance, each at the API's balance.
    chart = page.locator('[data-testid="account-chart"]')
    assert int(chart.get_attribute("data-points")) == len(api["balance"]) > 0
    assert [int(x) for x in chart.locator("circle").evaluate_all("cs => cs.map(c => c.getAttribute('data-balance'))")] \
        == [b["balance_sat"] for b in api["balance"]]
    assert "Coin Metrics" in page.inner_text('[data-testid="account-prices"]')
    # Every day has a price, so there is no warning; and nothing else stands in its place (a null handed to
    # replaceChildren would show as the text "null").
    assert api["missing_prices"] == [] and page.locator("#account-result .warnbox").count() == 0
    assert page.evaluate("() => [...document.querySelector('#account-result').childNodes]"
                         ".filter((n) => n.nodeType !== Node.ELEMENT_NODE).map((n) => n.textContent)") == []
    # EUR and specific identification, asked in the form, are the API's too.
    page.select_option("#account-currency", "EUR")
    page.select_option("#account-lots", "specific")
    page.click("#account-run")
    page.wait_for_selector('[data-testid="account-head"]:has-text("specific identification")')
    eur = demo_api.ok("/account", subject=demo.subject, currency="EUR", lots="specific")
    got = rows(page, "account-totals")
    assert got[1] == ["+ sources", btc(eur["totals"]["sources_sat"]), money(eur["totals"]["sources_cents"], "EUR")]
    assert got[3][2] == money(eur["totals"]["realised_gain_cents"], "EUR")
    assert "European Central Bank" in page.inner_text('[data-testid="account-prices"]')
    assert page.errors == []


def test_fiat_beside_coins_in_address_entity_and_screening(page, demo, demo_api, shared_data):
    with open(shared_data / "prices" / "btc_usd_daily.csv") as f:
        close = {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}
    open_subject(page, demo)
    a = demo_api.ok(f"/addresses/{demo.subject}")
    details = page.inner_text("#tab-details")
    assert f"{btc(a['received_sat'])} · {money(round(a['fiat']['received']['usd'] * 100), 'USD')}" in details
    # Each tx row: net USD at the close of its own day, recomputed from the price file.
    page.wait_for_selector('[data-testid="tx-fiat"]')
    items = demo_api.ok(f"/addresses/{demo.subject}/txs", limit=50)["items"]
    cells = page.locator('[data-testid="tx-fiat"]').all()
    assert len(cells) == len(items)
    for cell, it in zip(cells, items):
        d = dt.datetime.fromtimestamp(it["time"], dt.timezone.utc).date().isoformat()
        net = round(it["received_sat"] * close[d] / 1e6) - round(it["sent_sat"] * close[d] / 1e6)
        assert cell.inner_text() == money(net, "USD"), (it, d)
        assert d in cell.get_attribute("title")
    # Screening: USD beside each exposure.
    page.click("#btn-screen")
    page.wait_for_selector('[data-testid="screen-fiat"]')
    sc = demo_api.ok("/screen", subject=demo.subject, hops=3)
    flows = [e for e in sc["exposures"] if e["direction"] != "self"]
    assert page.locator('[data-testid="screen-fiat"]').all_inner_texts() == \
        [money(round(e["fiat"]["usd"] * 100), "USD") for e in flows]
    # The entity panel.
    ent = demo_api.ok(f"/entities/{a['cluster']}")
    page.click("#tab-details a")
    page.wait_for_selector("#tab-details .members")
    text = page.inner_text("#tab-details")
    assert f"{btc(ent['balance_sat'])} · {money(round(ent['fiat']['balance']['usd'] * 100), 'USD')}" in text
    assert page.errors == []

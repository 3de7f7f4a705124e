"""The guided demo case in Ukrainian, in a real headless Chromium: the picker switches the workbench's language
(remembered across reloads), the banner's steps search and trace, and the exchange endpoints show Ukrainian
labels with amounts written the Ukrainian way (1 234,56789012 BTC), each equal to the answer key's."""

from __future__ import annotations

import pytest
from headless import browser  # noqa: F401

from chaintrail.i18n import fmt_btc



def plain(s: str) -> str:
    return " ".join(s.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_guided_case_in_ukrainian(browser, demo, demo_api):
    from chaintrail.api.demo_case import traceable_cash_outs
    from test_browser import expected_cash_outs

    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(20_000)
    pg.goto(f"{demo_api.url}/#token={demo_api.app.state.token}")
    pg.wait_for_selector('body[data-ready="1"]')
    assert pg.inner_text("#search-btn") == "Search"
    pg.select_option("#lang-picker", "uk")                       # reloads the page in Ukrainian
    pg.wait_for_selector('html[lang="uk"] body[data-ready="1"]')
    assert pg.inner_text("#search-btn") == "Пошук"
    assert pg.inner_text('#tabs button[data-tab="trace"]') == "Відстеження"
    assert pg.get_attribute("#btn-expand", "title") == "Додати транзакції або контрагентів вибраного вузла"
    case, _ = expected_cash_outs(demo, demo_api)
    ransom = case["victim_payments"][0]
    banner = plain(pg.inner_text("#case-banner"))
    assert f"Навчальна справа {demo.case_id}" in banner
    assert plain(f"жертва сплатила на неї {fmt_btc(int(ransom['value_sat']), 'uk')}") in banner
    links = pg.locator("#case-steps a")
    assert links.count() == 3 and links.nth(0).inner_text() == "виконати"
    links.nth(0).click()                                           # search the ransom address
    pg.wait_for_selector("#tab-details h3")
    assert "отримано" in pg.inner_text("#tab-details")
    links.nth(1).click()                                           # trace it, demixing
    pg.wait_for_selector("#endpoint-table tbody tr")
    expected = traceable_cash_outs(demo_api.app.state.wb.view, case, through_mixer=True)
    head = pg.inner_text("#endpoint-table thead")
    assert "сума" in head and "адреса" in head and "кроки" in head
    assert "Досягнуті сервіси (куди надсилати правовий запит):" in pg.inner_text("#trace-result")
    assert plain(pg.inner_text("#trace-totals")).startswith("відстежено ")
    for e in expected:                                             # every cash-out, its amount the uk way
        row = pg.locator(f'#endpoint-table tbody tr[data-address="{e["address"]}"]')
        assert int(row.get_attribute("data-amount")) == e["amount_sat"]
        shown = plain(row.locator("td.amount").inner_text())
        assert shown == plain(fmt_btc(e["amount_sat"], "uk")), shown
        assert "," in shown and "." not in shown
    kinds = pg.locator('#endpoint-table tbody tr[data-kind="tagged"] td:first-child').all_inner_texts()
    assert kinds and set(kinds) == {"позначена"}
    links.nth(2).click()                                           # read the endpoints
    assert pg.locator("#tab-trace").is_visible()
    pg.reload()                                                    # the choice is remembered
    pg.wait_for_selector('html[lang="uk"] body[data-ready="1"]')
    assert pg.input_value("#lang-picker") == "uk"
    assert errors == []
    ctx.close()


def test_screening_reasons_in_ukrainian_equal_the_catalogs(browser, demo, demo_api):
    """The screen panel writes each reason from the API's parts through the web catalog, as the CLI does through
    the Python one: the same Ukrainian words and numbers; the API's text stays English."""
    from chaintrail.analysis.risk_words import display
    from chaintrail.i18n import use_language

    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(20_000)
    pg.goto(f"{demo_api.url}/?lang=uk#token={demo_api.app.state.token}")
    pg.wait_for_selector('html[lang="uk"] body[data-ready="1"]')
    pg.fill("#search-input", demo.subject)
    pg.click("#search-btn")
    pg.wait_for_selector("#tab-details #btn-screen")
    with pg.expect_response(lambda r: "/screen?" in r.url) as answer:
        pg.click("#btn-screen")
    reasons = answer.value.json()["risk"]["reasons"]
    pg.wait_for_selector('[data-testid="risk-level"]')
    shown = [plain(x) for x in pg.locator(".screen-result ul li").all_inner_texts()]
    assert len(shown) == len(reasons) and any(r["category"] for r in reasons), reasons
    with use_language("uk"):
        want = [plain(f"{_LEVEL_UK[r['level']]} " + display([(p["template"], p["values"]) for p in r["parts"]]))
                for r in reasons]
    assert shown == want
    flows = [s for s, r in zip(shown, reasons) if r["parts"][0]["template"].startswith("flow_")]
    assert flows and all(" BTC (" in s and " сат)" in s and "категорії «" in s for s in flows), flows
    assert all(" BTC (" in r["text"] and " sat)" in r["text"] for r in reasons if r["parts"][0]["template"]
               .startswith("flow_"))                                           # the API's own text: English
    assert errors == []
    ctx.close()


_LEVEL_UK = {"low": "низький", "medium": "середній", "high": "високий", "severe": "критичний"}

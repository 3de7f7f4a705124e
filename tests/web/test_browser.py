"""The workbench in a real headless Chromium (Debian's, installed by scripts/setup.sh), driven by Playwright.

An investigator's first minutes on the demo: search the ransom address,
expand it, trace it, and read the exchange endpoints. The answer key says
which exchanges received how much; every cash-out a chain trace can reach
(those not behind the custodial mixer, see ``traceable_cash_outs``) must be on
the page with its exact amount. A screenshot is saved
(``$CHAINTRAIL_SCREENSHOTS`` or the test's temporary folder).
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path

import pytest
from headless import browser  # noqa: F401



def btc(sat: int) -> str:
    """The UI's amount format (format.js fmtBTC)."""
    whole, frac = divmod(sat, 10**8)
    return f"{whole:,}.{frac:08d} BTC"


@pytest.fixture
def page(browser, demo_api):
    import httpx

    if not httpx.get(demo_api.url + "/healthz").json()["ui_vendor_built"]:
        pytest.fail("the web UI's libraries are not built: run `bash scripts/setup.sh` (npm ci + npm run build)")
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.set_default_timeout(20_000)
    pg.goto(f"{demo_api.url}/#token={demo_api.app.state.token}")
    pg.wait_for_selector('body[data-ready="1"]')
    yield pg
    ctx.close()


def wait_attr(pg, selector: str, attr: str, ok, timeout: float = 20.0) -> str:
    """Poll an attribute until ``ok(value)`` (no script runs in the page: its CSP stays on)."""
    end = time.monotonic() + timeout
    while True:
        v = pg.get_attribute(selector, attr)
        if v is not None and ok(v):
            return v
        if time.monotonic() > end:
            raise AssertionError(f"{selector}[{attr}] is {v!r}")
        pg.wait_for_timeout(100)


def expected_cash_outs(demo, demo_api) -> list[dict]:
    from chaintrail.api.demo_case import pick_case

    key = json.loads(Path(demo.answer_key).read_text())
    case, expected = pick_case(demo_api.app.state.wb.view, key)
    assert case["id"] == demo.case_id and expected
    return case, expected


def usd_on_the_day(demo, demo_api, e: dict, shared_data: Path) -> str:
    """The endpoint's USD value recomputed from the price file: each output the trace reached valued at the close
    of its own tx's UTC day (the outputs from the API's trace with the UI's defaults)."""
    import datetime as dt

    from ct_workbench import DEMO_TRACE

    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.sql import query

    cluster = demo_api.ok(f"/addresses/{demo.subject}")["cluster"]
    r = demo_api.ok("/trace", source=f"cluster:{cluster}", limit=5000, **DEMO_TRACE)
    ep = next(x for x in r["endpoints"] if x["address"] == e["address"])
    txids = [o.split(":")[0] for o in ep["outputs"]]
    with open(shared_data / "prices" / "btc_usd_daily.csv") as f:
        close = {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}
    with ChainStore(demo.store) as st:
        t = {r["txid"]: r["time"] for r in query(st, "SELECT t.txid, b.time FROM txs t JOIN blocks b ON "
                                                     "b.hash = t.block_hash WHERE list_contains($t, t.txid)",
                                                 {"t": txids}).to_pylist()}
    amounts = ep.get("output_amounts") or [ep["amount_sat"]]
    assert sum(amounts) == e["amount_sat"]
    cents = sum(round(a * close[dt.datetime.fromtimestamp(t[x], dt.timezone.utc).date().isoformat()] / 1e8 * 100)
                for x, a in zip(txids, amounts))
    return f"{cents / 100:,.2f} USD"


def test_search_expand_trace_shows_the_answer_key_exchanges(page, demo, demo_api, tmp_path, shared_data):
    case, expected = expected_cash_outs(demo, demo_api)
    assert demo.case_id in page.inner_text("#case-banner")
    # 1. search the ransom address
    page.fill("#search-input", demo.subject)
    page.click("#search-btn")
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) == 1)
    page.wait_for_selector("#tab-details .kv")
    assert demo.subject in page.inner_text("#tab-details")
    # 2. expand it: its transactions join the canvas
    page.click("#btn-expand")
    n = int(wait_attr(page, "#cy", "data-nodes", lambda v: int(v) > 1))
    assert n >= 2
    # 3. trace it (the ransom wallet: the entity holding every ransom payment), passing mixes through as
    # DEMO_TRACE does: the cash-outs a chain trace reaches without the mixer's records (demix: the guided steps)
    page.click('#tabs button[data-tab="trace"]')
    page.select_option("#trace-mixer", "haircut")
    page.click("#btn-trace")
    page.wait_for_selector("#endpoint-table tbody tr")
    wait_attr(page, "#cy", "data-endpoints", lambda v: int(v) > 0)
    totals = page.inner_text("#trace-totals")
    assert f"traced {btc(case['source_total_sat'])}" in totals
    assert page.inner_text("#trace-rules").startswith("split by:")    # the rule each step applied, counted
    for e in expected:
        row = page.locator(f'#endpoint-table tr[data-address="{e["address"]}"]')
        assert row.count() == 1, e
        assert row.get_attribute("data-kind") == "tagged"
        assert e["exchange"] in row.inner_text()
        assert row.locator("td.amount").inner_text() == btc(e["amount_sat"])
        assert int(row.get_attribute("data-amount")) == e["amount_sat"]
        # Fiat beside the coins (issue 25): USD at the UTC close of the day, from the real BTC/USD file.
        fiat = row.locator("td.fiat")
        assert fiat.inner_text() == usd_on_the_day(demo, demo_api, e, shared_data), e
        assert "UTC close of" in fiat.get_attribute("title")
    services = page.inner_text('[data-testid="services"]')
    for e in expected:
        assert e["exchange"] in services
    shots = Path(os.environ.get("CHAINTRAIL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "workbench-demo-trace.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")
    # The endpoint table exports as CSV with the same rows and amounts.
    with page.expect_download() as dl:
        page.click("#trace-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    by_addr = {r["address"]: int(r["amount_sat"]) for r in rows if r["kind"] == "tagged"}
    assert all(by_addr[e["address"]] == e["amount_sat"] for e in expected)
    # ... and as PNG, as does the canvas.
    for button in ("#trace-png", "#btn-png"):
        with page.expect_download() as dl:
            page.click(button)
        assert Path(dl.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.errors == []


def test_timeline_notes_and_case(page, demo, demo_api):
    page.fill("#search-input", demo.subject)
    page.click("#search-btn")
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) == 1)
    page.click("#btn-expand")
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) > 1)
    # Timeline: one row per transaction on the canvas, in time order.
    page.click('#tabs button[data-tab="timeline"]')
    page.wait_for_selector("#timeline-list tbody tr")
    times = page.locator("#timeline-list tbody tr td:first-child").all_inner_texts()
    assert times == sorted(times) and len(times) == int(page.get_attribute("#cy", "data-nodes")) - 1
    with page.expect_download() as dl:
        page.click("#timeline-png")
    assert Path(dl.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A note on the selected node shows in its details.
    page.click('#tabs button[data-tab="details"]')
    page.click("#btn-note")
    page.fill("#note-text", "paid by victim 1; ask the exchange for KYC")
    page.click("#note-save")
    page.wait_for_selector('[data-testid="node-note"]')
    assert "ask the exchange for KYC" in page.inner_text('[data-testid="node-note"]')
    # Add to case: the case file on the server gets the subject.
    page.click("#btn-case")
    page.click('#tabs button[data-tab="case"]')
    page.wait_for_selector("#case-items tr")
    assert demo.subject in page.inner_text("#case-items")
    if demo_api.app.state.features["cases"]:
        page.wait_for_selector('[data-testid="case-remote"]')
        assert "1 subjects" in page.inner_text('[data-testid="case-remote"]')
    assert page.errors == []


def test_guided_steps_do_what_they_say(page, demo, demo_api):
    """The banner's "do it" links: search the ransom address, then trace it, demixing: every cash-out of
    the answer key, those behind the chip mixer too, at its exact amount."""
    from chaintrail.api.demo_case import traceable_cash_outs

    case, direct = expected_cash_outs(demo, demo_api)
    expected = traceable_cash_outs(demo_api.app.state.wb.view, case, through_mixer=True)
    assert sum(e["amount_sat"] for e in expected) > sum(e["amount_sat"] for e in direct)   # the mixer's share too
    links = page.locator("#case-steps a")
    assert links.count() == 3
    links.nth(0).click()
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) == 1)
    links.nth(1).click()
    page.wait_for_selector("#endpoint-table tbody tr")
    assert page.input_value("#trace-mixer") == "demix"
    rows = page.locator('#endpoint-table tbody tr[data-address]').all()
    amounts = {r.get_attribute("data-address"): int(r.get_attribute("data-amount")) for r in rows}
    tagged = {r.get_attribute("data-address") for r in rows if r.get_attribute("data-kind") == "tagged"}
    # Realistic tags know only part of each exchange's deposit addresses: a cash-out to one neither tagged
    # nor yet swept into the exchange is an endpoint at its exact amount, but not a tagged one.
    assert all(amounts.get(e["address"]) == e["amount_sat"] for e in expected)
    assert len(tagged & {e["address"] for e in expected}) >= 2
    links.nth(2).click()
    assert page.locator("#tab-trace").is_visible()
    assert page.errors == []


def test_mixers_default_is_the_cli_and_api_default(page, demo):
    """The Trace tab's Mixers starts where `chaintrail trace` and GET /trace start when not told (demix forward,
    haircut backward), follows the direction until the investigator picks one, and the trace it sends says so."""
    from urllib.parse import parse_qs, urlsplit

    from chaintrail.analysis.tracing import TraceParams

    forward, backward = TraceParams(direction="forward").mixer_policy, TraceParams(direction="backward").mixer_policy
    assert (forward, backward) == ("demix", "haircut")
    page.click('#tabs button[data-tab="trace"]')
    assert page.input_value("#trace-direction") == "forward" and page.input_value("#trace-mixer") == forward
    page.select_option("#trace-direction", "backward")
    assert page.input_value("#trace-mixer") == backward
    page.select_option("#trace-direction", "forward")
    assert page.input_value("#trace-mixer") == forward
    page.select_option("#trace-mixer", "stop")            # picked by hand: kept both ways
    page.select_option("#trace-direction", "backward")
    assert page.input_value("#trace-mixer") == "stop"
    page.select_option("#trace-direction", "forward")
    assert page.input_value("#trace-mixer") == "stop"
    page.reload()
    page.wait_for_selector('body[data-ready="1"]')
    page.fill("#search-input", demo.subject)
    page.click("#search-btn")
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) == 1)
    with page.expect_request(lambda r: "/api/v1/trace?" in r.url) as req:
        page.click("#btn-trace")
    query = parse_qs(urlsplit(req.value.url).query)
    assert query["direction"] == ["forward"] and query["mixer_policy"] == [forward]
    page.wait_for_selector("#endpoint-table tbody tr")
    assert page.errors == []


def test_fitted_trace_is_readable(page, demo):
    """A 20-hop trace fitted to the canvas: only the source's and endpoints' labels are drawn until the
    investigator zooms in; the trace's flow edges are the path, and selecting an endpoint marks its trail."""
    links = page.locator("#case-steps a")
    links.nth(0).click()
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) == 1)
    links.nth(1).click()                                    # the guided trace: 20 hops, demix
    page.wait_for_selector("#endpoint-table tbody tr")
    n_ends = int(wait_attr(page, "#cy", "data-endpoints", lambda v: int(v) > 0))
    nodes = int(page.get_attribute("#cy", "data-nodes"))
    flows = int(wait_attr(page, "#cy", "data-path", lambda v: int(v) > 0))
    zoom = float(page.get_attribute("#cy", "data-zoom"))
    assert nodes > 15 and zoom * 9 < 7, (nodes, zoom)       # fitted: a 9 px label would be under 7 px
    labels = int(page.get_attribute("#cy", "data-labels"))
    assert n_ends <= labels <= n_ends + 2, (labels, n_ends)  # the endpoints and the source (an address or entity)
    box = page.locator("#cy").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(50)
    wait_attr(page, "#cy", "data-labels", lambda v: int(v) > labels)
    # Selecting an endpoint: the trail back to the source, a part of the trace's flow edges.
    page.locator("#endpoint-table tbody tr.tagged").first.click()
    trail = int(wait_attr(page, "#cy", "data-path", lambda v: int(v) < flows))
    assert trail >= 1 and page.get_attribute("#cy", "data-path-source") == "1"
    assert page.errors == []


def test_wrong_token_is_refused_in_the_page(browser, demo_api):
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.goto(f"{demo_api.url}/#token=not-the-token-at-all")
    pg.wait_for_selector("#token-gate:not([hidden])")
    assert "refused" in pg.inner_text("#token-error")
    ctx.close()

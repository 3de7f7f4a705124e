"""The Ethereum demo case in the workbench, in a real headless Chromium (Debian's) driven by Playwright.

The investigator follows `chaintrail demo --chain eth`'s guided steps: open the theft, trace it until exchange,
read the records requests. What the page shows is checked against `chaintrail trace --chain eth
--until-exchange --json` run separately on the same store (exact base units in the rows' data, the decimals
applied in their text) and against the answer key (the exchanges reached are the case's, the swaps are the
case's swaps). A screenshot is saved (``$CHAINTRAIL_SCREENSHOTS`` or the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from headless import browser  # noqa: F401
from test_browser import wait_attr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eth"))

from anvil_needed import need_anvil  # noqa: E402

TOKEN = "eth-workbench-token-0123456789abcdef"
CLI = [str(Path(sys.executable).with_name("chaintrail"))]


def units(amount: str, decimals: int, symbol: str) -> str:
    """format.js fmtUnits: thousands separators, trailing zeros cut, the symbol."""
    whole, frac = divmod(int(amount), 10**decimals)
    f = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{whole:,}" + (f".{f}" if f else "") + f" {symbol}"


@pytest.fixture(scope="module")
def eth_demo(tmp_path_factory):
    need_anvil()
    from chaintrail.api.demo_eth_case import build_eth_demo

    return build_eth_demo(tmp_path_factory.mktemp("ethwb") / "demo", seed=7, scale=2)


@pytest.fixture(scope="module")
def eth_server(eth_demo):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread

    # as `chaintrail demo --chain eth` serves it: with the bridge's far chain, so traces follow crossings there
    app = create_app(eth_demo["store"], token=TOKEN, case_info=eth_demo["case_info"], other_store=eth_demo["store_b"])
    with ServerThread(app) as url:
        yield url


@pytest.fixture
def page(browser, eth_server):
    ctx = browser.new_context(viewport={"width": 1700, "height": 1050})
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.set_default_timeout(60_000)
    pg.goto(f"{eth_server}/#token={TOKEN}")
    pg.wait_for_selector('body[data-ready="1"]')
    yield pg
    ctx.close()


def cli_trace(store: str, source: str, other: str | None = None) -> dict:
    r = subprocess.run([*CLI, "trace", "--chain", "eth", "--from", source, "--until-exchange", "--store", store,
                        *(["--other-store", other] if other else []), "--json"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_demo_case_from_the_theft_to_the_exchanges(page, eth_demo, tmp_path):
    start = eth_demo["start"]
    key = json.loads((Path(eth_demo["scenario"]) / "answer_key.json").read_text())
    (case,) = [c for c in key["cases"] if c["id"] == eth_demo["case"]]
    want = cli_trace(eth_demo["store"], start["tx"], eth_demo["store_b"])
    assert want["requests"], "the CLI trace reaches no service: nothing to check the page against"
    assert eth_demo["case"] in page.inner_text("#case-banner")
    assert page.is_visible('#tabs button[data-tab="eth"]')
    links = page.locator("#case-steps a")
    assert links.count() == 3
    # 1. the theft: its transaction's flows on the canvas, the vault and the attacker among them
    links.nth(0).click()
    page.wait_for_selector('[data-testid="eth-tx"]')
    assert page.inner_text('[data-testid="eth-tx"]') == start["tx"]
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) >= 2)
    # 2. trace until exchange
    links.nth(1).click()
    page.wait_for_selector("#eth-requests tbody tr", timeout=120_000)
    assert page.input_value("#eth-source") == start["tx"]
    # exchanges reached, per asset, exactly the CLI's; and each one of the case's exchanges in the key
    rows = page.locator("#eth-requests tbody tr").all()
    got = {(r.get_attribute("data-service"), r.get_attribute("data-asset")): r for r in rows}
    expected = {(q["service"], a): amt for q in want["requests"] for a, amt in q["assets"].items()}
    assert set(got) == set(expected)
    for (service, asset), amt in expected.items():
        row = got[(service, asset)]
        assert row.get_attribute("data-amount") == amt
        if asset == "ETH":
            assert row.locator("td.amount").inner_text() == units(amt, 18, "ETH")
        assert service in case["reached"], service
    # the swaps: a conversion node per swap the trace crossed, each one of the case's swaps (key: tx, assets,
    # haircut in and out), its rate in token units and its tainted amounts in base units in the row's tooltip
    convs = [dict(c, tx=s["tx_hash"]) for s in want["steps"] for c in s.get("conversions", [])]
    swaps = {s["tx"]: s for s in case["swaps"]}
    assert convs and all(c["tx"] in swaps for c in convs)
    assert int(page.get_attribute("#cy", "data-conversions")) == len(convs)
    conv_rows = page.locator('#eth-result [data-testid="eth-conversions"] tbody tr').all()
    assert len(conv_rows) == len(convs)
    for c in convs:
        k = swaps[c["tx"]]
        assert (c["asset_in"], c["asset_out"], c["tainted_in"], c["tainted_out"]) == \
            (k["asset_in"], k["asset_out"], k["haircut_in"], k["haircut_out"])
        row = page.locator(f'#eth-result [data-testid="eth-conversions"] tr[data-asset-in="{c["asset_in"]}"]').first
        cells = row.locator("td")
        assert cells.nth(1).get_attribute("title").startswith(f"{int(c['tainted_in']):,} base units")
        assert cells.nth(2).get_attribute("title").startswith(f"{int(c['tainted_out']):,} base units")
        sym_out = "ETH" if c["asset_out"] == "ETH" else None
        rate = row.locator("td.rate").inner_text()          # "1 USDX = 333,034 ETH"-style, in token units
        assert rate.startswith("1 ") and (sym_out is None or rate.endswith(" ETH")) and "USD" in rate
    # the Tornado leads: heuristic, measured precision and chance-match rate per tainted deposit, as the CLI's
    assert "a lead, not proof" in page.inner_text('[data-testid="eth-leads-note"]')
    lead_rows = {r.get_attribute("data-deposit"): r for r in page.locator("#eth-leads tbody tr").all()}
    assert set(lead_rows) == {d["deposit_tx"] for d in want["demix"]}
    led = [d for d in want["demix"] if d["lead"]]
    assert led, "no tainted deposit has a lead"
    for d in led:
        r = lead_rows[d["deposit_tx"]]
        assert r.get_attribute("data-heuristic") == d["lead"]["heuristic"]
        assert float(r.get_attribute("data-precision")) == d["lead"]["precision"]
        assert float(r.get_attribute("data-chance")) == d["lead"]["chance_match_rate"]
        assert r.locator("td.precision").inner_text() == f"{100 * d['lead']['precision']:.1f}%"
    assert int(page.get_attribute("#cy", "data-leads")) == len({(d["depositor"], d["recipient"]) for d in led})
    # each bridge crossing the trace followed is drawn as a cross-chain edge (test_bridge_hop_... checks them)
    bridged = [e for e in want["endpoints"] if e["kind"] == "bridged"]
    assert bridged and int(page.get_attribute("#cy", "data-bridges")) == len([b for b in want["bridges"] if b["followed"]])
    # the exchanges' deposit addresses are endpoints on the canvas; the accounting per asset is the CLI's
    assert int(page.get_attribute("#cy", "data-endpoints")) >= 1
    for asset, t in want["totals"].items():
        cell = page.locator(f'#eth-totals tr[data-asset="{asset}"] td').nth(1)
        assert cell.get_attribute("title").startswith(f"{int(t['traced']):,} base units")
    shots = Path(os.environ.get("CHAINTRAIL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "workbench-eth-demo-trace.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")
    # 3. the records requests step opens the Ethereum tab
    links.nth(2).click()
    assert page.is_visible("#eth-requests")
    assert page.errors == []


def test_account_expand_and_screen(page, eth_demo):
    start = eth_demo["start"]
    page.fill("#search-input", start["to"])
    page.click("#search-btn")
    wait_attr(page, "#cy", "data-nodes", lambda v: int(v) == 1)
    page.wait_for_selector('[data-testid="eth-balances"]')
    assert page.inner_text('[data-testid="eth-account"]') == start["to"]
    balances = page.inner_text('[data-testid="eth-balances"]')
    assert "USDX" in balances or "USDY" in balances          # the token symbols, not contract addresses
    page.click("#btn-expand")
    n = int(wait_attr(page, "#cy", "data-nodes", lambda v: int(v) > 1))
    assert n >= 3 and int(page.get_attribute("#cy", "data-edges")) >= 2
    page.click('#tabs button[data-tab="details"]')
    page.click("#btn-eth-screen")
    page.wait_for_selector('[data-testid="eth-risk-level"]')
    assert "Sanctions:" in page.inner_text("#tab-details")
    assert page.errors == []


def test_bridge_hop_to_the_far_chain_and_the_trace_saved_to_the_case(page, eth_demo, eth_server):
    """The demo's trace crosses the bridge: each crossing is one bridge edge from the bridge contract to the
    recipient's node on chain 31338 (nonce and both events in its data), the far chain's endpoints are in the
    endpoint table with their chain, and "Save trace to case" leaves an eth_trace finding on the server whose
    trace is the CLI's across both stores, with both chains' block hashes, that reruns to the same hash."""
    import httpx

    start = eth_demo["start"]
    want = cli_trace(eth_demo["store"], start["tx"], eth_demo["store_b"])
    followed = [b for b in want["bridges"] if b["followed"]]
    assert followed, "the demo's trace follows no crossing"
    page.locator("#case-steps a").nth(1).click()
    page.wait_for_selector("#eth-requests tbody tr", timeout=120_000)
    assert page.get_attribute("body", "data-eth-trace") == want["trace_hash"]
    assert "31338" in page.inner_text('[data-testid="eth-far-chain"]')
    hops = page.evaluate("""() => document.getElementById("cy")._cyreg.cy.edges("[flow='bridge']").map((e) => ({
        source: e.source().data("address"), target: e.target().data("address"), far: Boolean(e.target().data("far")),
        chain: e.target().data("chain_id"), nonce: e.data("nonce"), amount: e.data("amount"),
        evidence: e.data("evidence")}))""")
    assert sorted(h["nonce"] for h in hops) == sorted(b["nonce"] for b in followed)
    for b in followed:
        (h,) = [x for x in hops if x["nonce"] == b["nonce"]]
        assert (h["source"], h["target"], h["far"], h["chain"]) == (b["contract"], b["to"]["recipient"], True, 31338)
        assert h["amount"] == b["tainted"] and b["to"]["tx_hash"] in h["evidence"]
    rows = {r.get_attribute("data-nonce"): r for r in page.locator("#eth-crossings tbody tr").all()}
    assert set(rows) == {str(b["nonce"]) for b in followed}
    assert all(rows[str(b["nonce"])].get_attribute("data-to-tx") == b["to"]["tx_hash"] for b in followed)
    far = page.locator('#eth-endpoints tbody tr[data-chain="31338"]').all()
    assert {(r.get_attribute("data-address"), r.get_attribute("data-asset"), r.get_attribute("data-amount"))
            for r in far} == {(e["address"], e["asset"], e["amount"]) for e in want["other_chain"]["endpoints"]}
    assert all(r.locator("td.chain").inner_text() == "31338" for r in far)
    # save the trace to the case: the server reruns it across the bridge and keeps it as a finding
    page.click("#eth-trace-save")
    http = httpx.Client(base_url=eth_server + "/api/v1", timeout=300,
                        headers={"Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": TOKEN})
    try:
        found = []
        for _ in range(600):
            cases = http.get("/cases").json()
            found = [f for c in cases for f in http.get(f"/cases/{c['ref']}/findings").json()
                     if f["kind"] == "eth_trace"]
            if found:
                break
            page.wait_for_timeout(200)
        (f,) = found
        assert f["result"]["trace_hash"] == want["trace_hash"]
        assert f["params"]["other_store"]["chain_id"] == 31338
        there = list(dict.fromkeys(s["block_hash"] for s in want["other_chain"]["steps"]))
        assert there and set(there) <= set(f["block_hashes"])
        ref = next(c["ref"] for c in http.get("/cases").json()
                   if any(x["id"] == f["id"] for x in http.get(f"/cases/{c['ref']}/findings").json()))
        again = http.post(f"/cases/{ref}/findings/{f['id']}/rerun").json()
        assert again["reproduced"] and again["new_hash"] == f["finding_hash"]
    finally:
        http.close()
    assert page.errors == []


def test_trace_csv_download_and_fiat_in_the_node_tooltip(page, eth_demo, eth_server):
    """The endpoints' CSV button fetches /eth/trace?format=csv with the token and saves it: every endpoint of the
    trace, its fiat columns equal to the API's JSON for the same parameters. A canvas node that is an endpoint shows
    its USD value on the day beside the coin amount in its tooltip."""
    import csv
    import io
    from urllib.parse import parse_qsl, urlsplit

    import httpx

    start = eth_demo["start"]
    page.locator("#case-steps a").nth(1).click()
    page.wait_for_selector("#eth-requests tbody tr", timeout=120_000)
    with page.expect_request(lambda q: "/api/v1/eth/trace" in q.url and "format=csv" in q.url) as req, \
            page.expect_download(timeout=120_000) as dl:
        page.click("#eth-trace-csv")
    assert req.value.headers["authorization"] == f"Bearer {TOKEN}"
    assert dl.value.suggested_filename == f"eth-trace-{page.get_attribute('body', 'data-eth-trace')[:12]}.csv"
    every = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    rows = [r for r in every if r["chain_id"] == "31337"]       # the far chain's follow, in their own chain_id
    sent = parse_qsl(urlsplit(req.value.url).query)
    assert ("source", start["tx"]) in sent and ("until_exchange", "true") in sent
    params = [(k, v) for k, v in sent if k not in ("format", "limit")] + [("limit", "5000")]
    with httpx.Client(base_url=eth_server + "/api/v1", timeout=300, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        want = http.get("/eth/trace", params=params).json()
    assert want["trace_hash"] == page.get_attribute("body", "data-eth-trace")
    assert len(rows) == want["endpoints_total"] == len(want["endpoints"])
    assert len(every) - len(rows) == len(want["other_chain"]["endpoints"]) > 0
    assert {r["chain_id"] for r in every} == {"31337", "31338"}

    def money(x):
        return "" if x is None else f"{x:.2f}"

    got = sorted((r["kind"], r["address"], r["asset"], r["amount_base"], r["day"], r["price_series"], r["price_usd"],
                  r["value_usd"]) for r in rows)
    exp = sorted((e["kind"], e.get("address") or "", e["asset"], e["amount"], (e.get("fiat") or {}).get("day", ""),
                  (e.get("fiat") or {}).get("series", ""),
                  "" if (e.get("fiat") or {}).get("price_usd") is None else repr(float(e["fiat"]["price_usd"])),
                  money((e.get("fiat") or {}).get("usd"))) for e in want["endpoints"])
    assert got == exp
    assert any(r["value_usd"] for r in rows), "no endpoint has a USD value: nothing checks the fiat columns"
    # the CSV's rows are the page's endpoint table's rows on this chain (the table's amounts in its rows' data)
    here = page.locator('#eth-endpoints tbody tr:not([data-chain="31338"])').all()
    assert sorted((r.get_attribute("data-address"), r.get_attribute("data-asset"), r.get_attribute("data-amount"))
                  for r in here) == sorted((r["address"], r["asset"], r["amount_base"]) for r in rows)
    # a canvas endpoint's tooltip: the coin amount and, beside it, its USD value on the day (the API's figure)
    valued = {(e["address"], e["asset"]): e for e in want["endpoints"]
              if e.get("address") and e.get("fiat") and e["fiat"].get("usd") is not None}
    pos = page.evaluate("""(valued) => {
        const cy = document.getElementById("cy")._cyreg.cy;
        const n = cy.nodes().filter((x) => (x.data("endpoints") || []).some((e) => valued.includes(`${x.data("address")}|${e.asset}`)))[0];
        if (!n) return null;
        cy.zoom(2); cy.center(n);
        const p = n.renderedPosition(), box = document.getElementById("cy").getBoundingClientRect();
        return { x: box.left + p.x, y: box.top + p.y, address: n.data("address") };
    }""", [f"{a}|{s}" for a, s in valued])
    assert pos, "no canvas node carries a valued endpoint"
    page.mouse.move(pos["x"], pos["y"])
    page.wait_for_selector("#tooltip:not([hidden]) [data-testid='tip-fiat']")
    lines = page.inner_text("#tooltip").splitlines()
    assert pos["address"] in lines
    mine = [e for (a, _), e in valued.items() if a == pos["address"]]
    for e in mine:      # the endpoint's line "kind: amount (N base units of ASSET)", its fiat line right after it
        asset = "ETH (wei)" if e["asset"] == "ETH" else e["asset"]
        (i,) = [i for i, x in enumerate(lines) if x.endswith(f"({int(e['amount']):,} base units of {asset})")]
        assert lines[i + 1].startswith(f"{e['fiat']['usd']:,.2f} USD on {e['fiat']['day']}"), lines
    assert page.errors == []

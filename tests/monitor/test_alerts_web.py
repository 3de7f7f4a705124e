"""The workbench's alerts panel in a real headless Chromium, fed live over server-sent events: a watch added
through the REST API (a malformed one refused with the reason), funds sent from the watched address on a
followed anvil, the alert shown with an unread count per case, then retracted by a reorganisation."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from anvil_needed import need_anvil
from headless import CHROMIUM, FLAGS, need_chromium
from monitor_parts import send

from chaintrail.chains.ethereum.node import AnvilNode
from chaintrail.chains.ethereum.rpc import EthRpc

TOKEN = "test-token-0123456789abcdef"


def wait_attr(pg, selector: str, attr: str, ok, timeout: float = 20.0) -> str:
    end = time.monotonic() + timeout
    while True:
        v = pg.get_attribute(selector, attr) if pg.query_selector(selector) else None
        if v is not None and ok(v):
            return v
        if time.monotonic() > end:
            raise AssertionError(f"{selector}[{attr}] is {v!r}")
        pg.wait_for_timeout(100)


def test_alert_arrives_live_in_the_browser_and_a_reorg_retracts_it(tmp_path, monkeypatch):
    need_anvil()
    need_chromium()
    from playwright.sync_api import sync_playwright

    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.repository import CaseRepository
    from chaintrail.monitor.follow import Follower

    store = tmp_path / "store"
    with AnvilNode(log_dir=str(tmp_path)) as node, EthRpc(node.url) as rpc:
        accts = rpc.call("eth_accounts", [])
        send(rpc, accts[1], accts[2], 10**15)
        repo = CaseRepository.open(tmp_path / "cases.sqlite")
        f = Follower(store, node.url, "eth", repo.db, poll_s=0.05)
        f.look()                                         # the store exists before the server opens it
        repo.ensure_operator("NCA", "alice")
        monkeypatch.setenv("CHAINTRAIL_CASES_DB", str(tmp_path / "cases.sqlite"))
        try:
            app = create_app(store, token=TOKEN)
            with ServerThread(app) as url, sync_playwright() as pw:
                http = httpx.Client(base_url=url + "/api/v1", timeout=30,
                                    headers={"Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": TOKEN})
                ref = http.post("/cases", json={"title": "Live alerts"}).json()["ref"]
                bad = http.post("/watches", json={"case": ref, "chain": "eth", "kind": "address", "target": "0x12"})
                assert bad.status_code == 400 and "not an Ethereum address" in bad.json()["error"]
                nope = http.post("/watches", json={"case": "NOPE-1", "chain": "eth", "kind": "address",
                                                   "target": accts[0]})
                assert nope.status_code == 404
                w = http.post("/watches", json={"case": ref, "chain": "eth", "kind": "address", "target": accts[0],
                                                "params": {"direction": "out"}})
                assert w.status_code == 201, w.text
                assert [x["id"] for x in http.get("/watches", params={"case": ref}).json()] == [w.json()["id"]]

                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
                pg = browser.new_page()
                errors: list[str] = []
                pg.on("pageerror", lambda e: errors.append(str(e)))
                pg.goto(f"{url}/#token={TOKEN}")
                pg.wait_for_selector('body[data-ready="1"]', timeout=30_000)
                pg.click('#tabs button[data-tab="case"]')
                t = threading.Thread(target=f.run, daemon=True)
                t.start()
                try:
                    snap = rpc.call("evm_snapshot", [])
                    tx = send(rpc, accts[0], accts[7], 2 * 10**18)
                    sel = f'#alerts-list li[data-tx="{tx}"]'
                    assert wait_attr(pg, sel, "data-status", lambda v: True) == "active"
                    text = pg.inner_text(sel)
                    assert ref in text and str(2 * 10**18) in text and "ETH" in text
                    assert wait_attr(pg, f'#alerts-unread li[data-case="{ref}"]', "data-case", bool) == ref
                    assert "1 unread" in pg.inner_text(f'#alerts-unread li[data-case="{ref}"]')
                    assert pg.inner_text("#alerts-badge").strip() == "1"
                    assert http.get("/alerts/unread").json() == {ref: 1}

                    rpc.call("evm_revert", [snap])
                    for _ in range(3):
                        send(rpc, accts[3], accts[4], 10**15)
                    wait_attr(pg, sel, "data-status", lambda v: v == "retracted")
                    assert "retracted: reorganisation" in pg.inner_text(sel)
                    pg.click(f"{sel} button.mark-read")
                    wait_attr(pg, sel, "class", lambda v: " read" in v)
                    assert http.get("/alerts/unread").json() == {}
                    assert errors == []
                finally:
                    f.stop()
                    t.join(10)
                    browser.close()
                    http.close()
        finally:
            repo.close()

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


def test_an_alert_imported_from_a_partners_package_carries_its_agency_badge(tmp_path, monkeypatch, btc_data):
    """An alert that came in another agency's case package shows a badge naming that agency (catalog text, en and
    uk); the receiving agency's own alert shows none. The API gives the sender as imported_from."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.package import export_package, import_package
    from chaintrail.cases.repository import CaseRepository
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.monitor import alerts as A
    from chaintrail.monitor.watch_spec import check_spec
    from chaintrail.monitor.watches import add_watch

    store = tmp_path / "store"
    with BtcIngest(store) as job:
        job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
    satoshi, tx170 = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"

    def found(w: dict, ref: str, agency: str, block_hash: str) -> dict:
        return {"watch_id": w["id"], "case_id": w["case_id"], "case_ref": ref, "agency": agency, "tlp": w["tlp"],
                "chain": "btc", "block_number": 170, "block_hash": block_hash, "tx_hash": tx170, "direction": "out",
                "address": satoshi, "counterparty": None, "asset": "BTC", "amount": "1000000000",
                "reason": "the watched address paid"}

    fbi = CaseRepository.open(tmp_path / "fbi.sqlite")
    bka = CaseRepository.open(tmp_path / "bka.sqlite")
    try:
        pa = fbi.bootstrap("FBI", "agent")[0]
        pb, user_token = bka.bootstrap("BKA", "bob")
        ref = fbi.create_case(pa, "First payment", "Block 170.", "amber")["ref"]
        w = add_watch(fbi, pa, ref, check_spec("btc", "address", satoshi, {"direction": "out"}))
        theirs = A.raise_alerts(fbi.db, [found(w, ref, "FBI", "00" * 32)])[0]
        res = import_package(bka, pb, export_package(fbi, pa, ref, level="amber", recipient="BKA"),
                             trust_fingerprint=fbi.agency("FBI")["fingerprint"])
        own_ref = bka.create_case(pb, "Our own", "", "amber")["ref"]
        ow = add_watch(bka, pb, own_ref, check_spec("btc", "address", satoshi, {"direction": "out"}))
        ours = A.raise_alerts(bka.db, [found(ow, own_ref, "BKA", "11" * 32)])[0]
        assert theirs["imported_from"] is None and ours["imported_from"] is None
        monkeypatch.setenv("CHAINTRAIL_CASES_DB", str(tmp_path / "bka.sqlite"))
        app = create_app(store, token=TOKEN)
        with ServerThread(app) as url, sync_playwright() as pw:
            with httpx.Client(base_url=url + "/api/v1", timeout=30, headers={
                    "Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": user_token}) as http:
                listed = {a["case_ref"]: a for a in http.get("/alerts").json()}
            assert listed[res.case["ref"]]["imported_from"] == "FBI" and listed[own_ref]["imported_from"] is None
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
            try:
                for lang, badge, title in (("en", "from FBI", "Imported from FBI's case package"),
                                           ("uk", "від FBI", "Імпортовано з пакета справи агентства FBI")):
                    pg = browser.new_page()
                    errors: list[str] = []
                    pg.on("pageerror", lambda e: errors.append(str(e)))
                    pg.goto(f"{url}/?lang={lang}#token={TOKEN}&user={user_token}")
                    pg.wait_for_selector('body[data-ready="1"]', timeout=30_000)
                    pg.click('#tabs button[data-tab="case"]')
                    imported = f'#alerts-list li[data-case-ref="{res.case["ref"]}"]'
                    pg.wait_for_selector(f'{imported} [data-testid="alert-imported"]', timeout=20_000)
                    tag = pg.locator(f'{imported} [data-testid="alert-imported"]')
                    assert tag.inner_text() == badge and tag.get_attribute("title").startswith(title)
                    own = pg.locator(f'#alerts-list li[data-case-ref="{own_ref}"]')
                    assert own.count() == 1 and own.locator('[data-testid="alert-imported"]').count() == 0
                    assert errors == []
                    pg.close()
            finally:
                browser.close()
    finally:
        fbi.close()
        bka.close()

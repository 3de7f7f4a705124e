"""A webhook that gives up is logged without the secret its URL carries (a Slack-style path token, a query)."""

from __future__ import annotations

import logging

from chaintrail.cases.repository import CaseRepository
from chaintrail.monitor import alerts as A
from chaintrail.monitor.delivery import DeliverySettings, Dispatcher, deliveries
from chaintrail.monitor.url_guard import Allow
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import add_watches

ETH = "0x" + "ab" * 20
TOKEN = "XyZ0123456789abcdefGHIJ"           # the receiver's secret, as Slack puts it in the webhook's path


def test_a_webhook_that_gives_up_is_logged_without_its_path_token_or_query(tmp_path, hook, caplog, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_WEBHOOK_ALLOW", "127.0.0.1")
    hook.fail_first = 1                                   # 500: with one attempt, the dispatcher gives up
    url = f"{hook.url}/services/T0001/B0002/{TOKEN}?sig=query-secret"
    with CaseRepository.open(tmp_path / "cases.sqlite") as repo:
        p = repo.ensure_operator("NCA", "alice")
        ref = repo.create_case(p, "Hooks")["ref"]
        (w,) = add_watches(repo, p, ref, [check_spec("eth", "address", ETH, {}, {"webhook": url})])
        (a,) = A.raise_alerts(repo.db, [{
            "watch_id": w["id"], "case_id": w["case_id"], "case_ref": ref, "agency": "NCA", "tlp": w["tlp"],
            "chain": "eth", "block_number": 5, "block_hash": "0x" + "11" * 32, "tx_hash": "0x" + "22" * 32,
            "direction": "out", "address": ETH, "counterparty": None, "asset": "ETH", "amount": "7",
            "reason": "test"}])
        disp = Dispatcher(repo.db, DeliverySettings(attempts=1, backoff_s=0, allow=Allow.parse("127.0.0.1")))
        with caplog.at_level(logging.WARNING, logger="chaintrail.monitor.delivery"):
            disp.submit([a], "alert")
            disp.close()
        assert [d["outcome"] for d in deliveries(repo.db, a["id"])] == ["gave_up"]
    logged = [r.getMessage() for r in caplog.records if r.name == "chaintrail.monitor.delivery"]
    assert len(logged) == 1 and "gave up" in logged[0] and "127.0.0.1" in logged[0]
    assert TOKEN not in logged[0] and "query-secret" not in logged[0]

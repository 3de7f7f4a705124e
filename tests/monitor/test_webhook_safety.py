"""Webhook safety: investigator-supplied URLs cannot reach the server's own network (checked on add and again
at delivery, connecting only to the checked address), an operator allowlist lets internal receivers through,
and each watch signs with its own secret, shown once and stored sealed (never in the clear in the database)."""

from __future__ import annotations

import os
import stat

import pytest

from chaintrail.cases.repository import CaseRepository
from chaintrail.errors import UsageError
from chaintrail.monitor import alerts as A
from chaintrail.monitor.delivery import DeliverySettings, Dispatcher, deliveries
from chaintrail.monitor.url_guard import Allow, checked_addresses
from chaintrail.monitor.watch_spec import check_notify, check_spec
from chaintrail.monitor.watches import add_watches, list_watches
from chaintrail.monitor.webhook import SIGNATURE_HEADER, post, verify_signature
from chaintrail.monitor.webhook_secrets import KEY_FILE

ETH = "0x" + "ab" * 20
PUBLIC = "93.184.215.14"


def dns(table: dict[str, list[str]]):
    return lambda host, port: table[host]


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),
    ("http://169.254.10.1/", "link-local"),
    ("http://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("http://172.16.5.5/", "private"),
    ("http://100.64.0.1/", "private"),                 # carrier-grade NAT
    ("http://0.0.0.0:9/", "reserved"),
    ("http://224.0.0.1/", "multicast"),
])
def test_refused_on_add_with_the_reason(url, why):
    with pytest.raises(UsageError, match=f"watch refused: webhook .* {why} address .*CHAINTRAIL_WEBHOOK_ALLOW"):
        check_notify({"webhook": url}, Allow())


def test_every_resolved_address_is_checked_and_the_allowlist_is_explicit():
    two = dns({"hooks.example": [PUBLIC, "10.0.0.7"]})     # one public address does not excuse a private one
    with pytest.raises(UsageError, match="10.0.0.7, a private address"):
        checked_addresses("https://hooks.example/in", Allow(), two)
    assert checked_addresses("https://hooks.example/in", Allow.parse("10.0.0.0/8"), two)[2] == [PUBLIC, "10.0.0.7"]
    assert checked_addresses("https://hooks.example/in", Allow.parse("hooks.example"), two)[0] == "hooks.example"
    assert checked_addresses(f"http://{PUBLIC}/in", Allow())[2] == [PUBLIC]      # a public literal: no DNS needed
    with pytest.raises(UsageError, match="does not resolve"):
        checked_addresses("https://nowhere.invalid/", Allow(), dns({"nowhere.invalid": []}))
    with pytest.raises(UsageError, match="neither a network nor a host name"):
        Allow.parse("10.0.0.0/8, http://x/")
    # from the environment, as the API and CLI read it
    os.environ["CHAINTRAIL_WEBHOOK_ALLOW"] = "127.0.0.1/32"
    try:
        assert check_notify({"webhook": "http://127.0.0.1:9/h"}) == {"webhook": "http://127.0.0.1:9/h"}
    finally:
        del os.environ["CHAINTRAIL_WEBHOOK_ALLOW"]
    with pytest.raises(UsageError, match="loopback"):
        check_notify({"webhook": "http://127.0.0.1:9/h"})


def test_delivery_rechecks_and_connects_to_the_checked_address(hook):
    port = hook.server.server_address[1]
    url = f"http://hook.test:{port}/hook"
    # Rebinding: the name was public when the watch was added, and points at the loopback receiver now.
    tries = []
    assert not post(url, b"{}", b"k", delivery_id="1-alert", event="alert", attempts=3, backoff_s=0,
                    resolver=dns({"hook.test": ["127.0.0.1"]}), on_attempt=tries.append)
    assert hook.posts == [] and len(tries) == 1 and tries[0].refused and "loopback" in tries[0].detail
    # Allowed by the operator: the POST goes to the address that was checked (the system cannot resolve the
    # name hook.test), with the name in the Host header.
    assert post(url, b'{"a":1}', b"k", delivery_id="1-alert", event="alert", attempts=1,
                allow=Allow.parse("127.0.0.1"), resolver=dns({"hook.test": ["127.0.0.1"]}))
    got = hook.wait(1)[0]
    assert got["headers"]["Host"] == f"hook.test:{port}" and got["json"] == {"a": 1}
    assert verify_signature(b"k", got["body"], got["headers"][SIGNATURE_HEADER])


@pytest.fixture
def repo(tmp_path):
    r = CaseRepository.open(tmp_path / "cases.sqlite")
    yield r
    r.close()


def test_each_watch_has_its_own_secret_shown_once_and_sealed(repo, tmp_path, hook, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_WEBHOOK_ALLOW", "127.0.0.1")
    p = repo.ensure_operator("NCA", "alice")
    ref = repo.create_case(p, "Hooks")["ref"]
    specs = [check_spec("eth", "address", ETH, {}, {"webhook": hook.url}),
             check_spec("eth", "address", ETH, {"direction": "in"}, {"webhook": hook.url}),
             check_spec("eth", "address", ETH)]
    w1, w2, w3 = add_watches(repo, p, ref, specs)
    s1, s2 = w1["webhook_secret"], w2["webhook_secret"]
    assert len(s1) >= 40 and s1 != s2 and "webhook_secret" not in w3
    assert w1["notify"] == {"webhook": hook.url, "secret_id": w1["notify"]["secret_id"]}   # sealed one not shown
    listed = list_watches(repo, p, ref)
    assert all("webhook_secret" not in w and "secret" not in w["notify"] for w in listed)
    db_bytes = (tmp_path / "cases.sqlite").read_bytes()
    assert s1.encode() not in db_bytes and s2.encode() not in db_bytes
    key = repo.db.key_dir / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and s1.encode() not in key.read_bytes()

    # The monitor signs each alert with its own watch's secret (the deployment-wide one is not used).
    found = [{"watch_id": w["id"], "case_id": w["case_id"], "case_ref": ref, "agency": "NCA", "tlp": w["tlp"],
              "chain": "eth", "block_number": 5, "block_hash": "0x" + "11" * 32, "tx_hash": "0x" + "22" * 32,
              "direction": "out", "address": ETH, "counterparty": None, "asset": "ETH", "amount": "7",
              "reason": "test"} for w in (w1, w2)]
    raised = A.raise_alerts(repo.db, found)
    disp = Dispatcher(repo.db, DeliverySettings(b"deployment-secret", attempts=1))
    disp.submit(raised, "alert")
    disp.close()
    posts = {x["json"]["alert"]["watch_id"]: x for x in hook.wait(2)}
    for w, s, other in ((w1, s1, s2), (w2, s2, s1)):
        x = posts[w["id"]]
        assert verify_signature(s.encode(), x["body"], x["headers"][SIGNATURE_HEADER])
        assert not verify_signature(other.encode(), x["body"], x["headers"][SIGNATURE_HEADER])
        assert not verify_signature(b"deployment-secret", x["body"], x["headers"][SIGNATURE_HEADER])


def test_a_refused_delivery_is_logged_and_not_retried(repo, hook, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_WEBHOOK_ALLOW", "127.0.0.1")
    p = repo.ensure_operator("NCA", "alice")
    ref = repo.create_case(p, "Hooks")["ref"]
    (w,) = add_watches(repo, p, ref, [check_spec("eth", "address", ETH, {}, {"webhook": hook.url})])
    a = A.raise_alerts(repo.db, [{"watch_id": w["id"], "case_id": w["case_id"], "case_ref": ref, "agency": "NCA",
                                  "tlp": w["tlp"], "chain": "eth", "block_number": 5, "block_hash": "0x" + "11" * 32,
                                  "tx_hash": "0x" + "22" * 32, "direction": "out", "address": ETH,
                                  "counterparty": None, "asset": "ETH", "amount": "7", "reason": "test"}])
    # The operator withdrew the exception: the follower's settings no longer allow loopback.
    disp = Dispatcher(repo.db, DeliverySettings(attempts=4, backoff_s=0, allow=Allow()))
    disp.submit(a, "alert")
    disp.close()
    log = deliveries(repo.db, a[0]["id"])
    assert [(d["attempt"], d["outcome"]) for d in log] == [(1, "refused")] and "loopback" in log[0]["detail"]
    assert hook.posts == []

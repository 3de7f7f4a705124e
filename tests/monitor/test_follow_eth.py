"""Follow a real anvil: funds leave a watched address, the alert arrives by webhook and by e-mail, and a forced
reorganisation that drops the transaction retracts it, visibly, in the case record and on both channels."""

from __future__ import annotations

import threading

import pytest
from anvil_needed import need_anvil
from monitor_parts import send, wait_for

from chaintrail.cases import audit
from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.verify import verify
from chaintrail.chains.ethereum.node import AnvilNode
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.monitor.delivery import DeliverySettings, Dispatcher, deliveries
from chaintrail.monitor.follow import Follower
from chaintrail.monitor.mailer import SmtpSettings
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import add_watch
from chaintrail.monitor.webhook import SIGNATURE_HEADER, verify_signature


@pytest.fixture
def node(tmp_path):
    need_anvil()
    with AnvilNode(log_dir=str(tmp_path)) as n:
        yield n


def test_watched_address_pays_alert_by_webhook_and_mail_then_reorg_retracts(node, tmp_path, hook, mailbox,
                                                                             monkeypatch):
    hook.fail_first = 1                          # the first POST gets a 500: retried, and the log says so
    monkeypatch.setenv("CHAINTRAIL_WEBHOOK_ALLOW", "127.0.0.1")      # the operator allows the loopback receiver
    with EthRpc(node.url) as rpc, CaseRepository.open(tmp_path / "cases.sqlite") as repo:
        accts = rpc.call("eth_accounts", [])
        p = repo.ensure_operator("NCA", "alice")
        ref = repo.create_case(p, "Ransom payout")["ref"]
        w = add_watch(repo, p, ref, check_spec("eth", "address", accts[0].upper().replace("0X", "0x"),
                                               {"direction": "out"},
                                               {"webhook": hook.url, "email": ["duty@nca.example"]}))
        quiet = add_watch(repo, p, ref, check_spec("eth", "address", accts[3], {"direction": "out"}))
        secret = w["webhook_secret"].encode()        # the watch's own, shown once
        disp = Dispatcher(repo.db, DeliverySettings(b"", SmtpSettings("127.0.0.1", mailbox.port,
                                                                         sender="monitor@nca.example"),
                                                    attempts=3, backoff_s=0.05))
        f = Follower(tmp_path / "store", node.url, "eth", repo.db, poll_s=0.05, on_update=disp)
        t = threading.Thread(target=f.run, daemon=True)
        t.start()
        try:
            snap = rpc.call("evm_snapshot", [])
            send(rpc, accts[1], accts[0], 10**15)            # into the watched address: direction out only
            tx = send(rpc, accts[0], accts[5], 3 * 10**18)
            block = rpc.call("eth_getTransactionReceipt", [tx])
            posts = hook.wait(1)
            body = posts[0]["json"]
            assert verify_signature(secret, posts[0]["body"], posts[0]["headers"][SIGNATURE_HEADER])
            assert not verify_signature(b"other", posts[0]["body"], posts[0]["headers"][SIGNATURE_HEADER])
            a = body["alert"]
            assert body["event"] == "alert"
            assert (a["tx_hash"], a["block_hash"], a["block_number"]) == (tx, block["blockHash"],
                                                                          int(block["blockNumber"], 16))
            assert (a["amount"], a["asset"], a["direction"], a["watch_id"], a["case_ref"]) == \
                (str(3 * 10**18), "ETH", "out", w["id"], ref)
            assert a["address"] == accts[0].lower() and a["counterparty"] == accts[5].lower()
            msg = mailbox.wait(1)[0]
            assert msg["To"] == "duty@nca.example" and ref in msg["Subject"]
            assert tx in msg.get_content() and str(3 * 10**18) in msg.get_content()
            # (the receiver has the POST before the sender has its answer and logs it: wait for the log)
            log = wait_for(lambda: [(d["attempt"], d["outcome"]) for d in deliveries(repo.db, a["id"])
                                    if d["channel"] == "webhook" and d["outcome"] != "failed"] and
                           [(d["attempt"], d["outcome"]) for d in deliveries(repo.db, a["id"])
                            if d["channel"] == "webhook"])
            assert log == [(1, "failed"), (2, "delivered")]

            # the chain reorganises: back to before both txs, then a longer branch without them
            assert rpc.call("evm_revert", [snap]) is True
            for _ in range(4):
                send(rpc, accts[2], accts[6], 10**15)
            posts = hook.wait(2)
            assert posts[1]["json"]["event"] == "retraction"
            r = posts[1]["json"]["alert"]
            assert (r["id"], r["status"], r["tx_hash"]) == (a["id"], "retracted", tx)
            assert "reorganisation" in r["retract_reason"]
            mail2 = mailbox.wait(2)[1]
            assert "RETRACTED" in mail2["Subject"]
        finally:
            f.stop()
            t.join(10)
            disp.close()
        with repo.db.read() as conn:
            log = audit.entries(conn, case_ref=ref)
        actions = [e.action for e in log]
        assert actions.count("alert.raise") == 1 and actions.count("alert.retract") == 1
        assert actions.index("watch.add") < actions.index("alert.raise") < actions.index("alert.retract")
        assert not [e for e in log if e.action.startswith("alert") and e.details.get("watch") == quiet["id"]]
        rep = verify(repo.db)
        assert rep.problems == [], rep.problems

"""Follow a Bitcoin node over RPC block by block (FakeNode serving real mainnet blocks): the first bitcoin
payment (block 170, Satoshi to Hal Finney) fires an address watch and an entity watch whose address the store
had not seen yet; a node that fails is retried and resumed; a reorganisation retracts the alert of the old
block and raises it again in the new one."""

from __future__ import annotations

import threading

import pytest
from fakenode import FakeNode, alt_branch, mainnet_blocks
from monitor_parts import wait_for

from chaintrail.cases import audit
from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.verify import verify
from chaintrail.monitor.follow import Follower
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import add_watch, remove_watch

SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"      # block 9's coinbase, spent in block 170
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
TX170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
REAL = mainnet_blocks()[:175]


def alerts(repo: CaseRepository) -> list[dict]:
    import sqlalchemy as sa

    from chaintrail.cases import schema as S
    with repo.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(S.alerts).order_by(S.alerts.c.id))]


@pytest.fixture
def case(tmp_path):
    repo = CaseRepository.open(tmp_path / "cases.sqlite")
    p = repo.ensure_operator("FBI", "agent")
    ref = repo.create_case(p, "First payment")["ref"]
    yield repo, p, ref
    repo.close()


def test_block_by_block_alert_node_failure_and_reorg(tmp_path, case):
    repo, p, ref = case
    w_out = add_watch(repo, p, ref, check_spec("btc", "address", SATOSHI, {"direction": "out"}))
    w_hal = add_watch(repo, p, ref, check_spec("btc", "entity", HAL, {"direction": "in", "min_amount": 10**9}))
    w_big = add_watch(repo, p, ref, check_spec("btc", "entity", HAL, {"min_amount": 10**9 + 1}))
    gone = add_watch(repo, p, ref, check_spec("btc", "address", SATOSHI))
    remove_watch(repo, p, gone["id"])
    with FakeNode(blocks=REAL[:169]) as node:
        f = Follower(tmp_path / "store", node.auth_url, "btc", repo.db, poll_s=0.02, retry_max_s=0.1,
                     check_pow=False)
        res = f.look()
        assert res.blocks == 169 and res.raised == []
        for h in (169, 170):                              # block by block
            node.set_chain(REAL[:h + 1])
            res = f.look()
            assert res.blocks == 1
        got = alerts(repo)
        by_watch = {a["watch_id"]: a for a in got}
        assert set(by_watch) == {w_out["id"], w_hal["id"]}
        out, hal = by_watch[w_out["id"]], by_watch[w_hal["id"]]
        assert (out["tx_hash"], out["amount"], out["direction"], out["address"], out["block_number"]) == \
            (TX170, "5000000000", "out", SATOSHI, 170)
        assert out["block_hash"] == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
        assert (hal["amount"], hal["direction"], hal["address"], hal["counterparty"]) == \
            ("1000000000", "in", HAL, SATOSHI)

        # the node fails for a while: retried with backoff, then resumed where the store was
        node.canned = (503, b'{"result":null,"error":{"code":-28,"message":"Loading block index"},"id":1}')
        t = threading.Thread(target=f.run, daemon=True)
        t.start()
        try:
            wait_for(lambda: f.stats.node_errors >= 2)
            # meanwhile the chain reorganised: 170.. replaced by another branch (same txs, other block hashes)
            branch = alt_branch(REAL, 169, 3, tag=7)
            node.set_chain(list(REAL[:170]) + branch)
            node.canned = None
            wait_for(lambda: len(alerts(repo)) == 4)
        finally:
            f.stop()
            t.join(10)
    got = alerts(repo)
    old = [a for a in got if a["block_hash"] == out["block_hash"]]
    new = [a for a in got if a["block_hash"] != out["block_hash"]]
    assert [a["status"] for a in old] == ["retracted", "retracted"]
    assert all("reorganisation" in a["retract_reason"] for a in old)
    assert [(a["tx_hash"], a["status"], a["block_number"]) for a in new] == [(TX170, "active", 170)] * 2
    assert f.stats.node_errors >= 2
    with repo.db.read() as conn:
        actions = [e.action for e in audit.entries(conn, case_ref=ref)]
    assert actions.count("alert.raise") == 4 and actions.count("alert.retract") == 2
    assert verify(repo.db).problems == []

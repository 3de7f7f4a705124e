"""Reorgs on a real anvil (its own evm_revert and anvil_reorg, no mock), --follow, and bad node answers that must
leave the store exactly as it was."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from anvil_needed import need_anvil
from eth_etl_fixtures import case
from replay_node import ReplayNode

from chaintrail.chains.ethereum.node import AnvilNode
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
TABLES = ("eth_blocks", "eth_transactions", "eth_traces", "eth_value_flows", "eth_addresses", "eth_logs")


def ingest(url: str, store: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "ingest", "eth", "--rpc", url, "--store", str(store), *args],
                          capture_output=True, text=True, timeout=120)


def dump(store: Path) -> dict[str, list]:
    """Every Ethereum view's rows, in order: what two stores must agree on when their parts differ."""
    with ChainStore(store) as st:
        return {t: query(st, f"SELECT * FROM {t} ORDER BY ALL").to_pylist() for t in TABLES}


def send(rpc: EthRpc, n: int, salt: int) -> None:
    accts = rpc.call("eth_accounts", [])
    for i in range(n):
        h = rpc.call("eth_sendTransaction", [{"from": accts[i % 4], "to": accts[4 + i % 3],
                                              "value": hex(10**15 * (salt + i))}])
        while rpc.call("eth_getTransactionReceipt", [h]) is None:   # automine answers before the block exists
            time.sleep(0.01)


@pytest.fixture
def node():
    need_anvil()
    with AnvilNode() as n:
        yield n


def test_reorg_rolls_back_to_the_fork_and_matches_a_fresh_ingest(node, tmp_path):
    store = tmp_path / "s"
    with EthRpc(node.url) as rpc:
        send(rpc, 3, 1)                                  # blocks 1..3 (automine: one tx a block)
        snap = rpc.call("evm_snapshot", [])
        send(rpc, 3, 100)                                # blocks 4..6, to be orphaned
        r = ingest(node.url, store, "--batch-blocks", "2")
        assert r.returncode == 0, r.stderr
        orphan = dump(store)
        assert len(orphan["eth_blocks"]) == 7
        assert rpc.call("evm_revert", [snap]) is True
        send(rpc, 4, 500)                                # blocks 4..7 of another branch
        r = ingest(node.url, store, "--batch-blocks", "2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["ingested"]
    assert out["rolled_back"] == 3 and out["tip"] == 7
    fresh = tmp_path / "fresh"
    assert ingest(node.url, fresh, "--batch-blocks", "2").returncode == 0
    assert dump(store) == dump(fresh)
    # nothing of the orphaned branch is left: no tx, flow or address only it had
    orphaned_txs = {t["hash"] for t in orphan["eth_transactions"]} - {t["hash"] for t in dump(store)["eth_transactions"]}
    assert len(orphaned_txs) == 3


def test_follow_tracks_the_head_through_anvil_reorg(node, tmp_path):
    store = tmp_path / "s"
    with EthRpc(node.url) as rpc:
        send(rpc, 4, 1)
        p = subprocess.Popen([*CLI, "ingest", "eth", "--rpc", node.url, "--store", str(store), "--follow",
                              "--confirmations", "0", "--poll", "0.2", "--stop-after", "8", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:             # wait until the follower has the tip
            m = store / "MANIFEST.json"
            if m.exists() and json.loads(m.read_text()).get("eth", {}).get("tip") == 4:
                break
            time.sleep(0.05)
        old_tip = rpc.blocks([4])[0]["hash"]
        rpc.call("anvil_reorg", [2, []])                # replace the last two blocks with empty ones
        assert rpc.blocks([4])[0]["hash"] != old_tip
        send(rpc, 2, 900)
        stdout, stderr = p.communicate(timeout=60)
        assert p.returncode == 0, stderr
        out = json.loads(stdout)["ingested"]
        head = rpc.head()
        hashes = [b["hash"] for b in rpc.blocks(list(range(head + 1)))]
    assert out["reorgs"] >= 1 and out["rolled_back"] >= 2
    with ChainStore(store) as st:
        got = [r["hash"] for r in query(st, "SELECT hash FROM eth_blocks ORDER BY number").to_pylist()]
    assert got == hashes
    fresh = tmp_path / "fresh"
    assert ingest(node.url, fresh).returncode == 0
    assert dump(store) == dump(fresh)


FOLDER = case("test_stream", "blocks_1755634_1755635")


@pytest.mark.parametrize("switch, value, args, words", [
    ("malformed_next", 50, (), "malformed"),
    ("http_429_next", 50, (), "rate"),
    ("delay", 3.0, ("--timeout", "1"), "no answer within"),
    ("huge_bytes", 300 << 20, (), "over the limit"),
    ("drop_id_next", 50, (), "id"),
    ("reset_next", 50, (), ""),
])
def test_bad_answers_give_one_line_and_leave_the_store_as_it_was(tmp_path, switch, value, args, words):
    store = tmp_path / "s"
    with ReplayNode([FOLDER]) as node:
        assert ingest(node.url, store, "--from", "1755634", "--to", "1755634").returncode == 0
        with ChainStore(store) as st:
            before = st.content_hash()
        node.quiet_until = "eth_getTransactionReceipt"  # fail mid-batch: blocks fetched, receipts not
        setattr(node, switch, value)
        r = ingest(node.url, store, "--to", "1755635", *args)
        setattr(node, switch, 0)
        assert r.returncode == 3, (r.returncode, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error")]
        assert len(lines) == 1 and words in lines[0].lower() and node.url.split("//")[1] in lines[0], r.stderr
        assert "Traceback" not in r.stderr
        assert not (store / "DIRTY").exists()
        with ChainStore(store) as st:
            assert st.content_hash() == before
        assert ingest(node.url, store, "--to", "1755635").returncode == 0
    with ChainStore(store) as st:
        assert st.counts["eth_blocks"] == 2 and st.counts["eth_transactions"] == 2


def test_node_missing_a_method_and_wrong_chain(tmp_path):
    store = tmp_path / "s"
    with ReplayNode([FOLDER]) as node:
        r = ingest(node.url, store, "--from", "1755634", "--traces", "require")
        assert r.returncode == 3 and "neither trace_block nor debug_traceBlockByNumber" in r.stderr
        assert ingest(node.url, store, "--from", "1755634", "--to", "1755634").returncode == 0
    with ReplayNode([FOLDER], chain_id=5) as other:
        r = ingest(other.url, store)
        assert r.returncode == 4 and "chain 1" in r.stderr and "chain 5" in r.stderr
    r = ingest("http://127.0.0.1:9", store)
    assert r.returncode == 3 and r.stderr.count("\n") <= 2

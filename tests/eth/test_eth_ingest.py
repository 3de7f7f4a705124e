"""`chaintrail ingest eth` against a real anvil node driven with real contracts: tables, exact value flows,
resume after kill -9, re-ingest, reorgs and bad answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from anvil_needed import need_anvil

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

CLI = [str(Path(sys.executable).with_name("chaintrail"))]


def ingest(url: str, store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([*CLI, "ingest", "eth", "--rpc", url, "--store", str(store), "--json", *args],
                       capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}: {r.stderr}")
    return r


def sql(store: Path, statement: str) -> list[dict]:
    with ChainStore(store) as st:
        return query(st, statement).to_pylist()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """One anvil chain with every kind of activity, ingested once."""
    from chaintrail.chains.ethereum.node import AnvilNode
    from chaintrail.scenario.eth_activity import drive

    need_anvil()
    node = AnvilNode().start()
    summary = drive(node.url, seed=7, blocks=12, txs_per_block=12)
    store = tmp_path_factory.mktemp("eth") / "store"
    out = json.loads(ingest(node.url, store).stdout)
    yield node, summary, store, out
    node.stop()


def test_counts_match_the_node(chain):
    node, summary, store, out = chain
    with EthRpc(node.url) as rpc:
        head = rpc.head()
        blocks = rpc.blocks(list(range(head + 1)))
    assert out["ingested"]["tip"] == head
    n_tx = sum(len(b["transactions"]) for b in blocks)
    assert out["store_counts"]["eth_blocks"] == head + 1
    assert out["store_counts"]["eth_transactions"] == n_tx
    rows = sql(store, "SELECT count(*) AS n, count(DISTINCT hash) AS d FROM eth_transactions")
    assert rows == [{"n": n_tx, "d": n_tx}]
    info = json.loads(subprocess.run([*CLI, "store", "info", "--store", str(store), "--json"], capture_output=True,
                                     text=True, check=True).stdout)
    assert info["eth_transactions"] == n_tx and info["eth_tip"] == head and info["eth_traces_source"] == "parity"
    assert info["eth_index_bytes_per_flow"] == 33.0
    # block hashes are the node's, in order
    got = [r["hash"] for r in sql(store, "SELECT hash FROM eth_blocks ORDER BY number")]
    assert got == [b["hash"] for b in blocks]


def test_eth_value_flows_equal_every_balance_change(chain):
    """The identity: for every address, ETH in minus ETH out over the flows equals its balance change."""
    node, summary, store, out = chain
    rows = sql(store, """
        WITH f AS (SELECT from_address AS a, -(amount::BIGNUM) AS v FROM eth_value_flows WHERE asset = 'ETH'
                   UNION ALL SELECT to_address, amount::BIGNUM FROM eth_value_flows WHERE asset = 'ETH')
        SELECT a, sum(v)::VARCHAR AS net FROM f WHERE a IS NOT NULL GROUP BY a""")
    net = {r["a"]: int(r["net"]) for r in rows}
    tip = out["ingested"]["tip"]
    addrs = [r["address"] for r in sql(store, "SELECT address FROM eth_addresses")]
    with EthRpc(node.url) as rpc:
        before = rpc.balances(addrs, 0)
        after = rpc.balances(addrs, tip)
    wrong = {a: (x - y, net.get(a, 0)) for a, x, y in zip(addrs, after, before) if x - y != net.get(a, 0)}
    assert not wrong
    assert len([a for a in addrs if net.get(a)]) > 10


def test_token_flows_equal_token_balance_changes(chain):
    node, summary, store, out = chain
    tokens = sql(store, "SELECT address FROM eth_contracts WHERE is_erc20")
    assert tokens
    rows = sql(store, """
        WITH f AS (SELECT asset, from_address AS a, -(amount::BIGNUM) AS v FROM eth_value_flows
                   WHERE kind IN ('erc20', 'wrap', 'unwrap')
                   UNION ALL SELECT asset, to_address, amount::BIGNUM FROM eth_value_flows
                   WHERE kind IN ('erc20', 'wrap', 'unwrap'))
        SELECT asset, a, sum(v)::VARCHAR AS net FROM f GROUP BY ALL""")
    zero = "0x" + "00" * 20
    checked = 0
    with EthRpc(node.url) as rpc:
        for r in rows:
            if r["a"] in (zero, r["asset"]):
                continue
            data = "0x70a08231" + r["a"][2:].rjust(64, "0")
            bal = int(rpc.call("eth_call", [{"to": r["asset"], "data": data}, hex(out["ingested"]["tip"])]), 16)
            assert bal == int(r["net"]), (r, bal)
            checked += 1
    assert checked > 5


def test_traces_failures_and_internal_contracts(chain):
    node, summary, store, out = chain
    # a reverted transaction pays its fee and moves nothing else
    failed = sql(store, "SELECT hash FROM eth_transactions WHERE receipt_status = 0")
    assert failed
    h = failed[0]["hash"]
    kinds = {r["kind"] for r in sql(store, f"SELECT kind FROM eth_value_flows WHERE transaction_hash = '{h}'")}
    assert kinds <= {"fee_tip", "fee_burnt"} and kinds
    # a failed inner call inside a successful tx: its children fail too, and it moves no ETH
    inner = sql(store, """SELECT r.transaction_hash, r.trace_address FROM eth_traces r
                          JOIN eth_transactions t ON t.hash = r.transaction_hash
                          WHERE r.status = 0 AND t.receipt_status = 1 AND len(r.trace_address) > 0""")
    assert inner
    created = sql(store, "SELECT count(*) AS n FROM eth_contracts WHERE by_internal_call")
    assert created[0]["n"] >= 1
    assert sql(store, "SELECT count(*) AS n FROM eth_value_flows WHERE kind = 'internal'")[0]["n"] > 0
    assert sql(store, "SELECT count(*) AS n FROM eth_value_flows WHERE kind = 'selfdestruct'")[0]["n"] >= 1


def test_token_standards_kept_apart(chain):
    node, summary, store, out = chain
    got = {r["standard"]: r["n"] for r in sql(store, "SELECT standard, count(*) AS n FROM eth_token_transfers "
                                                      "GROUP BY standard")}
    assert {"erc20", "erc721", "erc1155", "wrap", "unwrap"} <= set(got)
    nft = sql(store, "SELECT value, token_id FROM eth_token_transfers WHERE standard = 'erc721' LIMIT 1")[0]
    assert nft["value"] == "1" and nft["token_id"] is not None
    toks = {r["symbol"]: r for r in sql(store, "SELECT * FROM eth_tokens")}
    assert any(r["decimals"] == 6 for r in toks.values())
    proxies = sql(store, "SELECT proxy_implementation FROM eth_contracts WHERE proxy_implementation IS NOT NULL")
    assert proxies


def test_reingest_changes_nothing(chain, tmp_path):
    node, summary, store, out = chain
    with ChainStore(store) as st:
        before = st.content_hash()
    again = json.loads(ingest(node.url, store).stdout)
    assert again["ingested"]["blocks"] == 0 and again["ingested"]["rolled_back"] == 0
    with ChainStore(store) as st:
        assert st.content_hash() == before


def test_kill_9_then_resume_is_byte_identical(chain, tmp_path):
    node, summary, store, out = chain
    whole = tmp_path / "whole"
    ingest(node.url, whole, "--batch-blocks", "2")
    killed = tmp_path / "killed"
    env = dict(os.environ, CHAINTRAIL_TEST_PAUSE_COMMIT="0.3")
    p = subprocess.Popen([*CLI, "ingest", "eth", "--rpc", node.url, "--store", str(killed), "--batch-blocks", "2",
                          "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = killed / "MANIFEST.json"
        if m.exists() and json.loads(m.read_text()).get("counts", {}).get("eth_blocks", 0) >= 2:
            break
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    # (often killed mid-commit: DIRTY left, the next writer repairs it)
    committed = json.loads((killed / "MANIFEST.json").read_text())["counts"].get("eth_blocks", 0)
    assert committed < out["store_counts"]["eth_blocks"]
    ingest(node.url, killed, "--batch-blocks", "2")
    with ChainStore(whole) as a, ChainStore(killed) as b:
        assert a.content_hash() == b.content_hash()


def test_geth_call_tracer_gives_the_same_value_flows_as_trace_block(chain, tmp_path):
    """The same chain read through debug_traceBlockByNumber (callTracer, as geth/reth serve it) instead of
    trace_block: every value flow, contract and token transfer comes out the same."""
    node, summary, store, out = chain
    geth = tmp_path / "geth"
    got = json.loads(ingest(node.url, geth, "--traces", "geth").stdout)
    assert got["ingested"]["traces_source"] == "geth"
    for view in ("eth_value_flows", "eth_contracts", "eth_token_transfers", "eth_tokens", "eth_addresses"):
        a = sql(store, f"SELECT * FROM {view} ORDER BY ALL")
        b = sql(geth, f"SELECT * FROM {view} ORDER BY ALL")
        assert a == b, view
    # the frames themselves: same tree, same failures
    cols = "transaction_hash, trace_address, trace_type, from_address, value, status"
    assert sql(store, f"SELECT {cols} FROM eth_traces WHERE trace_type <> 'reward' ORDER BY ALL") == \
        sql(geth, f"SELECT {cols} FROM eth_traces ORDER BY ALL")

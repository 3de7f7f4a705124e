"""The whole ingest over real mainnet answers: `chaintrail ingest eth` against a node replaying ethereum-etl's
recorded JSON-RPC answers, the store then compared with ethereum-etl's own records field by field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_etl_fixtures import case, records
from replay_node import ReplayNode

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
FOLDER = ("test_stream", "blocks_1755634_1755635")


def _run(url: str, store: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "ingest", "eth", "--rpc", url, "--store", str(store), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    store = tmp_path_factory.mktemp("replay") / "store"
    with ReplayNode([case(*FOLDER)]) as node:
        r = _run(node.url, store, "--from", "1755634", "--to", "1755635", "--json")
    assert r.returncode == 0, r.stderr
    return store, json.loads(r.stdout)


def _rows(store: Path, sql: str) -> list[dict]:
    with ChainStore(store) as st:
        return query(st, sql).to_pylist()


def _same(ours: dict, theirs: dict, fields: list[str]) -> dict:
    """Fields that differ, compared as text (our amounts are exact decimal strings, theirs JSON numbers)."""
    norm = lambda v: None if v is None else str(v)  # noqa: E731
    return {f: (ours[f], theirs[f]) for f in fields if norm(ours[f]) != norm(theirs[f])}


def test_says_the_node_has_no_tracer(replayed):
    store, out = replayed
    assert out["ingested"]["traces_source"] == "none"
    assert any("neither trace_block nor debug_traceBlockByNumber" in n for n in out["ingested"]["notes"])


def test_blocks_match_ethereum_etl(replayed):
    store, _ = replayed
    ours = {r["number"]: r for r in _rows(store, "SELECT * FROM eth_blocks")}
    theirs = records(case(*FOLDER) / "expected_blocks.json")
    assert sorted(ours) == sorted(r["number"] for r in theirs)
    fields = ["hash", "parent_hash", "miner", "difficulty", "size", "gas_limit", "gas_used", "timestamp",
              "transaction_count", "base_fee_per_gas", "state_root"]
    for t in theirs:
        assert _same(ours[t["number"]], t, fields) == {}
    raw = _rows(store, "SELECT number, '0x' || lower(hex(nonce)) AS nonce, total_difficulty, "
                       "'0x' || lower(hex(extra_data)) AS extra_data, '0x' || lower(hex(sha3_uncles)) AS sha3_uncles,"
                       " '0x' || lower(hex(receipts_root)) AS receipts_root FROM raw.eth_blocks")
    for r, t in zip(sorted(raw, key=lambda r: r["number"]), sorted(theirs, key=lambda t: t["number"])):
        assert _same(r, t, ["nonce", "total_difficulty", "extra_data", "sha3_uncles", "receipts_root"]) == {}


def test_transactions_match_ethereum_etl_with_receipt_fields(replayed):
    store, _ = replayed
    ours = {r["hash"]: r for r in _rows(store, "SELECT * FROM eth_transactions")}
    theirs = records(case(*FOLDER) / "expected_transactions.json")
    assert len(theirs) == 2 and set(ours) == {t["hash"] for t in theirs}
    fields = ["nonce", "transaction_index", "from_address", "to_address", "value", "gas", "gas_price", "input",
              "block_number", "max_fee_per_gas", "max_priority_fee_per_gas", "transaction_type",
              "receipt_gas_used", "receipt_contract_address", "receipt_status", "receipt_effective_gas_price"]
    for t in theirs:
        assert _same(ours[t["hash"]], t, fields) == {}
    raw = {("0x" + r["hash"].hex()): r for r in _rows(store, "SELECT hash, receipt_cumulative_gas_used, "
                                                            "receipt_root FROM raw.eth_transactions")}
    for t in theirs:
        r = raw[t["hash"]]
        assert r["receipt_cumulative_gas_used"] == t["receipt_cumulative_gas_used"]
        assert "0x" + r["receipt_root"].hex() == t["receipt_root"]


def test_logs_and_token_transfers_match_ethereum_etl(replayed):
    store, _ = replayed
    ours = {(r["transaction_hash"], r["log_index"]): r for r in _rows(store, "SELECT * FROM eth_logs")}
    theirs = records(case(*FOLDER) / "expected_logs.json")
    assert set(ours) == {(t["transaction_hash"], t["log_index"]) for t in theirs}
    for t in theirs:
        o = ours[(t["transaction_hash"], t["log_index"])]
        assert _same(o, t, ["address", "data", "block_number", "transaction_index"]) == {}
        assert o["topics"] == t["topics"]
    got = _rows(store, "SELECT * FROM eth_token_transfers")
    want = records(case(*FOLDER) / "expected_token_transfers.json")
    assert len(got) == len(want) == 1
    assert _same(got[0], want[0], ["token_address", "from_address", "to_address", "value", "transaction_hash",
                                   "log_index", "block_number"]) == {}
    assert got[0]["standard"] == "erc20"


def test_value_flows_of_the_replayed_blocks(replayed):
    """2016 blocks: no base fee, so each fee is wholly the miner's; the plain transfer moves its value; without
    traces the token contract's inner moves are not seen (the store says so: traces 'none')."""
    store, _ = replayed
    flows = _rows(store, "SELECT kind, from_address, to_address, asset, amount, transaction_hash FROM eth_value_flows "
                         "ORDER BY block_number, flow_index")
    txs = {t["hash"]: t for t in records(case(*FOLDER) / "expected_transactions.json")}
    fees = [f for f in flows if f["kind"] == "fee_tip"]
    assert len(fees) == 2
    for f in fees:
        t = txs[f["transaction_hash"]]
        assert int(f["amount"]) == t["receipt_gas_used"] * t["gas_price"] and f["from_address"] == t["from_address"]
    assert not [f for f in flows if f["kind"] == "fee_burnt"]
    value = [f for f in flows if f["kind"] == "tx_value"]
    assert [(f["to_address"], int(f["amount"])) for f in value] == [
        (t["to_address"], t["value"]) for t in txs.values() if t["value"]]
    erc20 = [f for f in flows if f["kind"] == "erc20"]
    assert len(erc20) == 1 and erc20[0]["asset"] == "0xbb9bc244d798123fde783fcc1c72d3bb8c189413"

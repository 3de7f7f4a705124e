"""A generated chain comes back byte-identical from its journal; anvil's own state dump only with history.

Each claim of ``scenario/eth/journal.py``'s docstring about anvil 1.7.1's dump is checked here on real nodes,
and every served chain is ingested and compared with the store of the node that played it.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from anvil_needed import need_anvil

from chaintrail.chains.ethereum.rpc import EthRpc, RpcError
from chaintrail.errors import SourceError
from chaintrail.scenario.eth.genesis import Genesis
from chaintrail.scenario.eth.journal import JournalRpc, replay
from chaintrail.scenario.eth.mix import play_mix
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth_activity import drive
from chaintrail.store.chainstore import ChainStore

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
GENESIS = Genesis(chain_id=31337)


def ingest(url: str, store: Path, *, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([*CLI, "ingest", "eth", "--rpc", url, "--store", str(store), "--json"],
                       capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"ingest exit {r.returncode}: {r.stderr}")
    return r


def content_hash(store: Path) -> str:
    with ChainStore(store) as st:
        return st.content_hash()


def chain_facts(url: str) -> tuple[list[dict], list[list[dict]], list]:
    with EthRpc(url) as rpc:
        tip = rpc.head()
        blocks = rpc.blocks(list(range(tip + 1)))
        return blocks, rpc.receipts(blocks), rpc.call("trace_block", [hex(2)])


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """A chain of contract activity and transfers played through a JournalRpc, its dumps, and its store."""
    need_anvil()
    work = tmp_path_factory.mktemp("played")
    node = GENESIS.node(log_dir=str(work)).start()
    try:
        with JournalRpc(node.url, work / "journal.jsonl.gz", GENESIS) as rpc:
            drive(node.url, seed=4, blocks=3, txs_per_block=12, rpc=rpc)
            play_mix(Sender(rpc), seed=4, people=20, blocks=3, per_block=40)
            tip = rpc.finish()
            for name, history in (("flat.json", False), ("history.json", True)):
                dumped = rpc.call("anvil_dumpState", [history])
                (work / name).write_bytes(gzip.decompress(bytes.fromhex(dumped[2:])))
        facts = chain_facts(node.url)
        ingest(node.url, work / "store")
        yield work, tip, facts, content_hash(work / "store")
    finally:
        node.stop()


def test_journal_replays_byte_identical_and_ingests_to_the_same_store(played, tmp_path):
    work, tip, facts, store_hash = played
    with GENESIS.node(log_dir=str(tmp_path)) as node:
        with EthRpc(node.url, batch_size=1 << 30, workers=1, retries=0) as rpc:
            assert replay(work / "journal.jsonl.gz", rpc) == tip
        assert chain_facts(node.url) == facts  # blocks, receipts and traces, field by field
        ingest(node.url, tmp_path / "store")
    assert content_hash(tmp_path / "store") == store_hash
    assert tip["tip"] == len(facts[0]) - 1 and tip["transactions"] == sum(len(r) for r in facts[1])


def test_state_dump_without_history_keeps_blocks_but_not_old_state(played, tmp_path):
    work, tip, facts, _ = played
    with GENESIS.node(log_dir=str(tmp_path), load_state=work / "flat.json") as node:
        assert chain_facts(node.url) == facts
        with EthRpc(node.url, retries=0) as rpc:
            miner = facts[0][1]["miner"]
            rpc.balances([miner], tip["tip"])  # the tip's state is there
            with pytest.raises(RpcError, match="BlockOutOfRangeError"):
                rpc.balances([miner], 1)
        r = ingest(node.url, tmp_path / "store", check=False)
        assert r.returncode == 3 and "BlockOutOfRangeError" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_state_dump_with_history_ingests_to_the_same_store(played, tmp_path):
    work, _tip, facts, store_hash = played
    with GENESIS.node(log_dir=str(tmp_path), load_state=work / "history.json") as node:
        assert chain_facts(node.url) == facts
        ingest(node.url, tmp_path / "store")
    assert content_hash(tmp_path / "store") == store_hash


def test_replay_refuses_another_genesis_a_changed_journal_and_a_used_node(played, tmp_path):
    work, _tip, _facts, _ = played
    journal = work / "journal.jsonl.gz"
    with Genesis(chain_id=31337, timestamp=GENESIS.timestamp + 1).node(log_dir=str(tmp_path)) as node:
        with EthRpc(node.url, batch_size=1 << 30, workers=1, retries=0) as rpc:
            with pytest.raises(SourceError, match=r"replay .*journal.jsonl.gz: tip is block \d+ 0x"):
                replay(journal, rpc)
            with pytest.raises(SourceError, match="is not fresh"):
                replay(journal, rpc)
    lines = gzip.decompress(journal.read_bytes()).decode().splitlines()
    at = next(i for i, line in enumerate(lines) if '"eth_sendTransaction"' in line)
    record = json.loads(lines[at])
    params = record["calls"][0][1][0]
    params["value"] = hex(int(params["value"], 16) + 1)
    lines[at] = json.dumps(record)
    changed = tmp_path / "changed.jsonl.gz"
    changed.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with GENESIS.node(log_dir=str(tmp_path)) as node:
        with EthRpc(node.url, batch_size=1 << 30, workers=1, retries=0) as rpc:
            with pytest.raises(SourceError, match=rf"line {at + 1}: eth_sendTransaction gave tx 0x[0-9a-f]+, "
                                                  r"the journal has 0x"):
                replay(changed, rpc)


def test_cli_generate_is_reproducible_and_serve_feeds_ingest(tmp_path):
    need_anvil()
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        r = subprocess.run([*CLI, "scenario", "generate", "--chain", "eth", "--seed", "9", "--kind", "none",
                            "--scale", "0.3", "--out", str(out), "--dump-state", "--json"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)
        assert summary["tx_per_s"] > 0 and summary["transactions"] == sum(c["transactions"]
                                                                          for c in summary["chains"])
    names = sorted(str(p.relative_to(outs[0])) for p in outs[0].rglob("*") if p.is_file())
    top = sorted({n.split("/")[0] for n in names})
    assert top == ["airdrop.parquet", "answer_key.json", "bridge_legs.parquet",
                   "chain-31337.journal.jsonl.gz", "chain-31337.state.json", "chain-31338.journal.jsonl.gz",
                   "chain-31338.state.json", "deposit_addresses.parquet", "economy_addresses.parquet", "prices",
                   "tornado_links.parquet"]
    for name in names:
        if name.endswith(".state.json"):
            continue
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    key = json.loads((outs[0] / "answer_key.json").read_text())
    assert [c["chain_id"] for c in key["chains"]] == [31337, 31338]

    hashes = []
    for how in ([], ["--from-state"]):
        proc = subprocess.Popen([*CLI, "scenario", "serve", "--chain", "eth", "--dir", str(outs[0]), "--json",
                                 *how], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            urls = json.loads(proc.stdout.readline())["rpc"]
            store = tmp_path / f"store{len(hashes)}"
            ingest(urls["31337"], store)
            hashes.append(content_hash(store))
            with EthRpc(urls["31338"]) as rpc:
                head = rpc.call("eth_getBlockByNumber", ["latest", False])
            assert head["hash"] == key["chains"][1]["tip_hash"]
        finally:
            proc.terminate()
            proc.wait(30)
    assert hashes[0] == hashes[1]

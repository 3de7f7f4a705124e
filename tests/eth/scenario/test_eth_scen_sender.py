"""The fast sender on real anvil nodes: same seed -> same chain, receipts checked, nonces and fees explicit."""

from __future__ import annotations

from pathlib import Path

import pytest
from anvil_needed import need_anvil

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import SourceError
from chaintrail.scenario.eth.contracts import derived_address
from chaintrail.scenario.eth.genesis import Genesis
from chaintrail.scenario.eth.mix import play_mix
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth.tokens import deploy_stablecoin
from chaintrail.scenario.eth_calls import calldata

ETHER = 10**18


def _open(tmp_path: Path, genesis: Genesis = Genesis()):
    need_anvil()
    node = genesis.node(log_dir=str(tmp_path)).start()
    rpc = EthRpc(node.url, batch_size=1 << 20, workers=1, retries=0)
    return node, rpc


def _mix_tip(tmp_path: Path, seed: int) -> tuple[dict, list[str]]:
    node, rpc = _open(tmp_path)
    try:
        summary = play_mix(Sender(rpc), seed=seed, people=40, blocks=4, per_block=60)
        hashes = [b["hash"] for b in rpc.block_headers(list(range(summary["tip"] + 1)))]
        return summary, hashes
    finally:
        rpc.close()
        node.stop()


def test_same_seed_same_chain_other_seed_other_chain(tmp_path):
    first, hashes = _mix_tip(tmp_path, 11)
    again, hashes2 = _mix_tip(tmp_path, 11)
    other, _ = _mix_tip(tmp_path, 12)
    assert hashes == hashes2 and first["tip_hash"] == again["tip_hash"] == hashes[-1]
    assert other["tip"] == first["tip"] and other["tip_hash"] != first["tip_hash"]


def test_mix_mines_what_it_sent_from_impersonated_fresh_addresses(tmp_path):
    node, rpc = _open(tmp_path)
    try:
        sender = Sender(rpc)
        first = sender.number + 1
        summary = play_mix(sender, seed=3, people=30, blocks=3, per_block=80, token_share=0.5)
        assert summary["transfers"] == 3 * 80 and summary["tx_per_s"] > 0
        blocks = rpc.blocks(list(range(summary["tip"] - 2, summary["tip"] + 1)))
        txs = [tx for b in blocks for tx in b["transactions"]]
        people = {derived_address((3).to_bytes(8, "big"), "mix", i) for i in range(30)}
        assert len(txs) == 240 and {tx["from"] for tx in txs} <= people
        to_token = sum(1 for tx in txs if tx["to"] == summary["token"])
        assert 0 < to_token < 240 and all(tx["input"] == "0x" for tx in txs if tx["to"] != summary["token"])
        # every tx of the run names its nonce: per sender they run 0, 1, 2, ... with no gap
        nonces: dict[str, list[int]] = {}
        for b in rpc.blocks(list(range(first, summary["tip"] + 1))):
            for tx in b["transactions"]:
                nonces.setdefault(tx["from"], []).append(int(tx["nonce"], 16))
        for who in people & nonces.keys():
            assert sorted(nonces[who]) == list(range(len(nonces[who])))
        assert sender.mined == sum(len(v) for v in nonces.values())
    finally:
        rpc.close()
        node.stop()


def test_a_planned_success_that_reverts_names_the_tx_and_stops_the_sender(tmp_path):
    node, rpc = _open(tmp_path)
    try:
        sender = Sender(rpc)
        dev = rpc.call("eth_accounts", [])[0].lower()
        token = deploy_stablecoin(sender, dev, "Test Dollar", "TD")
        pauper = derived_address(b"seed", "pauper", 0)
        sender.send(dev, pauper, ETHER, label="fund")
        sender.mine()
        good = sender.send(dev, token, 0, calldata("mint(address,uint256)", dev, 5), gas=100_000, label="mint")
        bad = sender.send(pauper, token, 0, calldata("transfer(address,uint256)", dev, 1), gas=90_000,
                          label="broke transfer")
        sender.flush()
        assert bad.hash is not None and bad.nonce == 0
        with pytest.raises(SourceError, match=rf"broke transfer tx {bad.hash} from {pauper} nonce 0 .* failed"):
            sender.mine()
        assert good.receipt is not None and good.receipt["status"] == "0x1"
        with pytest.raises(SourceError, match="sender stopped after an earlier failure"):
            sender.send(dev, pauper, 1)
        # planned to fail, and it does: no error
        sender2 = Sender(rpc)
        fail = sender2.send(pauper, token, 0, calldata("transfer(address,uint256)", dev, 1), gas=90_000, ok=False)
        assert sender2.mine()[0]["status"] == "0x0" and fail.receipt["status"] == "0x0"
        # planned to fail, but it succeeds: an error as well
        ok = sender2.send(dev, pauper, 1, ok=False, label="surprise")
        sender2.flush()
        with pytest.raises(SourceError, match=rf"surprise tx {ok.hash} .* succeeded, planned to fail"):
            sender2.mine()
    finally:
        rpc.close()
        node.stop()


def test_a_tx_the_node_refuses_names_the_tx(tmp_path):
    node, rpc = _open(tmp_path)
    try:
        sender = Sender(rpc)
        empty = derived_address(b"seed", "empty", 1)
        sender.send(empty, empty, ETHER, label="overdraft")
        with pytest.raises(SourceError, match=rf"overdraft tx \(not sent\) from {empty} nonce 0 .* refused"):
            sender.mine()
    finally:
        rpc.close()
        node.stop()


def test_block_gas_limit_is_kept_and_nonces_follow_the_node(tmp_path):
    node, rpc = _open(tmp_path, Genesis(gas_limit=100_000))
    try:
        dev = rpc.call("eth_accounts", [])
        rpc.call("evm_setAutomine", [True])
        rpc.call("eth_sendTransaction", [{"from": dev[0], "to": dev[1], "value": "0x1"}])  # nonce 0 used elsewhere
        rpc.call("evm_setAutomine", [False])
        sender = Sender(rpc)
        txs = [sender.send(dev[0], dev[1], 1), sender.send(dev[0], dev[2], 1), sender.send(dev[2], dev[0], 1),
               sender.send(dev[3], dev[0], 1)]
        assert sender.room() == 100_000 - 4 * 21_000
        with pytest.raises(ValueError, match="block 2 is full"):
            sender.send(dev[0], dev[1], 1)
        receipts = sender.mine(sender.timestamp + 30)
        assert [r["transactionHash"] for r in receipts] == [t.hash for t in txs]
        assert [t.nonce for t in txs] == [1, 2, 0, 0] and sender.nonce_of(dev[0]) == 3
        head = rpc.call("eth_getBlockByNumber", ["latest", False])
        assert int(head["timestamp"], 16) == sender.timestamp and head["hash"] == sender.block_hash
        with pytest.raises(ValueError, match="not after"):
            sender.mine(sender.timestamp)
    finally:
        rpc.close()
        node.stop()

"""EthRpc against a real anvil: blocks, receipts, parity traces, state reads, and batch order under concurrency."""

from __future__ import annotations

import time

import pytest
from Crypto.Hash import keccak

from chaintrail.chains.ethereum.node import AnvilNode
from chaintrail.chains.ethereum.rpc import EthRpc, RpcError
from chaintrail.errors import SourceError

DEV0 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"  # anvil's funded, unlocked accounts
DEV1 = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
DEAD = "0x000000000000000000000000000000000000dead"
ETHER = 10**18
# Hand-assembled contracts. FORWARDER: CALL(gas, DEAD, callvalue, 0, 0, 0, 0); STOP. REVERTER: REVERT(0, 0).
FORWARDER = "60006000600060003473" + DEAD[2:] + "5af100"
REVERTER = "60006000fd"


def _init_code(runtime: str) -> str:
    """Init code that returns ``runtime``: CODECOPY(0, 12, len) RETURN(0, len)."""
    n = len(runtime) // 2
    return f"0x60{n:02x}600c600039{'60%02x' % n}6000f3{runtime}"


def _create_address(sender: str, nonce: int) -> str:
    """CREATE's address: keccak256(rlp([sender, nonce]))[12:], for nonces below 128."""
    rlp_nonce = b"\x80" if nonce == 0 else bytes([nonce])
    body = b"\x94" + bytes.fromhex(sender[2:]) + rlp_nonce
    return "0x" + keccak.new(digest_bits=256, data=bytes([0xC0 + len(body)]) + body).hexdigest()[24:]


def _send(rpc: EthRpc, tx: dict) -> dict:
    """Send ``tx`` and wait for its receipt (anvil's automine can answer the hash before the block is in)."""
    h = rpc.call("eth_sendTransaction", [tx])
    deadline = time.monotonic() + 10
    while (receipt := rpc.call("eth_getTransactionReceipt", [h])) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert receipt is not None, f"anvil did not mine {h}"
    return receipt


@pytest.fixture
def chain(anvil: AnvilNode) -> dict:
    """Blocks 1-5, one tx each: deploy FORWARDER, deploy REVERTER, 1 ether through FORWARDER to DEAD
    (an internal call), a failed call to REVERTER, 5 wei from DEV1 to DEAD."""
    with EthRpc(anvil.url) as rpc:
        fwd = _send(rpc, {"from": DEV0, "data": _init_code(FORWARDER)})["contractAddress"]
        rev = _send(rpc, {"from": DEV0, "data": _init_code(REVERTER)})["contractAddress"]
        _send(rpc, {"from": DEV0, "to": fwd, "value": hex(ETHER), "gas": hex(100_000)})
        _send(rpc, {"from": DEV0, "to": rev, "gas": hex(100_000)})
        _send(rpc, {"from": DEV1, "to": DEAD, "value": hex(5)})
    return {"url": anvil.url, "forwarder": fwd, "reverter": rev}


def test_blocks_and_headers(chain: dict) -> None:
    with EthRpc(chain["url"]) as rpc:
        assert rpc.head() == 5
        blocks = rpc.blocks(range(6))
        headers = rpc.block_headers(range(6))
    assert [int(b["number"], 16) for b in blocks] == list(range(6))
    assert [len(b["transactions"]) for b in blocks] == [0, 1, 1, 1, 1, 1]
    assert all(blocks[i]["parentHash"] == blocks[i - 1]["hash"] for i in range(1, 6))
    assert [h["hash"] for h in headers] == [b["hash"] for b in blocks]
    assert headers[3]["transactions"] == [blocks[3]["transactions"][0]["hash"]]
    assert blocks[3]["transactions"][0]["to"] == chain["forwarder"]


def test_receipts_are_the_blocks_own_and_match_per_tx_receipts(chain: dict) -> None:
    with EthRpc(chain["url"]) as rpc:
        blocks = rpc.blocks(range(6))
        receipts = rpc.receipts(blocks)  # anvil serves eth_getBlockReceipts
        one_by_one = rpc.batch([("eth_getTransactionReceipt", [tx["hash"]])
                                for b in blocks for tx in b["transactions"]])
    assert [len(r) for r in receipts] == [0, 1, 1, 1, 1, 1]
    assert [r for rs in receipts for r in rs] == one_by_one
    assert [int(rs[0]["status"], 16) for rs in receipts[1:]] == [1, 1, 1, 0, 1]
    assert receipts[1][0]["contractAddress"] == _create_address(DEV0, 0) == chain["forwarder"]
    assert receipts[2][0]["contractAddress"] == _create_address(DEV0, 1) == chain["reverter"]


def test_receipts_of_a_block_that_moved_are_refused(chain: dict, anvil: AnvilNode) -> None:
    """Receipts must belong to the block asked about: a block from before a reorg gets a one-line error."""
    with EthRpc(chain["url"]) as rpc:
        old = rpc.blocks([5])
        rpc.call("anvil_rollback", [1])  # drop block 5 ...
        _send(rpc, {"from": DEV1, "to": DEV0, "value": hex(7)})  # ... and mine another
        with pytest.raises(SourceError) as err:
            rpc.receipts(old)
    msg = str(err.value)
    assert msg.startswith("eth_getBlockReceipts block 5: receipt 0 is for tx ")
    assert msg.endswith(f"(did the chain reorganise?) ({anvil.url})")


def test_parity_traces_show_the_internal_call_and_the_failure(chain: dict) -> None:
    with EthRpc(chain["url"]) as rpc:
        flavour, traces = rpc.traces([3, 4, 5])
        assert rpc.traces([0]) == ("parity", [[]])
    assert flavour == "parity"
    top, inner = traces[0]
    assert (top["action"]["from"], top["action"]["to"], int(top["action"]["value"], 16)) == (
        DEV0, chain["forwarder"], ETHER)
    assert (top["traceAddress"], top["subtraces"]) == ([], 1)
    assert (inner["action"]["from"], inner["action"]["to"], int(inner["action"]["value"], 16)) == (
        chain["forwarder"], DEAD, ETHER)
    assert (inner["traceAddress"], inner["action"]["callType"]) == ([0], "call")
    (failed,) = traces[1]
    assert failed["action"]["to"] == chain["reverter"] and failed["error"] == "Reverted"
    assert [t["action"]["to"] for t in traces[2]] == [DEAD]


def test_state_reads(chain: dict) -> None:
    fwd, rev = chain["forwarder"], chain["reverter"]
    with EthRpc(chain["url"]) as rpc:
        assert rpc.codes([fwd, rev, DEAD], 5) == ["0x" + FORWARDER, "0x" + REVERTER, "0x"]
        assert rpc.codes([fwd], 0) == ["0x"]
        assert rpc.balances([DEAD, fwd], 5) == [ETHER + 5, 0]
        assert rpc.balances([DEAD], 2) == [0]
        assert rpc.balances([DEAD], "latest") == [ETHER + 5]
        assert rpc.storage_at([(fwd, "0x0")], 5) == ["0x" + "00" * 32]
        answers = rpc.eth_calls([(rev, "0x"), (fwd, "0x06fdde03"), (DEAD, "0x")], 5)
    assert answers[1:] == ["0x", "0x"]
    err = answers[0]
    assert isinstance(err, RpcError) and err.code == 3
    assert str(err) == f"eth_call to {rev} data 0x at block 5: node error 3: execution reverted ({chain['url']})"


def test_unknown_block_is_one_clear_line(anvil: AnvilNode) -> None:
    with EthRpc(anvil.url) as rpc, pytest.raises(SourceError) as err:
        rpc.blocks([0, 9])
    assert str(err.value) == f"eth_getBlockByNumber block 9: the node has no such block (null) ({anvil.url})"


def test_batch_order_under_concurrency(anvil: AnvilNode) -> None:
    """More calls than one batch holds, sent by 4 workers: answers still come back in request order."""
    with EthRpc(anvil.url, batch_size=7, workers=4) as rpc:
        rpc.call("anvil_mine", [hex(150)])
        numbers = list(range(150, -1, -1))  # descending, so that no order falls out by accident
        headers = rpc.block_headers(numbers)
        assert [int(h["number"], 16) for h in headers] == numbers
        assert all(headers[i]["parentHash"] == headers[i + 1]["hash"] for i in range(150))
        mixed = rpc.batch([("eth_getBlockByNumber", [hex(n), False]) if n % 2 else ("eth_blockNumber", [])
                           for n in range(40)])
        assert [m if isinstance(m, str) else int(m["number"], 16) for m in mixed] == [
            hex(150) if n % 2 == 0 else n for n in range(40)]
        assert len(rpc._wire._conns) > 1  # several workers really sent batches

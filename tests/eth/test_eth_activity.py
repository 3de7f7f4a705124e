"""The test-chain driver on real anvil nodes: same seed -> same chain, and what it says it did is on chain."""

from __future__ import annotations

import pytest
from anvil_needed import need_anvil

from chaintrail.chains.ethereum.hexutil import selector
from chaintrail.scenario.eth_calls import calldata

GENESIS = ("--timestamp", "1700000000")  # a fixed genesis, so that two nodes can agree on every hash
BLOCKS, TXS = 14, 16


@pytest.fixture(scope="module")
def chain():
    """One driven chain (seed 5): its node, a client and the driver's summary."""
    need_anvil()  # skips without anvil, fails in CI
    from chaintrail.chains.ethereum.node import AnvilNode
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.scenario.eth_activity import drive

    with AnvilNode(extra_args=GENESIS) as node, EthRpc(node.url) as rpc:
        summary = drive(node.url, seed=5, blocks=BLOCKS, txs_per_block=TXS)
        yield node, rpc, summary


def _all_receipts(rpc, tip: int) -> list[dict]:
    return [r for block in rpc.batch([("eth_getBlockReceipts", [hex(n)]) for n in range(1, tip + 1)])
            for r in block]


def _call_int(rpc, to: str, data: str, tip: int) -> int:
    return int(rpc.call("eth_call", [{"to": to, "data": data}, hex(tip)]), 16)


def test_same_seed_same_chain_other_seed_other_chain(chain):
    from chaintrail.chains.ethereum.node import AnvilNode
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.scenario.eth_activity import drive

    _node, rpc, first = chain
    tip = first["tip"]
    hashes = [b["hash"] for b in rpc.block_headers(list(range(tip + 1)))]
    with AnvilNode(extra_args=GENESIS) as node, EthRpc(node.url) as rpc2:
        again = drive(node.url, seed=5, blocks=BLOCKS, txs_per_block=TXS)
        assert again["tip"] == tip and again["tip_hash"] == first["tip_hash"] == hashes[-1]
        assert [b["hash"] for b in rpc2.block_headers(list(range(tip + 1)))] == hashes
    timings = {"seconds", "activity_blocks_per_s", "activity_txs_per_s"}
    assert {k: v for k, v in again.items() if k not in timings} == {k: v for k, v in first.items() if k not in timings}
    with AnvilNode(extra_args=GENESIS) as node:
        other = drive(node.url, seed=6, blocks=BLOCKS, txs_per_block=TXS)
    assert other["tip"] == tip and other["tip_hash"] != first["tip_hash"]


def test_blocks_hold_many_transactions_and_every_kind(chain):
    _node, rpc, summary = chain
    counts = summary["counts"]
    kinds = {"eth_transfer", "erc20_transfer", "erc20_approve", "erc20_transfer_from", "weth_deposit",
             "weth_withdraw", "weth_transfer", "nft_mint", "nft_transfer", "erc1155_single", "erc1155_batch",
             "router_fanout", "factory_create", "piggy_fund", "selfdestruct", "proxy_transfer", "odd_transfer",
             "blacklist", "reverted"}
    assert kinds <= {k for k, n in counts.items() if n > 0}
    assert sum(counts.values()) == BLOCKS * TXS + 1  # the selfdestruct comes on top of its block's quota
    sizes = [len(b["transactions"]) for b in rpc.block_headers(list(range(summary["first_activity_block"],
                                                                            summary["tip"] + 1)))]
    assert len(sizes) == BLOCKS and min(sizes) >= TXS
    receipts = _all_receipts(rpc, summary["tip"])
    assert len(receipts) == summary["transactions"]
    assert {r["type"] for r in receipts} == {"0x0", "0x1", "0x2"}  # legacy, access-list and EIP-1559 all present


def test_reverted_transactions_and_only_they_have_status_0(chain):
    _node, rpc, summary = chain
    failed = {r["transactionHash"] for r in _all_receipts(rpc, summary["tip"]) if r["status"] == "0x0"}
    assert failed == set(summary["tx_hashes"]["reverted"])
    assert len(failed) == summary["counts"]["reverted"] >= 1


def test_router_leg_fails_inside_a_successful_transaction(chain):
    _node, rpc, summary = chain
    sink = summary["contracts"]["SINK"]
    failed_legs = 0
    for h in summary["tx_hashes"]["router_fanout"]:
        assert rpc.call("eth_getTransactionReceipt", [h])["status"] == "0x1"
        traces = rpc.call("trace_transaction", [h])
        assert traces[0]["traceAddress"] == [] and "error" not in traces[0]
        bad = [t for t in traces if t.get("error")]
        # each failed leg: the router's own forward() frame and, under it, the call into the sink
        into_sink = [t for t in bad if t["action"].get("to", "").lower() == sink]
        assert all(len(t["traceAddress"]) == 2 for t in into_sink)
        assert len(bad) == 2 * len(into_sink)
        failed_legs += len(into_sink)
    assert failed_legs == summary["router_failed_legs"] >= 1


def test_factory_children_exist_and_were_created_by_internal_calls(chain):
    _node, rpc, summary = chain
    children = summary["children"]
    assert len(children) == summary["counts"]["factory_create"] >= 1
    codes = rpc.codes(children, summary["tip"])
    assert all(len(code) > 2 for code in codes)
    created = set()
    for h in summary["tx_hashes"]["factory_create"]:
        for t in rpc.call("trace_transaction", [h]):
            if t["type"] == "create":
                assert t["traceAddress"] == [0]  # inside the call to the factory, not a deployment tx
                assert t["action"]["from"].lower() == summary["contracts"]["FACTORY"]
                created.add(t["result"]["address"].lower())
    assert created == set(children)
    factory_of = [rpc.call("eth_call", [{"to": c, "data": calldata("factory()")}, "latest"]) for c in children]
    assert {"0x" + w[-40:] for w in factory_of} == {summary["contracts"]["FACTORY"]}


def test_token_holdings_match_the_summary(chain):
    _node, rpc, summary = chain
    tip, c = summary["tip"], summary["contracts"]
    holders = summary["accounts"] + summary["children"] + [c["ROUTER"], c["FACTORY"]]
    for token, expected in summary["balances"].items():
        got = {h: _call_int(rpc, token, calldata("balanceOf(address)", h), tip) for h in holders}
        assert {h: v for h, v in got.items() if v} == expected, token
        assert set(expected) <= set(holders)
    usdx_supply = _call_int(rpc, c["USDX"], calldata("totalSupply()"), tip)
    assert usdx_supply == sum(summary["balances"][c["USDX"]].values()) == 1_000_000 * 10**6 * len(summary["accounts"])
    weth = summary["balances"][c["WETH"]]
    assert int(rpc.call("eth_getBalance", [c["WETH"], hex(tip)]), 16) == sum(weth.values()) > 0
    for token_id, owner in summary["nft_owners"].items():
        word = rpc.call("eth_call", [{"to": c["NFT"], "data": calldata("ownerOf(uint256)", int(token_id))}, hex(tip)])
        assert "0x" + word[-40:] == owner
    for item, book in summary["erc1155"].items():
        got = {h: _call_int(rpc, c["ITEMS"], calldata("balanceOf(uint256,address)", int(item), h), tip)
               for h in summary["accounts"]}
        assert {h: v for h, v in got.items() if v} == book
    # the blacklisted holder still holds what it had, and the issuer's freeze is on chain
    frozen = summary["blacklisted"][0]
    assert _call_int(rpc, c["USDX"], calldata("isBlackListed(address)", frozen), tip) == 1


def test_selfdestruct_proxy_and_odd_token(chain):
    _node, rpc, summary = chain
    tip, c = summary["tip"], summary["contracts"]
    (smash,) = summary["tx_hashes"]["selfdestruct"]
    suicides = [t for t in rpc.call("trace_transaction", [smash]) if t["type"] == "suicide"]
    assert len(suicides) == 1 and int(suicides[0]["action"]["balance"], 16) == summary["piggy_smashed_amount"] > 0
    assert int(rpc.call("eth_getBalance", [c["PIGGY"], hex(tip)]), 16) == 0
    slot = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc"
    (word,) = rpc.storage_at([(c["PUSD"], slot)], tip)
    assert "0x" + word[-40:] == c["PUSD_IMPL"]
    assert rpc.call("eth_call", [{"to": c["PUSD"], "data": calldata("decimals()")}, hex(tip)])[-2:] == "06"
    name = rpc.call("eth_call", [{"to": c["ODD"], "data": calldata("name()")}, hex(tip)])
    assert bytes.fromhex(name[2:]) == b"Odd Token".ljust(32, b"\0")
    (no_decimals,) = rpc.eth_calls([(c["ODD"], "0x%08x" % selector("decimals()"))], tip)
    assert isinstance(no_decimals, Exception)


def test_drive_refuses_an_empty_request():
    from chaintrail.scenario.eth_activity import drive

    with pytest.raises(ValueError, match="at least 1"):
        drive("http://127.0.0.1:1", seed=1, blocks=0, txs_per_block=5)

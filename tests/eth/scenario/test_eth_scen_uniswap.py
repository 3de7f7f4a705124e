"""Uniswap V2 from the published npm builds on a real anvil: pairs where Router02 looks, exact swap amounts."""

from __future__ import annotations

import math

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.contracts import call, logs_of
from chaintrail.scenario.eth.rpc_send import fee_paid
from chaintrail.scenario.eth.uniswap import (ROUTER_INIT_CODE_HASH, SWAP_EVENT, SYNC_EVENT, amount_out,
                                             deploy_uniswap, init_code_hash, sort_tokens)

ETHER, USD = 10**18, 10**6


def _words(data: str) -> list[int]:
    raw = bytes.fromhex(data[2:])
    return [int.from_bytes(raw[i:i + 32], "big") for i in range(0, len(raw), 32)]


def test_published_pair_bytecode_has_the_routers_init_code_hash() -> None:
    assert init_code_hash() == ROUTER_INIT_CODE_HASH


def test_liquidity_and_swaps_move_exact_amounts(chain) -> None:
    rpc, send = chain.rpc, chain.send
    issuer, lp, trader = chain.accounts[:3]
    weth = tokens.deploy_weth(send, issuer)
    usdx = tokens.deploy_stablecoin(send, issuer, "Test Dollar", "USDX")
    usdy = tokens.deploy_stablecoin(send, issuer, "Other Dollar", "USDY")
    uni = deploy_uniswap(send, issuer, weth)
    tokens.mint(send, usdx, issuer, lp, 1_000_000 * USD)
    tokens.mint(send, usdy, issuer, lp, 1_000_000 * USD)
    tokens.mint(send, usdx, issuer, trader, 10_000 * USD)
    for token in (usdx, usdy):
        tokens.approve(send, token, lp, uni.router)
        tokens.approve(send, token, trader, uni.router)

    # the router creates the pair through the factory; pairFor's address is where the factory put it
    added = uni.add_liquidity_eth(send, lp, usdx, 200_000 * USD, 100 * ETHER)
    pair = uni.pair(usdx, weth)
    assert call(rpc, uni.factory, "getPair(address,address)", usdx, weth, returns=["address"])[0] == pair
    assert uni.reserves(rpc, usdx, weth) == (200_000 * USD, 100 * ETHER)
    minted = math.isqrt(200_000 * USD * 100 * ETHER) - 1000
    assert tokens.balance_of(rpc, pair, lp) == minted
    assert logs_of(added, pair, "Mint(address,uint256,uint256)")
    uni.add_liquidity(send, lp, usdx, usdy, 300_000 * USD, 300_000 * USD)

    # ETH -> USDX
    before_eth, before_usd = chain.eth(trader), tokens.balance_of(rpc, usdx, trader)
    want = amount_out(ETHER, 100 * ETHER, 200_000 * USD)
    assert uni.router_quote(rpc, ETHER, [weth, usdx]) == [ETHER, want]
    receipt = uni.swap_exact_eth_for_tokens(send, trader, ETHER, [weth, usdx])
    assert tokens.balance_of(rpc, usdx, trader) - before_usd == want
    assert before_eth - chain.eth(trader) == ETHER + fee_paid(receipt)
    (swap,) = logs_of(receipt, pair, SWAP_EVENT)
    usdx_is_0 = sort_tokens(usdx, weth)[0] == usdx
    a0_in, a1_in, a0_out, a1_out = _words(swap["data"])
    assert (a0_in, a1_in, a0_out, a1_out) == ((0, ETHER, want, 0) if usdx_is_0 else (ETHER, 0, 0, want))
    assert swap["topics"][1] == "0x" + uni.router[2:].rjust(64, "0")   # sender: the router
    assert swap["topics"][2] == "0x" + trader[2:].rjust(64, "0")       # to: the trader
    (sync,) = logs_of(receipt, pair, SYNC_EVENT)
    r_usd, r_eth = 200_000 * USD - want, 101 * ETHER
    assert _words(sync["data"]) == ([r_usd, r_eth] if usdx_is_0 else [r_eth, r_usd])
    assert uni.reserves(rpc, usdx, weth) == (r_usd, r_eth)
    assert tokens.balance_of(rpc, weth, pair) == r_eth and tokens.balance_of(rpc, usdx, pair) == r_usd

    # USDX -> ETH: the router unwraps WETH and pays out ETH (an internal call from the router)
    sell = 5_000 * USD
    want_eth = amount_out(sell, r_usd, r_eth)
    before_eth = chain.eth(trader)
    receipt = uni.swap_exact_tokens_for_eth(send, trader, sell, [usdx, weth])
    assert chain.eth(trader) - before_eth == want_eth - fee_paid(receipt)
    withdrawal = logs_of(receipt, weth, "Withdrawal(address,uint256)")
    assert [_words(w["data"]) for w in withdrawal] == [[want_eth]]
    assert uni.reserves(rpc, usdx, weth) == (r_usd + sell, r_eth - want_eth)

    # USDX -> USDY through two pairs (USDX -> WETH -> USDY needs a WETH/USDY pair; use the direct one)
    path = [usdx, usdy]
    quote = uni.quote(rpc, 1_000 * USD, path)
    assert quote == uni.router_quote(rpc, 1_000 * USD, path)
    receipt = uni.swap_exact_tokens_for_tokens(send, trader, 1_000 * USD, path)
    assert tokens.balance_of(rpc, usdy, trader) == quote[-1]
    assert len(logs_of(receipt, uni.pair(usdx, usdy), SWAP_EVENT)) == 1
    assert event_topic(SWAP_EVENT) == "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"

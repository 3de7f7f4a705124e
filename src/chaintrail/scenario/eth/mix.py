"""A plain mix of ETH and stablecoin transfers among seed-derived addresses: the sender's rate check and filler.

``play_mix`` funds ``people`` fresh addresses (derived from the seed, sending by impersonation) from anvil's dev
accounts with ETH and freshly minted stablecoins, then mines ``blocks`` blocks of ``per_block`` transfers drawn
by ``numpy.random.Generator(seed)``: a ``token_share`` of them stablecoin ``transfer`` calls, the rest ETH. An
address spends only what it held when the block began (its receipts arrive next block), so the plan holds in
whatever order anvil mines the block.
"""

from __future__ import annotations

import time

import numpy as np

from chaintrail.scenario.eth.contracts import derived_address
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth.tokens import ERC20_GAS, deploy_stablecoin
from chaintrail.scenario.eth_calls import calldata

ETHER = 10**18
USD = 10**6
FUND_ETH = 50 * ETHER
FUND_USD = 1_000_000 * USD


def play_mix(sender: Sender, *, seed: int, people: int = 200, blocks: int = 10, per_block: int = 200,
             token_share: float = 0.5) -> dict:
    """Fund ``people`` derived addresses and mine ``blocks`` blocks of transfers; counts, tip and the rate."""
    rng = np.random.Generator(np.random.PCG64(seed))
    dev = [a.lower() for a in sender.rpc.call("eth_accounts", [])]
    issuer = dev[0]
    token = deploy_stablecoin(sender, issuer, "Mix Dollar", "MIXD")
    who = [derived_address(seed.to_bytes(8, "big"), "mix", i) for i in range(people)]
    for i, person in enumerate(who):
        if sender.room() < 150_000:
            sender.mine()
        sender.send(dev[1 + i % (len(dev) - 1)], person, FUND_ETH, label="fund eth")
        sender.send(issuer, token, 0, calldata("mint(address,uint256)", person, FUND_USD), gas=100_000,
                    label="fund usd")
    sender.mine()
    eth = np.full(people, FUND_ETH, dtype=object)
    usd = np.full(people, FUND_USD, dtype=object)
    started, sent = time.perf_counter(), 0
    for _ in range(blocks):
        is_token = rng.random(per_block) < token_share
        src = rng.integers(0, people, per_block)
        dst = (src + rng.integers(1, people, per_block)) % people
        frac = rng.integers(1, 1000, per_block)
        gas_left = sender.room()
        for k in range(per_block):
            s, d = int(src[k]), int(dst[k])
            gas = ERC20_GAS if is_token[k] else 21_000
            if gas > gas_left:
                break
            gas_left -= gas
            if is_token[k]:
                amount = usd[s] * int(frac[k]) // 100_000
                usd[s] -= amount
                sender.send(who[s], token, 0, calldata("transfer(address,uint256)", who[d], amount), gas=gas,
                            label="usd transfer")
            else:
                amount = eth[s] * int(frac[k]) // 100_000
                eth[s] -= amount + 21_000 * sender.max_fee
                sender.send(who[s], who[d], amount, label="eth transfer")
            sent += 1
        sender.mine()
    seconds = time.perf_counter() - started
    return {"token": token, "people": people, "transfers": sent, "seconds": seconds,
            "tx_per_s": sent / seconds if seconds > 0 else None, "tip": sender.number, "tip_hash": sender.block_hash}


__all__ = ["play_mix"]

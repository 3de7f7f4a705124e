"""The lock-and-mint bridge across two real anvils with different chain ids: nonces, mints, replays, burns."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_scen_chain import open_chain

from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.bridge import ETH, MINTED_EVENT, deploy_bridge
from chaintrail.scenario.eth.contracts import TxFailed, calldata, check, logs_of
from chaintrail.scenario.eth.rpc_send import fee_paid

ETHER, USD = 10**18, 10**6


def test_lock_mint_burn_release_between_two_chains(tmp_path: Path) -> None:
    chains_a = open_chain(tmp_path / "a", chain_id=31337)
    chains_b = open_chain(tmp_path / "b", chain_id=4242)
    a, b = next(chains_a), next(chains_b)
    try:
        assert a.rpc.chain_id() == 31337 and b.rpc.chain_id() == 4242
        deployer, alice, relayer = a.accounts[:3]
        recipient = "0x" + "ab" * 20  # alice's address on chain B: holds nothing there
        usdx = tokens.deploy_stablecoin(a.send, deployer, "Test Dollar", "USDX")
        tokens.mint(a.send, usdx, deployer, alice, 1_000 * USD)
        bridge = deploy_bridge(a.send, b.send, deployer, deployer, relayer, src_chain_id=31337, dst_chain_id=4242,
                               assets=[(ETH, "Bridged Ether", "bETH", 18), (usdx, "Bridged USDX", "bUSDX", 6)])
        weth_b, usdx_b = bridge.wrapped[ETH], bridge.wrapped[usdx]

        start = a.rpc.head() + 1
        before = a.eth(alice)
        r1 = bridge.lock_eth(a.send, alice, 3 * ETHER, recipient)
        tokens.approve(a.send, usdx, alice, bridge.source)
        bridge.lock_token(a.send, alice, usdx, 400 * USD, recipient)
        assert a.eth(bridge.source) == 3 * ETHER and tokens.balance_of(a.rpc, usdx, bridge.source) == 400 * USD
        assert before - a.eth(alice) > 3 * ETHER + fee_paid(r1)

        relayer_b = b.eth(relayer)
        legs = bridge.relay_locks(a.rpc, b.rpc, b.send, start)
        assert [(leg.message.nonce, leg.message.asset, leg.message.amount, leg.message.recipient)
                for leg in legs] == [(0, ETH, 3 * ETHER, recipient), (1, usdx, 400 * USD, recipient)]
        assert tokens.balance_of(b.rpc, weth_b, recipient) == 3 * ETHER
        assert tokens.balance_of(b.rpc, usdx_b, recipient) == 400 * USD
        receipts = [b.rpc.call("eth_getTransactionReceipt", [leg.completed_tx]) for leg in legs]
        assert all(r["from"] == relayer for r in receipts)
        assert relayer_b - b.eth(relayer) == sum(fee_paid(r) for r in receipts)  # the relayer paid the gas
        (minted,) = logs_of(receipts[0], bridge.destination, MINTED_EVENT)
        assert int(minted["topics"][1], 16) == 0
        # relaying again finds nothing new; a replayed nonce is refused on chain; nobody else may mint
        assert bridge.relay_locks(a.rpc, b.rpc, b.send, start) == []
        replay = calldata("mint(uint256,address,address,uint256)", 0, ETH, recipient, 3 * ETHER)
        with pytest.raises(TxFailed):
            check(b.send(relayer, bridge.destination, 0, replay, 200_000), "replay")
        with pytest.raises(TxFailed):
            fresh = calldata("mint(uint256,address,address,uint256)", 7, ETH, recipient, 3 * ETHER)
            check(b.send(deployer, bridge.destination, 0, fresh, 200_000), "mint by a stranger")
        assert tokens.balance_of(b.rpc, weth_b, recipient) == 3 * ETHER

        # back: the recipient (an impersonated address, given gas on chain B first) burns 1 bETH
        check(b.send(deployer, recipient, ETHER // 100, "0x", 21_000), "gas money")
        start_b = b.rpc.head() + 1
        bridge.burn(b.send, recipient, ETH, ETHER, alice)
        assert tokens.balance_of(b.rpc, weth_b, recipient) == 2 * ETHER
        alice_a = a.eth(alice)
        (leg,) = bridge.relay_burns(b.rpc, a.rpc, a.send, start_b)
        assert (leg.message.nonce, leg.message.amount, leg.message.recipient) == (0, ETHER, alice)
        assert a.eth(alice) - alice_a == ETHER and a.eth(bridge.source) == 2 * ETHER
        assert bridge.relay_burns(b.rpc, a.rpc, a.send, start_b) == []
    finally:
        for gen in (chains_a, chains_b):
            gen.close()

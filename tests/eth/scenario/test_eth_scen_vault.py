"""The lending vault's oracle bug on a real anvil: honest limits hold, one attack tx drains exactly the vault."""

from __future__ import annotations

import pytest

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.contracts import TxFailed, logs_of
from chaintrail.scenario.eth.vault import PRICE_ONE, attack, deploy_drainer, deploy_vault

ETHER, USD = 10**18, 10**6
TRANSFER = "Transfer(address,address,uint256)"


def test_oracle_bug_drains_exactly_the_vaults_tokens(chain) -> None:
    rpc, send = chain.rpc, chain.send
    owner, lender, borrower, attacker = chain.accounts[:4]
    usdx = tokens.deploy_stablecoin(send, owner, "Test Dollar", "USDX")
    usdy = tokens.deploy_stablecoin(send, owner, "Other Dollar", "USDY")
    tokens.mint(send, usdx, owner, lender, 500_000 * USD)
    tokens.mint(send, usdy, owner, lender, 200_000 * USD)
    vault = deploy_vault(send, owner, [(usdx, 6, PRICE_ONE), (usdy, 6, PRICE_ONE)], eth_price=2_000 * PRICE_ONE)
    for token, amount in ((usdx, 500_000 * USD), (usdy, 200_000 * USD)):
        tokens.approve(send, token, lender, vault.address)
        vault.supply(send, lender, token, amount)

    # an honest borrower: 10 ETH at $2,000 with a 50% factor borrows up to $10,000, not a cent more
    vault.post_collateral(send, borrower, 10 * ETHER)
    vault.borrow(send, borrower, usdx, 6_000 * USD)
    with pytest.raises(TxFailed):
        vault.borrow(send, borrower, usdy, 4_000 * USD + 1)
    vault.borrow(send, borrower, usdy, 4_000 * USD)
    assert tokens.balance_of(rpc, usdx, borrower) == 6_000 * USD

    # without the oracle trick the attacker gets nothing for 1 ETH
    with pytest.raises(TxFailed):
        vault.borrow(send, attacker, usdx, 1_001 * USD)

    profit = "0x" + "66" * 20
    expected = vault.drainable(rpc)
    assert expected == {usdx: 494_000 * USD, usdy: 196_000 * USD}
    drainer = deploy_drainer(send, attacker)
    with pytest.raises(TxFailed):  # only its deployer may fire it
        attack(send, lender, drainer, vault, profit, ETHER)
    vault_eth = chain.eth(vault.address)
    receipt = attack(send, attacker, drainer, vault, profit, ETHER)
    assert {t: tokens.balance_of(rpc, t, profit) for t in vault.tokens} == expected
    assert vault.drainable(rpc) == {usdx: 0, usdy: 0}
    assert chain.eth(vault.address) - vault_eth == ETHER  # the collateral stays behind
    assert vault.price(rpc) == 2_000 * PRICE_ONE  # the price put back
    assert receipt["to"] == drainer and receipt["from"] == attacker
    # token legs: vault -> drainer -> profit address, for each token, in one transaction
    legs = [(log["address"], "0x" + log["topics"][1][-40:], "0x" + log["topics"][2][-40:], int(log["data"], 16))
            for log in receipt["logs"] if log["topics"][0] == event_topic(TRANSFER)]
    assert legs == [(usdx, vault.address, drainer, expected[usdx]), (usdx, drainer, profit, expected[usdx]),
                    (usdy, vault.address, drainer, expected[usdy]), (usdy, drainer, profit, expected[usdy])]
    assert len(logs_of(receipt, vault.oracle, "PriceUpdated(address,uint256)")) == 2
    calls = rpc.call("trace_transaction", [receipt["transactionHash"]])
    assert len(calls) >= 9  # attack, price read and set, collateral, balance reads, borrows, transfers
    assert any(t["action"].get("to") == vault.address and int(t["action"]["value"], 16) == ETHER for t in calls)

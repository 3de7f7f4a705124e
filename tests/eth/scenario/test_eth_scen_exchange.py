"""Exchange deposit addresses (CREATE2 forwarders and EOAs), sweeps, withdrawals and the OTC desk on anvil."""

from __future__ import annotations

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.contracts import call, check, logs_of
from chaintrail.scenario.eth.exchange import (DEFAULT_MAX_FEE, FORWARDER_DEPOSIT_GAS, deploy_exchange,
                                              deploy_otc_desk, p2p_trade)
from chaintrail.scenario.eth.rpc_send import fee_paid

ETHER, USD = 10**18, 10**6


def _eth(rpc: EthRpc, address: str) -> int:
    return rpc.balances([address], "latest")[0]


def test_forwarders_forward_eth_and_flush_tokens(chain) -> None:
    rpc, send = chain.rpc, chain.send
    issuer, hot, alice, bob = chain.accounts[:4]
    usdx = tokens.deploy_stablecoin(send, issuer, "Test Dollar", "USDX")
    tokens.mint(send, usdx, issuer, alice, 1_000 * USD)
    ex = deploy_exchange(send, "Binance-like", hot)

    salt = (1).to_bytes(32, "big")
    predicted = ex.forwarder_address(salt)
    assert call(rpc, ex.factory, "forwarderAddress(address,bytes32)", hot, salt, returns=["address"])[0] == predicted
    # bob pays the address before it exists (a plain transfer); creating it forwards that ETH to the hot wallet
    check(send(bob, predicted, ETHER // 2, "0x", 21_000), "early deposit")
    hot_before = _eth(rpc, hot)
    assert ex.open_forwarder(send, bob, salt) == predicted
    assert _eth(rpc, hot) - hot_before == ETHER // 2 - fee_paid(_last_receipt(rpc))  # the hot wallet paid the gas
    assert _eth(rpc, predicted) == 0 and rpc.codes([predicted], "latest")[0] != "0x"

    hot_before = _eth(rpc, hot)
    receipt = check(send(alice, predicted, 2 * ETHER, "0x", FORWARDER_DEPOSIT_GAS), "deposit")
    assert _eth(rpc, hot) - hot_before == 2 * ETHER and _eth(rpc, predicted) == 0
    (log,) = logs_of(receipt, predicted, "ForwarderDeposited(address,uint256)")
    assert int(log["data"][-64:], 16) == 2 * ETHER
    trace = rpc.call("trace_transaction", [receipt["transactionHash"]])
    assert [(t["action"].get("from"), t["action"].get("to"), int(t["action"]["value"], 16)) for t in trace] == \
        [(alice, predicted, 2 * ETHER), (predicted, hot, 2 * ETHER)]

    tokens.transfer(send, usdx, alice, predicted, 300 * USD)
    receipt = ex.flush_tokens(send, predicted, usdx)
    assert tokens.balance_of(rpc, usdx, hot) == 300 * USD and tokens.balance_of(rpc, usdx, predicted) == 0
    assert logs_of(receipt, predicted, "TokensFlushed(address,uint256)")

    # withdrawals come from the hot wallet
    ex.withdraw_eth(send, bob, ETHER)
    ex.withdraw_token(send, usdx, bob, 100 * USD)
    assert tokens.balance_of(rpc, usdx, bob) == 100 * USD


def test_eoa_deposit_addresses_sweep_to_the_hot_wallet(chain) -> None:
    rpc, send = chain.rpc, chain.send
    issuer, hot, alice = chain.accounts[:3]
    usdx = tokens.deploy_stablecoin(send, issuer, "Test Dollar", "USDX")
    tokens.mint(send, usdx, issuer, alice, 1_000 * USD)
    ex = deploy_exchange(send, "Kraken-like", hot)
    deposit = ex.open_eoa_deposit(alice, b"seed")
    assert deposit == ex.eoa_deposits[alice] and _eth(rpc, deposit) == 0

    check(send(alice, deposit, 3 * ETHER, "0x", 21_000), "deposit")
    hot_before = _eth(rpc, hot)
    receipt = ex.sweep_eth(send, rpc, deposit)
    swept = 3 * ETHER - 21_000 * DEFAULT_MAX_FEE
    assert _eth(rpc, hot) - hot_before == swept
    assert _eth(rpc, deposit) == 3 * ETHER - swept - fee_paid(receipt)  # the unused max fee stays as dust
    assert ex.sweep_eth(send, rpc, deposit) is None

    tokens.transfer(send, usdx, alice, deposit, 250 * USD)
    dust = _eth(rpc, deposit)
    topup, moved = ex.sweep_token(send, rpc, deposit, usdx)
    assert topup is not None and topup["from"] == hot
    assert int(rpc.call("eth_getTransactionByHash", [topup["transactionHash"]])["value"], 16) == \
        90_000 * DEFAULT_MAX_FEE - dust
    assert tokens.balance_of(rpc, usdx, hot) == 250 * USD and tokens.balance_of(rpc, usdx, deposit) == 0
    assert moved["from"] == deposit


def test_otc_desk_and_p2p(chain) -> None:
    rpc, send = chain.rpc, chain.send
    issuer, desk_owner, customer, p2p = chain.accounts[:4]
    usdx = tokens.deploy_stablecoin(send, issuer, "Test Dollar", "USDX")
    tokens.mint(send, usdx, issuer, desk_owner, 50_000 * USD)
    tokens.mint(send, usdx, issuer, customer, 10_000 * USD)
    desk = deploy_otc_desk(send, desk_owner, usdx, 2_000 * USD)
    desk.fund(send, 10 * ETHER, 50_000 * USD)
    tokens.approve(send, usdx, customer, desk.address)

    before = _eth(rpc, customer)
    receipt = desk.sell_stable(send, customer, 3_000 * USD)
    assert _eth(rpc, customer) - before == 3 * ETHER // 2 - fee_paid(receipt)
    assert _eth(rpc, desk.address) == 10 * ETHER - 3 * ETHER // 2
    assert tokens.balance_of(rpc, usdx, desk.address) == 53_000 * USD
    (trade,) = logs_of(receipt, desk.address, "Trade(address,address,uint256,address,uint256)")
    assert trade["topics"][1][-40:] == customer[2:]
    desk.buy_stable(send, customer, ETHER)
    assert tokens.balance_of(rpc, usdx, customer) == 10_000 * USD - 3_000 * USD + 2_000 * USD

    before = _eth(rpc, customer)
    paid, payout = p2p_trade(send, p2p, customer, usdx, 1_000 * USD, ETHER // 2)
    assert tokens.balance_of(rpc, usdx, p2p) == 1_000 * USD
    assert _eth(rpc, customer) - before == ETHER // 2 - fee_paid(paid)
    assert (paid["from"], payout["from"]) == (customer, p2p)


def _last_receipt(rpc: EthRpc) -> dict:
    """The receipt of the tip block's one transaction (RpcSend mines one per block)."""
    block = rpc.call("eth_getBlockByNumber", ["latest", False])
    return rpc.call("eth_getTransactionReceipt", [block["transactions"][0]])

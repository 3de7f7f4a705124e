"""Exchanges and an OTC desk (Exchange.sol): hot wallets, customer deposit addresses, sweeps, withdrawals.

An exchange is a hot wallet (an EOA) and, per customer, a deposit address of one of two kinds, as real
exchanges run them on Ethereum:

- a **forwarder**: a DepositForwarder contract at a CREATE2 address (ForwarderFactory, salt per customer),
  known before it is created. ETH sent to it goes on to the hot wallet in the same transaction (an internal
  call); tokens stay until the hot wallet calls ``flushTokens``. Senders must give it more than 21,000 gas.
- an **EOA**: a plain address the exchange controls. ETH is swept to the hot wallet by a transfer from it (all
  but the gas, so a dust of unused maximum fee stays); to sweep tokens the hot wallet first sends it gas money.

Withdrawals are transfers from the hot wallet. The OTC desk is an OtcDesk contract (inventory of ETH and a
stablecoin at one quoted price) or, peer to peer, an EOA that trades by two plain transfers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.contracts import (Send, bytecode, check, create2_address, deploy, derived_address)
from chaintrail.scenario.eth_calls import calldata, encode

FORWARDER_DEPOSIT_GAS = 60_000   # an ETH deposit to a forwarder: its receive() forwards and logs
SWEEP_GAS = 21_000
TOKEN_SWEEP_GAS = 90_000
DEFAULT_MAX_FEE = 50 * 10**9     # max fee per gas of a sender without a ``max_fee`` attribute


def _max_fee(send: Send, max_fee: int | None) -> int:
    """The max fee per gas ``send`` offers (a sender must hold gas * max fee besides the value)."""
    return max_fee if max_fee is not None else int(getattr(send, "max_fee", DEFAULT_MAX_FEE))


@dataclass
class Exchange:
    """One exchange: its hot wallet, its forwarder factory and its customers' deposit addresses."""

    name: str
    hot_wallet: str
    factory: str
    forwarders: dict[str, str] = field(default_factory=dict)   # customer -> forwarder address
    eoa_deposits: dict[str, str] = field(default_factory=dict)  # customer -> deposit EOA

    def forwarder_address(self, salt: bytes) -> str:
        """Where ForwarderFactory.createForwarder(hot wallet, salt) puts the forwarder (CREATE2)."""
        init = bytes.fromhex(bytecode("DepositForwarder")[2:]) + encode(["address"], [self.hot_wallet])
        return create2_address(self.factory, salt, init)

    def open_forwarder(self, send: Send, customer: str, salt: bytes) -> str:
        """The hot wallet creates a forwarder for ``customer`` (ETH already sent there is forwarded now)."""
        address = self.forwarder_address(salt)
        data = calldata("createForwarder(address,bytes32)", self.hot_wallet, salt)
        receipt = check(send(self.hot_wallet, self.factory, 0, data, 400_000), f"{self.name} createForwarder")
        created = [log for log in receipt["logs"] if log["address"].lower() == self.factory]
        if not created or "0x" + created[0]["topics"][1][-40:] != address:
            raise AssertionError(f"{self.name}: forwarder not created at {address}")
        self.forwarders[customer] = address
        return address

    def open_eoa_deposit(self, customer: str, seed: bytes) -> str:
        """A fresh deposit EOA for ``customer``, derived from ``seed`` (swept by impersonation on the node)."""
        address = derived_address(seed, f"{self.name}/deposit", len(self.eoa_deposits))
        self.eoa_deposits[customer] = address
        return address

    def flush_tokens(self, send: Send, forwarder: str, token: str) -> dict:
        return check(send(self.hot_wallet, forwarder, 0, calldata("flushTokens(address)", token), 120_000),
                     f"{self.name} flushTokens")

    def sweep_eth(self, send: Send, rpc: EthRpc, deposit: str, max_fee: int | None = None) -> dict | None:
        """Send all of a deposit EOA's ETH that gas allows to the hot wallet; None when there is too little."""
        balance = rpc.balances([deposit], "latest")[0]
        value = balance - SWEEP_GAS * _max_fee(send, max_fee)
        if value <= 0:
            return None
        return check(send(deposit, self.hot_wallet, value, "0x", SWEEP_GAS), f"{self.name} sweep ETH")

    def sweep_token(self, send: Send, rpc: EthRpc, deposit: str, token: str,
                    max_fee: int | None = None) -> tuple[dict | None, dict | None]:
        """Top up the deposit EOA's gas from the hot wallet where needed, then move all its ``token`` home."""
        amount = tokens.balance_of(rpc, token, deposit)
        if amount == 0:
            return None, None
        need = TOKEN_SWEEP_GAS * _max_fee(send, max_fee) - rpc.balances([deposit], "latest")[0]
        topup = check(send(self.hot_wallet, deposit, need, "0x", SWEEP_GAS), f"{self.name} gas top-up") \
            if need > 0 else None
        data = calldata("transfer(address,uint256)", self.hot_wallet, amount)
        return topup, check(send(deposit, token, 0, data, TOKEN_SWEEP_GAS), f"{self.name} sweep token")

    def withdraw_eth(self, send: Send, to: str, amount: int, gas: int = SWEEP_GAS) -> dict:
        return check(send(self.hot_wallet, to, amount, "0x", gas), f"{self.name} withdrawal")

    def withdraw_token(self, send: Send, token: str, to: str, amount: int) -> dict:
        return tokens.transfer(send, token, self.hot_wallet, to, amount)


def deploy_exchange(send: Send, name: str, hot_wallet: str) -> Exchange:
    """An exchange whose hot wallet deploys its own ForwarderFactory."""
    factory = deploy(send, hot_wallet, bytecode("ForwarderFactory"), 1_500_000, what=f"{name} ForwarderFactory")
    return Exchange(name, hot_wallet.lower(), factory)


@dataclass(frozen=True)
class OtcDesk:
    """An OtcDesk contract: ``owner`` keeps ETH and ``stable`` in it and sets the price (stable units per ETH)."""

    address: str
    owner: str
    stable: str

    def fund(self, send: Send, eth: int, stable_amount: int) -> None:
        if eth:
            check(send(self.owner, self.address, eth, "0x", 40_000), "OTC desk ETH inventory")
        if stable_amount:
            tokens.transfer(send, self.stable, self.owner, self.address, stable_amount)

    def set_price(self, send: Send, price: int) -> dict:
        return check(send(self.owner, self.address, 0, calldata("setPrice(uint256)", price), 60_000), "setPrice")

    def sell_stable(self, send: Send, customer: str, amount: int, min_eth: int = 0) -> dict:
        """``customer`` (who approved the desk) sells ``amount`` stablecoin for ETH at the desk's price."""
        data = calldata("sellStable(uint256,uint256)", amount, min_eth)
        return check(send(customer, self.address, 0, data, 120_000), "OTC sellStable")

    def buy_stable(self, send: Send, customer: str, eth: int, min_stable: int = 0) -> dict:
        data = calldata("buyStable(uint256)", min_stable)
        return check(send(customer, self.address, eth, data, 120_000), "OTC buyStable")


def deploy_otc_desk(send: Send, owner: str, stable: str, price: int) -> OtcDesk:
    code = bytecode("OtcDesk") + encode(["address", "uint256"], [stable, price]).hex()
    return OtcDesk(deploy(send, owner, code, 1_500_000, what="deploy OtcDesk"), owner.lower(), stable.lower())


def p2p_trade(send: Send, desk: str, customer: str, stable: str, stable_amount: int, eth: int) -> tuple[dict, dict]:
    """A peer-to-peer OTC trade with a desk EOA: the customer pays stablecoin, the desk pays ETH (two transfers)."""
    paid = tokens.transfer(send, stable, customer, desk, stable_amount)
    return paid, check(send(desk, customer, eth, "0x", SWEEP_GAS), "P2P desk pays ETH")


__all__ = ["FORWARDER_DEPOSIT_GAS", "Exchange", "OtcDesk", "deploy_exchange", "deploy_otc_desk", "p2p_trade"]

"""What the background economy knows each address holds: a lower bound that plans stay within.

anvil keeps each sender's nonce order within a block but mixes senders, so a plan may only spend what the
sender surely holds when the block begins. ``Ledger`` keeps that lower bound per (address, asset): a queued
transaction debits its value and its worst-case fee (gas limit x max fee or gas price) at once; credits and the
unused part of the fee come back only once the block is mined (``settle`` reads the receipts the sender filled
in, and amounts only the chain knows, such as a swap's output, from their logs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chaintrail.scenario.eth.sender import Sender, SentTx

ETH = "eth"  # the asset key of ether; tokens are keyed by their address


@dataclass
class Pending:
    """A queued transaction and what it brings once mined: fixed credits and a callback reading its receipt."""

    tx: SentTx
    reserved: int                                   # fee debited at queue time (gas limit x max price)
    credits: list[tuple[str, str, int]] = field(default_factory=list)
    then: Callable[[dict], None] | None = None


class Ledger:
    """Lower-bound balances per (address, asset) on one chain, and the economy's transactions not yet settled."""

    def __init__(self, sender: Sender):
        self.sender = sender
        self.bal: dict[tuple[str, str], int] = {}
        self.pending: list[Pending] = []
        self.fees = 0  # wei paid in gas by the economy's transactions, settled

    def get(self, address: str, asset: str = ETH) -> int:
        return self.bal.get((address, asset), 0)

    def set(self, address: str, asset: str, amount: int) -> None:
        self.bal[(address, asset)] = amount

    def credit(self, address: str, asset: str, amount: int) -> None:
        if amount:
            key = (address, asset)
            self.bal[key] = self.bal.get(key, 0) + amount

    def debit(self, address: str, asset: str, amount: int) -> None:
        key = (address, asset)
        left = self.bal.get(key, 0) - amount
        if left < 0:
            raise AssertionError(f"ledger: {address} spends {amount} of {asset} holding only {left + amount}")
        self.bal[key] = left

    @staticmethod
    def fee_cap(gas: int, gas_price: int | None, max_fee: int) -> int:
        return gas * (gas_price if gas_price is not None else max_fee)

    def can_pay(self, address: str, value: int, gas: int, gas_price: int | None = None,
                max_fee: int | None = None) -> bool:
        cap = self.fee_cap(gas, gas_price, self.sender.max_fee if max_fee is None else max_fee)
        return self.get(address) >= value + cap

    def send(self, frm: str, to: str | None, value: int = 0, data: str = "0x", *, gas: int | None = None,
             label: str = "", gas_price: int | None = None, max_fee: int | None = None,
             priority_fee: int | None = None, credits: list[tuple[str, str, int]] | None = None,
             then: Callable[[dict], None] | None = None) -> SentTx:
        """Queue through the sender, debiting ``value`` and the worst-case fee from ``frm`` now."""
        use_gas = 21_000 if gas is None else gas
        reserved = self.fee_cap(use_gas, gas_price, self.sender.max_fee if max_fee is None else max_fee)
        self.debit(frm, ETH, value + reserved)
        tx = self.sender.send(frm, to, value, data, gas=gas, label=label, gas_price=gas_price, max_fee=max_fee,
                              priority_fee=priority_fee)
        self.pending.append(Pending(tx, reserved, list(credits or ()), then))
        return tx

    def settle(self) -> int:
        """Apply what the mined transactions brought; returns how many were settled (all must be mined)."""
        done = 0
        for p in self.pending:
            receipt = p.tx.receipt
            if receipt is None:
                raise AssertionError(f"ledger: {p.tx.describe()} settled before it was mined")
            paid = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
            self.fees += paid
            self.credit(p.tx.frm, ETH, p.reserved - paid)
            for address, asset, amount in p.credits:
                self.credit(address, asset, amount)
            if p.then is not None:
                p.then(receipt)
            done += 1
        self.pending = []
        return done


__all__ = ["ETH", "Ledger", "Pending"]

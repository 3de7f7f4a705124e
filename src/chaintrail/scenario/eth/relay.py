"""The bridge's relayer and the holders on chain B, played block by block beside the economy of chain A.

Each ``step_b()`` (the economy calls it once per block) first reads the ``Locked`` events of chain A's blocks
mined since the last step and queues the relayer's ``mint`` on chain B for each (whoever locked: background
users and crime cases alike), then the ``Burned`` events of chain B's new blocks and queues ``release`` on chain
A. A recipient with no ETH on chain B gets a small gas drop from a funded account there with its first mint, so
it can move what it received. Then some holders on chain B move their bridged tokens: burn part back to chain A
(to the same address) or pay another holder. Every crossing is recorded as a leg: the event on the sending
chain and the relayer's transaction that completed it.
"""

from __future__ import annotations

import numpy as np

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth.bridge import BURNED_EVENT, ETH as ZERO, LOCKED_EVENT, RELAY_GAS, Bridge, messages
from chaintrail.scenario.eth.ledger import ETH, Ledger
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth_calls import calldata

GAS_DROP = 2 * 10**16  # 0.02 ETH on chain B
BURN_GAS, TRANSFER_GAS = 120_000, 90_000


class BridgeRelay:
    """Relays both ways between ``sender_a``'s and ``sender_b``'s chains and plays chain B's holders."""

    def __init__(self, bridge: Bridge, ledger_a: Ledger, sender_b: Sender, rng: np.random.Generator, *,
                 gas_station: str, back_p: float, rpc_a: EthRpc | None = None, rpc_b: EthRpc | None = None):
        self.bridge, self.a, self.rng = bridge, ledger_a, rng
        self.b = Ledger(sender_b)
        self.rpc_a = rpc_a or ledger_a.sender.rpc
        self.rpc_b = rpc_b or sender_b.rpc
        self.gas_station, self.back_p = gas_station.lower(), back_p
        self.relayer = bridge.relayer
        self.done_a = ledger_a.sender.number   # blocks already relayed
        self.done_b = sender_b.number
        self.holders: dict[str, bool] = {}     # chain B addresses holding bridged tokens (insertion order)
        self.private: set[str] = set()         # crime cases' chain B addresses: never played as holders
        self.legs: list[dict] = []

    def step_b(self) -> None:
        """Settle chain B's last block, relay what the last blocks of both chains locked or burnt, move holders."""
        self.b.settle()
        for addr in (self.relayer, self.gas_station):
            self.b.set(addr, ETH, self.rpc_b.balances([addr], "latest")[0])
        self.a.set(self.relayer, ETH, self.rpc_a.balances([self.relayer], "latest")[0])
        head_a, head_b = self.a.sender.number, self.b.sender.number
        if head_a > self.done_a:
            for msg in messages(self.rpc_a, self.bridge.source, LOCKED_EVENT, self.done_a + 1, head_a):
                self._mint(msg)
            self.done_a = head_a
        if head_b > self.done_b:
            for msg in messages(self.rpc_b, self.bridge.destination, BURNED_EVENT, self.done_b + 1, head_b):
                self._release(msg)
            self.done_b = head_b
        self._holders()

    def _leg(self, direction: str, msg) -> dict:
        leg = {"direction": direction, "nonce": msg.nonce, "asset": "ETH" if msg.asset == ZERO else msg.asset,
               "sender": msg.sender, "recipient": msg.recipient, "amount": msg.amount, "source_tx": msg.tx_hash,
               "source_block": msg.block}
        self.legs.append(leg)
        return leg

    def _mint(self, msg) -> None:
        leg = self._leg("A->B", msg)
        wrapped = self.bridge.wrapped[msg.asset]
        data = calldata("mint(uint256,address,address,uint256)", msg.nonce, msg.asset, msg.recipient, msg.amount)
        self.b.send(self.relayer, self.bridge.destination, 0, data, gas=RELAY_GAS, label="bridge mint",
                    credits=[(msg.recipient, wrapped, msg.amount)],
                    then=lambda r, k=leg: k.update(dest_tx=r["transactionHash"], dest_block=int(r["blockNumber"], 16)))
        if msg.recipient not in self.holders and msg.recipient not in self.private:
            self.holders[msg.recipient] = True
            if self.b.get(msg.recipient) == 0:
                self.b.send(self.gas_station, msg.recipient, GAS_DROP, label="gas drop",
                            credits=[(msg.recipient, ETH, GAS_DROP)])

    def _release(self, msg) -> None:
        leg = self._leg("B->A", msg)
        data = calldata("release(uint256,address,address,uint256)", msg.nonce, msg.asset, msg.recipient, msg.amount)
        asset = ETH if msg.asset == ZERO else msg.asset
        self.a.send(self.relayer, self.bridge.source, 0, data, gas=RELAY_GAS, label="bridge release",
                    credits=[(msg.recipient, asset, msg.amount)],
                    then=lambda r, k=leg: k.update(dest_tx=r["transactionHash"], dest_block=int(r["blockNumber"], 16)))

    def _holders(self) -> None:
        """A few holders on chain B burn part of a bridged token back to chain A or pay another holder."""
        holders = list(self.holders)
        if not holders:
            return
        k = min(10, int(self.rng.binomial(len(holders), self.back_p / 10)))
        for i in self.rng.choice(len(holders), size=k, replace=False):
            who = holders[int(i)]
            held = [(a, w) for a, w in self.bridge.wrapped.items() if self.b.get(who, w) > 0]
            if not held or not self.b.can_pay(who, 0, BURN_GAS):
                continue
            asset, wrapped = held[int(self.rng.integers(0, len(held)))]
            amount = self.b.get(who, wrapped) // int(self.rng.integers(1, 4))
            if amount == 0:  # the bridge refuses to burn nothing
                continue
            if self.rng.random() < 0.7:
                self.b.send(who, self.bridge.destination, 0, calldata("burn(address,uint256,address)", asset, amount,
                                                                      who), gas=BURN_GAS, label="bridge burn")
            else:
                to = holders[int(self.rng.integers(0, len(holders)))]
                self.b.send(who, wrapped, 0, calldata("transfer(address,uint256)", to, amount), gas=TRANSFER_GAS,
                            label="bridged transfer", credits=[(to, wrapped, amount)])
            self.b.debit(who, wrapped, amount)


__all__ = ["BridgeRelay", "GAS_DROP"]

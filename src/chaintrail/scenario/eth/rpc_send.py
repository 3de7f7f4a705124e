"""The plain sender: one eth_sendTransaction and one evm_mine per call on anvil, for tests and small set-ups.

Fits the wrappers' ``send(frm, to, value, data, gas) -> receipt`` (see ``contracts``); the fast batch sender
(``sender.py``) is the one for large generations. Any address may send (anvil's auto-impersonation), but only
what it holds on chain: value is never created. Automine is turned off and every transaction is mined in its own
block by ``evm_mine``; with ``start_time`` that block's time is ``start_time + k * block_interval``, so the same
calls give the same block hashes on an anvil started with the same ``--timestamp``.
"""

from __future__ import annotations

from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import SourceError

MAX_FEE = 50 * 10**9
PRIORITY_FEE = 10**9


class RpcSend:
    """send(frm, to, value, data, gas) -> receipt, one block per transaction, through ``rpc`` (anvil)."""

    def __init__(self, rpc: EthRpc, *, start_time: int | None = None, block_interval: int = 12):
        self.rpc = rpc
        self.max_fee = MAX_FEE
        self.next_time = start_time
        self.block_interval = block_interval
        self.sent = 0
        rpc.call("anvil_autoImpersonateAccount", [True])
        rpc.call("evm_setAutomine", [False])

    def __call__(self, frm: str, to: str | None, value: int, data: str, gas: int) -> dict:
        tx: dict[str, object] = {"from": frm, "value": hex(value), "data": data, "gas": hex(gas),
                                 "maxFeePerGas": hex(self.max_fee), "maxPriorityFeePerGas": hex(PRIORITY_FEE)}
        if to is not None:
            tx["to"] = to
        tx_hash = self.rpc.call("eth_sendTransaction", [tx])
        if self.next_time is not None:
            self.rpc.call("evm_mine", [self.next_time])
            self.next_time += self.block_interval
        else:
            self.rpc.call("evm_mine", [])
        receipt = self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        if receipt is None:
            raise SourceError(f"anvil at {self.rpc.url} left tx {tx_hash} out of the block it mined")
        self.sent += 1
        return receipt


def fee_paid(receipt: dict) -> int:
    """Wei the sender paid for gas: gasUsed * effectiveGasPrice."""
    return int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)


__all__ = ["RpcSend", "fee_paid"]

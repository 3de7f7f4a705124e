"""Fast, deterministic transaction sending on anvil: batched sends, explicit nonces and fees, blocks mined on demand.

``Sender(rpc)`` turns automine off and auto-impersonation on, so any address can send what it holds on chain:
anvil's funded dev accounts and fresh addresses derived from the seed (``contracts.derived_address``; anvil gives
an impersonated transaction a hash made from its fields and sender, the same on every run). ``send`` queues a
transaction into the coming block and returns its ``SentTx``; queued transactions go to the node in JSON-RPC
batches, each one request sent after the other, so the node's pool sees one arrival order. Nonces are counted
here per sender (a sender never seen before is asked once, in a batch), and every transaction names its gas
limit and fees. ``mine(timestamp)`` mines the block at that time and checks it: every queued transaction must
be in it and have the status planned (``ok``), else a ``SourceError`` names the transaction.

anvil mixes senders within a block (deterministically), so a plan may rely on each sender's own nonce order
but not on the order across senders. ``Sender`` is also the wrappers' ``send(frm, to, value, data, gas) ->
receipt`` callable (``contracts.Send``): a call mines the queued block at once, for set-ups and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaintrail.chains.ethereum.rpc import EthRpc, RpcError
from chaintrail.errors import SourceError
from chaintrail.scenario.eth.journal import batch_answers

MAX_FEE = 100 * 10**9      # wei per gas: far above the base fee of blocks that stay below half full
PRIORITY_FEE = 10**9
BLOCK_TIME = 12


@dataclass
class SentTx:
    """One queued transaction; ``nonce`` and ``hash`` are set once it reaches the node, ``receipt`` once mined."""

    frm: str
    to: str | None
    value: int
    data: str
    gas: int
    ok: bool | None
    label: str
    fees: dict[str, str] = field(default_factory=dict)
    nonce: int | None = None
    hash: str | None = None
    receipt: dict | None = None

    def describe(self) -> str:
        what = f"{self.label} tx" if self.label else "tx"
        return f"{what} {self.hash or '(not sent)'} from {self.frm} nonce {self.nonce} to {self.to or '(create)'}"


class Sender:
    """Queues transactions for the coming block, sends them in batches and mines blocks at set times."""

    def __init__(self, rpc: EthRpc, *, max_fee: int = MAX_FEE, priority_fee: int = PRIORITY_FEE,
                 block_time: int = BLOCK_TIME, chunk: int = 1000):
        self.rpc = rpc
        self.max_fee = max_fee
        self.priority_fee = priority_fee
        self.block_time = block_time
        self.chunk = max(1, min(chunk, rpc.batch_size))  # one request per chunk: never split across workers
        rpc.call("evm_setAutomine", [False])
        rpc.call("anvil_autoImpersonateAccount", [True])
        head = rpc.call("eth_getBlockByNumber", ["latest", False])
        self.number = int(head["number"], 16)
        self.timestamp = int(head["timestamp"], 16)
        self.gas_limit = int(head["gasLimit"], 16)
        self.block_hash: str = head["hash"]
        self.mined = 0                       # transactions mined through this sender
        self._nonce: dict[str, int] = {}
        self._block: list[SentTx] = []       # queued for the coming block
        self._sent = 0                       # how many of them the node has
        self._gas = 0
        self._broken: str | None = None

    # -- queueing --------------------------------------------------------------------------------

    def send(self, frm: str, to: str | None, value: int = 0, data: str = "0x", *, gas: int | None = None,
             ok: bool | None = True, label: str = "", gas_price: int | None = None, max_fee: int | None = None,
             priority_fee: int | None = None, access_list: list | None = None) -> SentTx:
        """Queue a transaction for the coming block (``to`` None deploys ``data``); ``ok`` None: either status.

        ``gas`` may be left out only for a plain transfer (21,000). ``gas_price`` makes it a legacy transaction
        (type 1 with ``access_list``); otherwise it is EIP-1559 with ``max_fee`` and ``priority_fee``.
        """
        self._check_usable()
        if gas is None:
            if data not in ("0x", "") or to is None:
                raise ValueError(f"{label or 'tx'} from {frm}: give gas for a call or creation")
            gas = 21_000
        if self._gas + gas > self.gas_limit:
            raise ValueError(f"block {self.number + 1} is full ({self._gas:,} + {gas:,} gas over the limit "
                             f"{self.gas_limit:,}): mine() before sending {label or 'more'}")
        if gas_price is not None:
            fees = {"gasPrice": hex(gas_price)}
            if access_list is not None:
                fees["accessList"] = access_list  # type: ignore[assignment]
        else:
            fees = {"maxFeePerGas": hex(self.max_fee if max_fee is None else max_fee),
                    "maxPriorityFeePerGas": hex(self.priority_fee if priority_fee is None else priority_fee)}
            if access_list is not None:
                fees["accessList"] = access_list  # type: ignore[assignment]
        tx = SentTx(frm.lower(), to.lower() if to else None, value, data or "0x", gas, ok, label, fees)
        self._block.append(tx)
        self._gas += gas
        if len(self._block) - self._sent >= self.chunk:
            self.flush()
        return tx

    def room(self) -> int:
        """Gas left in the coming block."""
        return self.gas_limit - self._gas

    @property
    def queued(self) -> int:
        return len(self._block)

    def nonce_of(self, address: str) -> int:
        """The nonce ``address``'s next queued transaction will get (e.g. to compute a CREATE address)."""
        address = address.lower()
        if address not in self._nonce:
            self._nonce[address] = int(self.rpc.call("eth_getTransactionCount", [address, "pending"]), 16)
        return self._nonce[address] + sum(1 for tx in self._block[self._sent:] if tx.frm == address)

    # -- to the node -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Send the queued transactions the node does not have yet, in chunks, one request after the other."""
        self._check_usable()
        todo = self._block[self._sent:]
        if not todo:
            return
        unknown = sorted({tx.frm for tx in todo} - self._nonce.keys())
        if unknown:
            counts = self.rpc.batch([("eth_getTransactionCount", [a, "pending"]) for a in unknown])
            self._nonce.update((a, int(n, 16)) for a, n in zip(unknown, counts))
        calls = []
        for tx in todo:
            tx.nonce = self._nonce[tx.frm]
            self._nonce[tx.frm] = tx.nonce + 1
            calls.append(("eth_sendTransaction", [self._fields(tx)]))
        for at in range(0, len(calls), self.chunk):
            answers = batch_answers(self.rpc, calls[at:at + self.chunk])
            for tx, answer in zip(todo[at:at + self.chunk], answers):
                if isinstance(answer, RpcError) or not isinstance(answer, str):
                    self._broken = f"{tx.describe()} was refused by the node at {self.rpc.url}: {answer}"
                    raise SourceError(self._broken)
                tx.hash = answer
        self._sent = len(self._block)

    @staticmethod
    def _fields(tx: SentTx) -> dict[str, Any]:
        out: dict[str, Any] = {"from": tx.frm, "value": hex(tx.value), "data": tx.data, "gas": hex(tx.gas),
                               "nonce": hex(tx.nonce or 0), **tx.fees}
        if tx.to is not None:
            out["to"] = tx.to
        return out

    def mine(self, timestamp: int | None = None) -> list[dict]:
        """Mine the queued transactions as one block at ``timestamp`` (default: ``block_time`` after the last).

        Returns their receipts in send order. A transaction missing from the block, a stranger in it, or a
        status other than planned is a ``SourceError`` naming the transaction.
        """
        self.flush()
        ts = self.timestamp + self.block_time if timestamp is None else int(timestamp)
        if ts <= self.timestamp:
            raise ValueError(f"block {self.number + 1}: timestamp {ts} is not after the last block's {self.timestamp}")
        block, number = self._block, self.number + 1
        self.rpc.call("evm_mine", [ts])
        try:
            receipts = self._check_block(block, number)
        except SourceError as exc:
            self._broken = str(exc)
            raise
        if receipts:
            self.block_hash = receipts[0]["blockHash"]
        else:
            self.block_hash = self.rpc.call("eth_getBlockByNumber", [hex(number), False])["hash"]
        self.number, self.timestamp = number, ts
        self.mined += len(block)
        self._block, self._sent, self._gas = [], 0, 0
        return [tx.receipt for tx in block]  # type: ignore[misc]

    def _check_block(self, block: list[SentTx], number: int) -> list[dict]:
        receipts = self.rpc.call("eth_getBlockReceipts", [hex(number)])
        if not isinstance(receipts, list):
            raise SourceError(f"anvil at {self.rpc.url} has no receipts for block {number} just mined")
        by_hash = {r["transactionHash"]: r for r in receipts}
        for tx in block:
            receipt = by_hash.pop(tx.hash, None)  # type: ignore[arg-type]
            if receipt is None:
                raise SourceError(f"block {number}: {tx.describe()} was sent but not mined "
                                  f"({len(receipts)} in the block; nonce gap or gas limit?)")
            tx.receipt = receipt
            if tx.ok is not None and (receipt["status"] == "0x1") != tx.ok:
                outcome = "failed (status 0)" if tx.ok else "succeeded"
                raise SourceError(f"block {number}: {tx.describe()} {outcome}, planned to "
                                  f"{'succeed' if tx.ok else 'fail'}")
        if by_hash:
            raise SourceError(f"block {number}: holds {len(by_hash)} transactions not sent by this sender, "
                              f"e.g. {next(iter(by_hash))}")
        return receipts

    def __call__(self, frm: str, to: str | None, value: int, data: str, gas: int) -> dict:
        """The wrappers' ``send``: queue one transaction, mine the block at once and return its receipt."""
        tx = self.send(frm, to, value, data, gas=gas, ok=None)
        self.mine()
        assert tx.receipt is not None
        return tx.receipt

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise SourceError(f"sender stopped after an earlier failure: {self._broken}")


__all__ = ["BLOCK_TIME", "MAX_FEE", "PRIORITY_FEE", "SentTx", "Sender"]

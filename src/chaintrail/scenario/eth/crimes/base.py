"""What every crime case shares: stepping block by block, queued sends, fresh addresses and the moves it records.

A case is written as threads: generator functions that queue the transactions of one moment through the
``Sender`` and then ``yield`` how many blocks to wait. ``step(n)`` is called once per block before block ``n`` is
mined; it advances every thread whose wait is over, so a thread that yields ``k`` finds the receipts of what it
queued (``SentTx.receipt``) when it wakes ``k`` blocks later. Threads depend on each other only through mined
blocks, never on the order of two senders inside one block (anvil does not keep it); one sender's own
transactions keep their nonce order, so a thread may queue an approval and the call using it together.
Every amount a case records is exact: values it chose, or read from its own mined receipts (drains, swaps).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.bridge import ETH as BRIDGE_ETH
from chaintrail.scenario.eth.case_ledger import CHAIN_A, CHAIN_B, ETH, CaseLedger
from chaintrail.scenario.eth.contracts import derived_address
from chaintrail.scenario.eth.exchange import FORWARDER_DEPOSIT_GAS
from chaintrail.scenario.eth.sender import Sender, SentTx
from chaintrail.scenario.eth.tornado import Note, Pool
from chaintrail.scenario.eth.uniswap import sort_tokens
from chaintrail.scenario.eth.world import World
from chaintrail.scenario.eth_calls import calldata

ETHER, USD = 10**18, 10**6
RESERVE_GAS = 6_000_000      # a case step runs only when the coming block has this much room left
SWAP_GAS = 350_000
TRANSFER_TOPIC = event_topic("Transfer(address,address,uint256)")
SWAP_TOPIC = event_topic("Swap(address,uint256,uint256,uint256,uint256,address)")
LOCKED_TOPIC = event_topic("Locked(uint256,address,address,address,uint256,uint256)")

Thread = Iterator[int]


class QueueSend:
    """The wrappers' ``send`` in queue mode: the tx joins the coming block; the "receipt" is a pending stand-in.

    The sender checks the planned status (success) when the block is mined, so the wrappers' ``check`` passes
    here and a failure still stops the generation with the transaction named.
    """

    def __init__(self, sender: Sender, label: str):
        self.sender, self.label = sender, label
        self.max_fee = sender.max_fee
        self.last: SentTx | None = None

    def __call__(self, frm: str, to: str | None, value: int, data: str, gas: int) -> dict:
        self.last = self.sender.send(frm, to, value, data, gas=gas, ok=True, label=self.label)
        return {"status": "0x1", "transactionHash": None, "pending": self.last, "logs": []}


class Crime:
    """Base of the crime kinds: threads, fresh addresses and the ledger moves every kind makes."""

    kind = ""
    description = ""

    def __init__(self, world: World, senders: Sender | tuple[Sender, Sender | None], rng: np.random.Generator,
                 ledger: CaseLedger, start_block: int, *, horizon: int = 7_200):
        self.world = world
        self.sender, self.sender_b = senders if isinstance(senders, tuple) else (senders, None)
        self.rpc = self.sender.rpc
        self.rng = rng
        self.ledger = ledger
        self.horizon = max(8, int(horizon))   # blocks the case spreads over (7,200 blocks of 12 s: a day)
        self.case = ledger.open_case(self.kind, self.description)
        self.id = self.case.id
        self.seed = rng.bytes(16) + self.id.encode()
        self.q = QueueSend(self.sender, self.id)
        self.qb = QueueSend(self.sender_b, self.id) if self.sender_b else None
        self._fresh: dict[str, int] = {}
        self._notes = 0
        self._accounts: dict[tuple[str, str], str] = {}
        self._threads: list[list[Any]] = []     # [wake block, thread]
        self.block = start_block
        self.relay = None       # generate's BridgeRelay, when it relays every lock (then the case does not mint)
        self.economy = None     # generate's Economy: the exchanges sweep the case's deposit addresses as any other
        self.spawn(self.script(), start_block)

    # -- stepping ----------------------------------------------------------------------------------

    def script(self) -> Thread:
        raise NotImplementedError

    def spawn(self, thread: Thread, at: int | None = None) -> None:
        self._threads.append([self.block if at is None else at, thread])

    @property
    def done(self) -> bool:
        return not self._threads

    def step(self, block_number: int) -> None:
        """Queue this block's transactions of every thread whose wait is over (call before mining the block)."""
        self.block = block_number
        ran: set[int] = set()
        while True:
            ready = [t for t in self._threads if t[0] <= block_number and id(t) not in ran]
            if not ready:
                return
            for t in ready:
                if self.sender.room() < RESERVE_GAS:
                    t[0] = block_number + 1    # the block is full: the whole case waits a block
                    ran.add(id(t))
                    continue
                ran.add(id(t))
                try:
                    t[0] = block_number + max(1, int(next(t[1])))
                except StopIteration:
                    self._threads.remove(t)

    def wait(self, lo: float, hi: float) -> int:
        """A wait of [lo, hi) of the horizon, in blocks (at least one)."""
        return max(1, int(self.horizon * self.rng.uniform(lo, hi)))

    # -- addresses -----------------------------------------------------------------------------------

    def fresh(self, role: str, *, chain: str = CHAIN_A, entity: str | None = None, record: bool = True) -> str:
        """A fresh address (derived from the seed) that ``role`` plays; recorded as the case's unless ``record``
        is False (a victim's)."""
        i = self._fresh.get(role, 0)
        self._fresh[role] = i + 1
        address = derived_address(self.seed, role, i)
        if not record:
            return address
        return self.ledger.actor(self.id, address, role, chain=chain, entity=entity)

    def eth_of(self, address: str) -> int:
        return self.rpc.balances([address], "latest")[0]

    # -- movements -----------------------------------------------------------------------------------

    def send_eth(self, frm: str, to: str, amount: int, kind: str = "transfer", *, gas: int = 21_000,
                 source: bool = False) -> SentTx:
        tx = self.sender.send(frm, to, amount, gas=gas, label=f"{self.id} {kind}")
        self.ledger.move(self.id, tx, ETH, frm, to, amount, kind, source=source)
        self._gas(tx, frm)
        return tx

    def send_token(self, frm: str, token: str, to: str, amount: int, kind: str = "transfer", *,
                   source: bool = False) -> SentTx:
        tx = self.sender.send(frm, token, 0, calldata("transfer(address,uint256)", to, amount),
                              gas=tokens.ERC20_GAS, label=f"{self.id} {kind}")
        self.ledger.move(self.id, tx, token, frm, to, amount, kind, source=source)
        self._gas(tx, frm)
        return tx

    def call(self, frm: str, to: str | None, data: str, gas: int, value: int = 0, what: str = "call") -> SentTx:
        """A contract call from a case address (its value movement, if any, recorded by the caller)."""
        tx = self.sender.send(frm, to, value, data, gas=gas, label=f"{self.id} {what}")
        self._gas(tx, frm)
        return tx

    def _gas(self, tx: SentTx, payer: str) -> None:
        if self.ledger.is_actor(payer):
            self.ledger.paid_gas(self.id, tx, payer)

    def spendable(self, address: str, gas: int, txs: int = 1) -> int:
        """ETH ``address`` can send in ``txs`` transactions of ``gas`` each (the sender's max fee reserved)."""
        return self.eth_of(address) - txs * gas * self.sender.max_fee

    # -- exchanges and desks -------------------------------------------------------------------------

    def exchange_account(self, exchange: str, customer: str, kind: str) -> str:
        """The case's deposit address at ``exchange`` (a forwarder or an EOA), opened on first use."""
        key = (exchange, customer)
        if key in self._accounts:
            return self._accounts[key]
        ex = self.world.exchanges[exchange]
        if kind == "forwarder":
            salt = derived_address(self.seed, f"salt/{exchange}/{customer}", 0)[2:].rjust(64, "0")
            address = ex.forwarder_address(bytes.fromhex(salt))
            self.sender.send(ex.hot_wallet, ex.factory, 0,
                             calldata("createForwarder(address,bytes32)", ex.hot_wallet, "0x" + salt), gas=400_000,
                             label=f"{exchange} createForwarder")
            ex.forwarders[customer] = address
        else:
            address = ex.open_eoa_deposit(customer, self.seed)
        self._accounts[key] = self.ledger.deposit_address(self.id, exchange, address, kind, customer)
        if self.economy is not None:
            self.economy.adopt_deposit(address, exchange, kind)
        return address

    def pick_account(self, customer: str) -> str:
        exchange = sorted(self.world.exchanges)[int(self.rng.integers(len(self.world.exchanges)))]
        key = (exchange, customer)
        if key in self._accounts:
            return self._accounts[key]
        return self.exchange_account(exchange, customer, "forwarder" if self.rng.random() < 0.5 else "eoa")

    def deposit_gas(self, address: str) -> int:
        return FORWARDER_DEPOSIT_GAS if self.ledger.deposits[address].kind == "forwarder" else 21_000

    def exchange_withdrawal(self, exchange: str, to: str, amount: int) -> SentTx:
        """The exchange pays ``amount`` ETH out of its hot wallet to ``to`` (a customer's withdrawal: clean)."""
        hot = self.world.exchanges[exchange].hot_wallet
        tx = self.sender.send(hot, to, amount, label=f"{exchange} withdrawal")
        self.ledger.move(self.id, tx, ETH, hot, to, amount, "exchange_withdrawal")
        return tx

    # -- DEX -------------------------------------------------------------------------------------------

    def swap_to_eth(self, frm: str, token: str, amount: int, to: str) -> SentTx:
        """Swap ``amount`` of ``token`` for ETH on the token/WETH pair (the router must be approved)."""
        uni = self.world.uniswap
        uni.swap_exact_tokens_for_eth(self.q, frm, amount, [token, uni.weth], to=to)
        assert self.q.last is not None
        self._gas(self.q.last, frm)
        return self.q.last

    def record_swap(self, tx: SentTx, frm: str, to: str, token_in: str, token_out: str) -> tuple[int, int]:
        """The mined swap's amounts from its pair's Swap event; recorded (WETH out is ETH paid by the router)."""
        uni = self.world.uniswap
        out_token = uni.weth if token_out == ETH else token_out
        pair = uni.pair(token_in, out_token)
        logs = [lg for lg in tx.receipt["logs"] if lg["address"].lower() == pair and lg["topics"][0] == SWAP_TOPIC]
        a0_in, a1_in, a0_out, a1_out = (int(lg, 16) for lg in _words(logs[0]["data"]))
        first = sort_tokens(token_in, out_token)[0] == token_in.lower()
        amount_in, amount_out = (a0_in, a1_out) if first else (a1_in, a0_out)
        self.ledger.swap(self.id, tx, pair, frm, to, token_in, amount_in, token_out, amount_out)
        return amount_in, amount_out

    # -- Tornado ---------------------------------------------------------------------------------------

    def note(self, pool: Pool) -> Note:
        """The case's next note (a counter per case: notes never repeat a commitment)."""
        self._notes += 1
        return Note.derive(self.seed, pool.address, self._notes)

    def tornado_deposit(self, pool: Pool, note: Note, depositor: str) -> SentTx:
        pool.deposit(self.q, depositor, note)
        assert self.q.last is not None
        self.ledger.tornado_deposit(pool, note, self.q.last, depositor, self.id)
        self._gas(self.q.last, depositor)
        return self.q.last

    def tornado_withdraw(self, pool: Pool, note: Note, recipient: str) -> Thread:
        """A thread: the verifier approves, a block later a relayer withdraws to ``recipient`` for a fee."""
        relayer = self.world.relayers[int(self.rng.integers(len(self.world.relayers)))]
        fee = pool.denomination * int(self.rng.integers(5, 50)) // 10_000   # 0.05% - 0.5%, as relayers charge
        pool.approve(self.q, note, recipient, relayer, fee)
        yield 1
        pool.withdraw(self.q, self.rpc, note, recipient, relayer, fee, approve=False)
        assert self.q.last is not None
        self.ledger.tornado_withdrawal(pool, note, self.q.last, recipient, relayer, fee, case=self.id)
        yield 1

    def plan_denominations(self, amount: int, max_notes: int = 40) -> list[Pool]:
        """ETH pools to deposit ``amount`` into, largest first (what does not fit stays behind)."""
        pools = sorted((p for (a, _d), p in self.world.pools.items() if a is None), key=lambda p: -p.denomination)
        out: list[Pool] = []
        for p in pools:
            while amount >= p.denomination and len(out) < max_notes:
                out.append(p)
                amount -= p.denomination
        return out

    # -- the bridge ------------------------------------------------------------------------------------

    def bridge_eth(self, frm: str, amount: int, recipient_b: str) -> Thread:
        """A thread: lock ``amount`` ETH on chain A for ``recipient_b``; once mined, the relayer mints on chain B."""
        bridge = self.world.bridge
        assert bridge is not None and self.qb is not None
        if self.relay is not None:
            self.relay.private.add(recipient_b)   # the shared relayer's chain-B play never pays or moves it
        bridge.lock_eth(self.q, frm, amount, recipient_b)
        lock = self.q.last
        assert lock is not None
        self._gas(lock, frm)
        yield 1
        (log,) = [lg for lg in lock.receipt["logs"] if lg["topics"][0] == LOCKED_TOPIC]
        nonce = int(log["topics"][1], 16)
        if self.relay is not None:
            yield from self._relayed(lock, nonce, amount, frm, recipient_b)
            return
        mint = self.sender_b.send(bridge.relayer, bridge.destination, 0,
                                  calldata("mint(uint256,address,address,uint256)", nonce, BRIDGE_ETH,
                                           recipient_b, amount), gas=200_000, label=f"{self.id} bridge mint")
        self.ledger.bridge_leg(self.id, lock, mint, nonce, ETH, bridge.wrapped[BRIDGE_ETH], amount, frm,
                               recipient_b, bridge.source)
        yield 1


    def _relayed(self, lock: SentTx, nonce: int, amount: int, frm: str, recipient_b: str) -> Thread:
        """Wait for the shared relayer's mint of ``nonce``; keep the case's holder out of its chain-B play."""
        bridge = self.world.bridge
        while True:
            leg = next((g for g in self.relay.legs if g["direction"] == "A->B" and g["nonce"] == nonce), None)
            if leg is not None:
                self.relay.holders.pop(recipient_b, None)
                if "dest_tx" in leg:
                    break
            yield 1
        mint = self.sender_b.rpc.call("eth_getTransactionReceipt", [leg["dest_tx"]])
        self.ledger.bridge_leg(self.id, lock, mint, nonce, ETH, bridge.wrapped[BRIDGE_ETH], amount, frm,
                               recipient_b, bridge.source)

    def record(self) -> dict:
        """This case's part of the answer key (generate.py's ``cases``), from the shared ledger."""
        from chaintrail.scenario.eth.answer_key import case_key
        return case_key(self.ledger, self.world, self.id)

    def write_tables(self, out) -> dict[str, str]:
        """All cases' Parquet tables (shared ledger) under ``out/answer_key/``; {name: relative path}."""
        from chaintrail.scenario.eth.answer_key import write_case_tables
        return write_case_tables(out, self.ledger, self.world)


def _words(data: str) -> list[str]:
    raw = data[2:]
    return [raw[i:i + 64] for i in range(0, len(raw), 64)]


def transfers(tx: SentTx, token: str, frm: str | None = None, to: str | None = None) -> list[tuple[str, str, int]]:
    """(from, to, amount) of the mined tx's ``token`` Transfer events, filtered by ``frm``/``to``."""
    out = []
    for lg in tx.receipt["logs"]:
        if lg["address"].lower() != token.lower() or lg["topics"][0] != TRANSFER_TOPIC or len(lg["topics"]) != 3:
            continue
        a, b = "0x" + lg["topics"][1][-40:], "0x" + lg["topics"][2][-40:]
        if (frm is None or a == frm.lower()) and (to is None or b == to.lower()):
            out.append((a, b, int(lg["data"], 16)))
    return out


__all__ = ["CHAIN_B", "Crime", "QueueSend", "Thread", "transfers"]

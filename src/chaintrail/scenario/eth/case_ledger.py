"""What the Ethereum scenario's generator did, as it did it: the record the answer key is built from.

Crime cases (and the background economy, for its Tornado use) write here while they queue transactions:
who controls which address, every movement of value they make (from, to, asset, exact amount, in which
transaction), the swaps on their paths, their Tornado deposits and withdrawals with the note that links them,
their bridge legs and where they reached exchanges. Transactions are kept as the sender's ``SentTx`` (or a
mined receipt), so positions (block, index in block) and gas fees come from the generator's own receipts once
mined; nothing here is read back from the chain by analysis. ``answer_key.build_key`` turns it into the key.

Assets are ``"ETH"`` for ether and the lower-case token address otherwise (on chain B, the bridged token).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ETH = "ETH"
CHAIN_A, CHAIN_B = "A", "B"
DEPOSIT_KINDS = ("forwarder", "eoa", "otc_desk", "p2p_desk")


def _low(a: str) -> str:
    return a if a == ETH else a.lower()


@dataclass
class Case:
    """One crime case: its id, kind, description and what it stole (per asset, base units)."""

    id: str
    kind: str
    description: str = ""
    stolen: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Actor:
    address: str
    chain: str
    case: str
    role: str
    entity: str


@dataclass
class DepositAddress:
    """A customer deposit address of an exchange (or the OTC/P2P desk) that a case paid into."""

    address: str
    exchange: str
    kind: str           # one of DEPOSIT_KINDS
    customer: str       # the case's actor entity holding the account
    case: str


@dataclass
class Move:
    """One movement of value in one transaction, in recording order (``seq``) within it."""

    tx: Any             # SentTx or a mined receipt dict
    chain: str
    asset: str
    frm: str
    to: str
    amount: int
    kind: str           # transfer, source, gas_funding, deposit, tornado_deposit, tornado_withdrawal, relayer_fee, ...
    case: str | None
    seq: int
    source: bool = False
    ref: dict = field(default_factory=dict)


@dataclass
class Swap:
    case: str
    tx: Any
    pair: str
    frm: str
    to: str
    asset_in: str
    amount_in: int
    asset_out: str
    amount_out: int
    seq: int


@dataclass
class TornadoEvent:
    pool: str
    asset: str
    denomination: int
    nullifier_hash: str
    commitment: str
    tx: Any
    case: str | None
    party: str          # depositor, or recipient
    relayer: str = ""
    fee: int = 0
    refund: int = 0


@dataclass
class BridgeLeg:
    case: str | None
    lock_tx: Any        # on chain A
    mint_tx: Any        # on chain B
    nonce: int
    asset: str          # chain A asset
    wrapped: str        # chain B token
    amount: int
    sender: str
    recipient: str


class CaseLedger:
    """The generator's record of every case (and of all Tornado use), filled while transactions are queued."""

    def __init__(self, chain_id: int, chain_id_b: int | None = None):
        self.chain_id, self.chain_id_b = chain_id, chain_id_b
        self.cases: dict[str, Case] = {}
        self.actors: dict[tuple[str, str], Actor] = {}
        self.victims: dict[tuple[str, str], str] = {}          # (chain, address) -> case
        self.deposits: dict[str, DepositAddress] = {}
        self.moves: list[Move] = []
        self.swaps: list[Swap] = []
        self.tornado_deposits: dict[tuple[str, str], TornadoEvent] = {}      # (pool, nullifierHash)
        self.tornado_withdrawals: dict[tuple[str, str], TornadoEvent] = {}
        self.legs: list[BridgeLeg] = []
        self.fee_txs: list[tuple[str, Any, str, str]] = []   # (case, tx, chain, payer) whose gas the case paid
        self._seq = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # -- cases and who is who --------------------------------------------------------------------

    def open_case(self, kind: str, description: str = "") -> Case:
        n = sum(1 for c in self.cases.values() if c.kind == kind) + 1
        case = Case(f"{kind}-{n}", kind, description)
        self.cases[case.id] = case
        return case

    def actor(self, case: str, address: str, role: str, *, chain: str = CHAIN_A, entity: str | None = None) -> str:
        """Record that ``case``'s ``entity`` (default: the case's perpetrator) controls ``address``."""
        address = address.lower()
        self.actors[(chain, address)] = Actor(address, chain, case, role, entity or f"{case}/perpetrator")
        return address

    def victim(self, case: str, address: str, *, chain: str = CHAIN_A) -> str:
        self.victims[(chain, address.lower())] = case
        return address.lower()

    def deposit_address(self, case: str, exchange: str, address: str, kind: str, customer: str) -> str:
        if kind not in DEPOSIT_KINDS:
            raise ValueError(f"deposit address kind {kind!r} not one of {DEPOSIT_KINDS}")
        self.deposits[address.lower()] = DepositAddress(address.lower(), exchange, kind, customer, case)
        return address.lower()

    def is_actor(self, address: str, chain: str = CHAIN_A) -> bool:
        return (chain, address.lower()) in self.actors

    # -- what happened ---------------------------------------------------------------------------

    def paid_gas(self, case: str, tx: Any, payer: str, *, chain: str = CHAIN_A) -> None:
        """``payer`` (a case address) sent ``tx`` and paid its gas (taken from its receipt once mined)."""
        self.fee_txs.append((case, tx, chain, payer.lower()))

    def move(self, case: str | None, tx: Any, asset: str, frm: str, to: str, amount: int, kind: str = "transfer",
             *, chain: str = CHAIN_A, source: bool = False, **ref: Any) -> Move:
        """One movement; ``source`` marks the case's proceeds entering its hands (victim payment, drain)."""
        if amount < 0:
            raise ValueError(f"{kind} of {amount} {asset}: negative amount")
        m = Move(tx, chain, _low(asset), frm.lower(), to.lower(), int(amount), kind, case, self._next(), source, ref)
        self.moves.append(m)
        if source and case is not None:
            stolen = self.cases[case].stolen
            stolen[m.asset] = stolen.get(m.asset, 0) + m.amount
        return m

    def swap(self, case: str, tx: Any, pair: str, frm: str, to: str, asset_in: str, amount_in: int,
             asset_out: str, amount_out: int) -> Swap:
        s = Swap(case, tx, pair.lower(), frm.lower(), to.lower(), _low(asset_in), int(amount_in), _low(asset_out),
                 int(amount_out), self._next())
        self.swaps.append(s)
        return s

    # -- Tornado (crimes and the economy alike) --------------------------------------------------

    def tornado_deposit(self, pool: Any, note: Any, tx: Any, depositor: str, case: str | None = None) -> None:
        """A deposit of ``note`` into ``pool`` (a tornado.Pool) by ``depositor``, in ``tx`` (SentTx or receipt)."""
        asset = ETH if pool.asset is None else pool.asset
        ev = TornadoEvent(pool.address, asset, pool.denomination, note.nullifier_hash, note.commitment, tx, case,
                          depositor.lower())
        self.tornado_deposits[(pool.address, note.nullifier_hash)] = ev
        self.move(case, tx, asset, depositor, pool.address, pool.denomination, "tornado_deposit",
                  nullifier_hash=note.nullifier_hash)

    def tornado_withdrawal(self, pool: Any, note: Any, tx: Any, recipient: str, relayer: str, fee: int,
                           refund: int = 0, case: str | None = None) -> None:
        """The relayer's withdrawal of ``note``: ``recipient`` gets denomination - fee, ``relayer`` the fee."""
        asset = ETH if pool.asset is None else pool.asset
        dep = self.tornado_deposits.get((pool.address, note.nullifier_hash))
        ev = TornadoEvent(pool.address, asset, pool.denomination, note.nullifier_hash, note.commitment, tx, case,
                          recipient.lower(), relayer.lower(), int(fee), int(refund))
        self.tornado_withdrawals[(pool.address, note.nullifier_hash)] = ev
        self.move(case, tx, asset, pool.address, recipient, pool.denomination - fee, "tornado_withdrawal",
                  nullifier_hash=note.nullifier_hash, deposit_case=dep.case if dep else None)
        if fee:
            self.move(case, tx, asset, pool.address, relayer, fee, "relayer_fee", nullifier_hash=note.nullifier_hash)
        if refund:
            self.move(case, tx, ETH, relayer, recipient, refund, "relayer_refund")

    def tornado_link(self, pool: Any, note: Any, deposit_tx: Any, withdraw_tx: Any, depositor: str, recipient: str,
                     relayer: str, fee: int, refund: int = 0, case: str | None = None) -> None:
        """A whole deposit -> withdrawal pair at once (for callers that record after both are mined)."""
        self.tornado_deposit(pool, note, deposit_tx, depositor, case)
        self.tornado_withdrawal(pool, note, withdraw_tx, recipient, relayer, fee, refund, case)

    # -- the bridge ------------------------------------------------------------------------------

    def bridge_leg(self, case: str | None, lock_tx: Any, mint_tx: Any, nonce: int, asset: str, wrapped: str,
                   amount: int, sender: str, recipient: str, source_contract: str) -> BridgeLeg:
        """A lock on chain A and the relayer's mint of the same nonce on chain B (amounts 1:1)."""
        leg = BridgeLeg(case, lock_tx, mint_tx, nonce, _low(asset), wrapped.lower(), int(amount), sender.lower(),
                        recipient.lower())
        self.legs.append(leg)
        self.move(case, lock_tx, asset, sender, source_contract, amount, "bridge_lock", nonce=nonce)
        self.move(case, mint_tx, wrapped, "0x" + "00" * 20, recipient, amount, "bridge_mint", chain=CHAIN_B,
                  nonce=nonce)
        return leg


def receipt_of(tx: Any) -> dict:
    """The mined receipt of a SentTx or a receipt dict; a tx not mined yet is an error naming it."""
    receipt = tx if isinstance(tx, dict) and "blockNumber" in tx else getattr(tx, "receipt", None)
    if not receipt:
        what = tx.describe() if hasattr(tx, "describe") else repr(tx)[:120]
        raise ValueError(f"the case ledger holds a transaction not mined yet: {what}")
    return receipt


def position(tx: Any) -> tuple[int, int]:
    r = receipt_of(tx)
    return int(r["blockNumber"], 16), int(r["transactionIndex"], 16)


def tx_hash(tx: Any) -> str:
    return str(receipt_of(tx)["transactionHash"])


def gas_fee(tx: Any) -> int:
    r = receipt_of(tx)
    return int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16)


__all__ = ["CHAIN_A", "CHAIN_B", "DEPOSIT_KINDS", "ETH", "Actor", "BridgeLeg", "Case", "CaseLedger",
           "DepositAddress", "Move", "Swap", "TornadoEvent", "gas_fee", "position", "receipt_of", "tx_hash"]

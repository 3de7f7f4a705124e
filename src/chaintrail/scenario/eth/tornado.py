"""Tornado-style fixed-denomination pools (TornadoPool.sol): notes, deposits, withdrawals through relayers.

The pools keep Tornado Cash's functions, calldata layout and events exactly (``Deposit(bytes32 indexed
commitment, uint32 leafIndex, uint256 timestamp)``, ``Withdrawal(address to, bytes32 nullifierHash, address
indexed relayer, uint256 fee)``), its fixed denominations, and its relayer model: the relayer sends the
withdrawal, pays the gas and takes ``fee`` out of the denomination, so the recipient can be a fresh address
holding nothing.

The zero-knowledge proof is replaced by a trusted verifier's on-chain approval. The verifier (an account fixed
at deployment, sending by impersonation, funded on chain for its gas) checks the note off chain, here in
Python, and sends ``approve(nullifierHash, recipient, relayer, fee)`` to the pool; the relayer's ``withdraw``
then succeeds once for exactly those parties. The approval names no deposit and no commitment, and the
withdrawal's ``_proof`` bytes are opaque (derived from its public inputs only), so no calldata of any
transaction carries a note's nullifier or secret: the deposit -> withdrawal link stays as hidden as on mainnet
and lives only in the answer key. The footprint that differs from mainnet is one verifier transaction (to the
pool, no value, no event) before each withdrawal; ``withdraw`` sends it a block ahead (the relayer and the
verifier are different senders, whose order within one block anvil does not keep).
"""

from __future__ import annotations

from dataclasses import dataclass

from chaintrail.chains.ethereum.hexutil import keccak256
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth.contracts import Send, bytecode, call, check, deploy
from chaintrail.scenario.eth_calls import calldata, encode

ETHER, USD = 10**18, 10**6
ETH_DENOMINATIONS = (ETHER // 10, ETHER, 10 * ETHER, 100 * ETHER)
STABLE_DENOMINATIONS = (100 * USD, 1_000 * USD, 10_000 * USD, 100_000 * USD)
DEPOSIT_EVENT = "Deposit(bytes32,uint32,uint256)"
WITHDRAWAL_EVENT = "Withdrawal(address,bytes32,address,uint256)"
DEPOSIT_GAS = 200_000
WITHDRAW_GAS = 250_000
APPROVE_GAS = 80_000
PROOF_BYTES = 256  # a Groth16 proof's eight field elements, as Tornado's withdraw calldata carries


@dataclass(frozen=True)
class Note:
    """A deposit's secret note: commitment = keccak(nullifier ++ secret), nullifierHash = keccak(nullifier)."""

    nullifier: bytes
    secret: bytes

    @classmethod
    def derive(cls, seed: bytes, pool: str, index: int) -> Note:
        """The ``index``-th note of ``pool`` for ``seed`` (deterministic: the same seed gives the same notes)."""
        base = seed + bytes.fromhex(pool[2:]) + index.to_bytes(8, "big")
        # 31 random bytes each, as Tornado's notes (field elements below the SNARK field's modulus)
        return cls(bytes(1) + keccak256(b"nullifier" + base)[:31], bytes(1) + keccak256(b"secret" + base)[:31])

    @property
    def commitment(self) -> str:
        return "0x" + keccak256(self.nullifier + self.secret).hex()

    @property
    def nullifier_hash(self) -> str:
        return "0x" + keccak256(self.nullifier).hex()

    def text(self, currency: str, amount: str, chain_id: int) -> str:
        """Tornado's note string, e.g. tornado-eth-0.1-1-0x<62 bytes: nullifier, secret>."""
        return f"tornado-{currency}-{amount}-{chain_id}-0x{(self.nullifier[1:] + self.secret[1:]).hex()}"


@dataclass(frozen=True)
class Pool:
    """One deployed pool: its address, asset (None for ETH, else the token), denomination and verifier."""

    address: str
    asset: str | None
    denomination: int
    verifier: str

    def last_root(self, rpc: EthRpc, block: int | str = "latest") -> str:
        return str(call(rpc, self.address, "getLastRoot()", returns=["bytes32"], block=block)[0])

    def is_spent(self, rpc: EthRpc, note: Note) -> bool:
        return bool(call(rpc, self.address, "isSpent(bytes32)", note.nullifier_hash, returns=["bool"])[0])

    def deposit_data(self, note: Note) -> str:
        return calldata("deposit(bytes32)", note.commitment)

    def deposit(self, send: Send, depositor: str, note: Note) -> dict:
        """Deposit one denomination for ``note`` (a token pool needs the pool approved for it first)."""
        value = self.denomination if self.asset is None else 0
        return check(send(depositor, self.address, value, self.deposit_data(note), DEPOSIT_GAS),
                     f"deposit into pool {self.address}")

    def approve(self, send: Send, note: Note, recipient: str, relayer: str, fee: int) -> dict:
        """The verifier approves spending ``note`` once, to ``recipient`` through ``relayer`` for ``fee``."""
        return check(send(self.verifier, self.address, 0, approve_data(note, recipient, relayer, fee), APPROVE_GAS),
                     f"verifier approval on pool {self.address}")

    def withdraw(self, send: Send, rpc: EthRpc | None, note: Note, recipient: str, relayer: str, fee: int,
                 refund: int = 0, *, root: str | None = None, approve: bool = True) -> dict:
        """The verifier approves (its own block), then the relayer withdraws: ``recipient`` gets denomination -
        fee, the relayer ``fee``. ``approve=False`` skips the approval (to show an unapproved withdrawal fails).

        ``root`` defaults to the pool's last root now (read through ``rpc``); any of its last 30 is accepted.
        ``refund`` (token pools only) is ETH the relayer forwards to the recipient for gas.
        """
        if approve:
            self.approve(send, note, recipient, relayer, fee)
        if root is None:
            if rpc is None:
                raise ValueError("withdraw needs rpc to read the pool's root, or root")
            root = self.last_root(rpc)
        data = withdraw_data(note.nullifier_hash, root, recipient, relayer, fee, refund)
        return check(send(relayer, self.address, refund, data, WITHDRAW_GAS), f"withdraw from pool {self.address}")


def approve_data(note: Note, recipient: str, relayer: str, fee: int) -> str:
    """Calldata of the verifier's approve(bytes32,address,address,uint256): the nullifier hash only, no deposit."""
    return calldata("approve(bytes32,address,address,uint256)", note.nullifier_hash, recipient, relayer, fee)


def opaque_proof(nullifier_hash: str, recipient: str, relayer: str, fee: int) -> bytes:
    """Proof-shaped bytes made from the withdrawal's public inputs alone (they reveal nothing more)."""
    base = bytes.fromhex(nullifier_hash[2:]) + bytes.fromhex(recipient[2:]) + bytes.fromhex(relayer[2:]) \
        + fee.to_bytes(32, "big")
    return b"".join(keccak256(b"proof" + bytes([i]) + base) for i in range(PROOF_BYTES // 32))


def withdraw_data(nullifier_hash: str, root: str, recipient: str, relayer: str, fee: int, refund: int = 0) -> str:
    """Calldata of withdraw(bytes,bytes32,bytes32,address,address,uint256,uint256), Tornado's selector."""
    return calldata("withdraw(bytes,bytes32,bytes32,address,address,uint256,uint256)",
                    opaque_proof(nullifier_hash, recipient, relayer, fee), root, nullifier_hash, recipient,
                    relayer, fee, refund)


def deploy_pools(send: Send, frm: str, *, verifier: str | None = None, eth: tuple[int, ...] = ETH_DENOMINATIONS,
                 tokens: dict[str, tuple[int, ...]] | None = None) -> dict[tuple[str | None, int], Pool]:
    """Deploy an ETHTornado per ETH denomination and an ERC20Tornado per (token, denomination).

    ``verifier`` (default ``frm``) is the account whose approvals stand in for the proofs; it needs ETH for gas.
    Returns {(asset, denomination): Pool}, asset None for ETH.
    """
    verifier = (verifier or frm).lower()
    pools: dict[tuple[str | None, int], Pool] = {}
    for d in eth:
        address = deploy(send, frm, bytecode("ETHTornado") + encode(["uint256", "address"], [d, verifier]).hex(),
                         1_500_000, what=f"deploy ETH pool {d}")
        pools[(None, d)] = Pool(address, None, d, verifier)
    for token, denominations in sorted((tokens or {}).items()):
        for d in denominations:
            code = bytecode("ERC20Tornado") + encode(["uint256", "address", "address"], [d, token, verifier]).hex()
            address = deploy(send, frm, code, 1_500_000, what=f"deploy token pool {token} {d}")
            pools[(token.lower(), d)] = Pool(address, token.lower(), d, verifier)
    return pools


__all__ = ["APPROVE_GAS", "DEPOSIT_EVENT", "ETH_DENOMINATIONS", "PROOF_BYTES", "STABLE_DENOMINATIONS",
           "WITHDRAWAL_EVENT", "Note", "Pool", "approve_data", "deploy_pools", "opaque_proof", "withdraw_data"]

"""Building and serializing Bitcoin transactions and blocks (the writer side of the codec).

This is the per-object reference: the scenario generator uses it for coinbases,
headers and the genesis block, and its bulk writer (``scenario.txbytes``) is tested
against it byte for byte.  Hashes are ``bytes`` in internal (little-endian) order;
``display`` hex is the reverse, as block explorers show it.

Covers: CompactSize, legacy and BIP144 SegWit serialization, txid/wtxid,
the merkle root, the BIP141 witness commitment, the BIP34 height push and
proof-of-work grinding against a compact target (cheap on regtest, 0x207fffff).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

__all__ = [
    "NULL_HASH",
    "BlockHeader",
    "OutPoint",
    "Tx",
    "TxIn",
    "TxOut",
    "bip34_height_script",
    "bits_to_target",
    "coinbase_tx",
    "compact_size",
    "grind_header",
    "merkle_root",
    "regtest_genesis_block",
    "script_num",
    "serialize_block",
    "sha256d",
    "witness_commitment",
    "witness_commitment_script",
]

NULL_HASH = bytes(32)
COINBASE_VOUT = 0xFFFFFFFF
WITNESS_COMMITMENT_HEADER = bytes.fromhex("aa21a9ed")
WITNESS_RESERVED_VALUE = bytes(32)


def sha256d(data: bytes) -> bytes:
    """SHA-256 applied twice (Core's ``Hash``)."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def compact_size(n: int) -> bytes:
    """Core's CompactSize length prefix (always the canonical, shortest form)."""
    if n < 0:
        raise ValueError("CompactSize of a negative number")
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def _var_bytes(b: bytes) -> bytes:
    return compact_size(len(b)) + b


@dataclass(frozen=True, slots=True)
class OutPoint:
    """A reference to an output: txid in internal byte order and output index."""

    txid: bytes
    vout: int

    def serialize(self) -> bytes:
        return self.txid + struct.pack("<I", self.vout)


@dataclass(frozen=True, slots=True)
class TxIn:
    """One input; ``witness`` is its stack (empty for legacy spends)."""

    prevout: OutPoint
    script_sig: bytes = b""
    sequence: int = 0xFFFFFFFF
    witness: tuple[bytes, ...] = ()

    def serialize(self) -> bytes:
        return self.prevout.serialize() + _var_bytes(self.script_sig) + struct.pack("<I", self.sequence)


@dataclass(frozen=True, slots=True)
class TxOut:
    """One output: value in sats and its locking script."""

    value: int
    script: bytes

    def serialize(self) -> bytes:
        return struct.pack("<q", self.value) + _var_bytes(self.script)


@dataclass(frozen=True, slots=True)
class Tx:
    """A transaction; serializes with BIP144 marker/flag when any input carries a witness."""

    vin: tuple[TxIn, ...]
    vout: tuple[TxOut, ...]
    version: int = 2
    locktime: int = 0
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_witness(self) -> bool:
        return any(i.witness for i in self.vin)

    def serialize(self, with_witness: bool = True) -> bytes:
        """Network serialization; ``with_witness=False`` gives the txid preimage."""
        key = ("ser", with_witness)
        if key in self._cache:
            return self._cache[key]
        wit = with_witness and self.has_witness
        parts = [struct.pack("<i", self.version)]
        if wit:
            parts.append(b"\x00\x01")
        parts.append(compact_size(len(self.vin)))
        parts.extend(i.serialize() for i in self.vin)
        parts.append(compact_size(len(self.vout)))
        parts.extend(o.serialize() for o in self.vout)
        if wit:
            for i in self.vin:
                parts.append(compact_size(len(i.witness)))
                parts.extend(_var_bytes(item) for item in i.witness)
        parts.append(struct.pack("<I", self.locktime))
        out = b"".join(parts)
        self._cache[key] = out
        return out

    def txid(self) -> bytes:
        """Hash of the serialization without witness, internal byte order."""
        return sha256d(self.serialize(with_witness=False))

    def wtxid(self) -> bytes:
        """Hash of the full serialization (equals the txid without witness)."""
        return sha256d(self.serialize(with_witness=True))

    def vsize(self) -> int:
        """Virtual size: ceil(weight / 4), weight = 3 * stripped + total (BIP141)."""
        weight = 3 * len(self.serialize(False)) + len(self.serialize(True))
        return (weight + 3) // 4


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The 80-byte block header; hashes in internal byte order."""

    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    def serialize(self) -> bytes:
        return (struct.pack("<i", self.version) + self.prev_hash + self.merkle_root
                + struct.pack("<III", self.time, self.bits, self.nonce))

    def hash(self) -> bytes:
        return sha256d(self.serialize())


def merkle_root(hashes: list[bytes]) -> bytes:
    """Core's merkle root (last hash duplicated on odd levels); input in internal order."""
    if not hashes:
        raise ValueError("merkle root of no hashes")
    level = list(hashes)
    while len(level) > 1:
        if len(level) & 1:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def witness_commitment(wtxids: list[bytes], reserved: bytes = WITNESS_RESERVED_VALUE) -> bytes:
    """BIP141 commitment: sha256d(witness merkle root || reserved); the coinbase's wtxid counts as 0."""
    return sha256d(merkle_root([NULL_HASH] + list(wtxids[1:])) + reserved)


def witness_commitment_script(commitment: bytes) -> bytes:
    """The coinbase output script carrying a witness commitment: OP_RETURN PUSH36 aa21a9ed||c."""
    return b"\x6a\x24" + WITNESS_COMMITMENT_HEADER + commitment


def script_num(n: int) -> bytes:
    """CScriptNum serialization (minimal little-endian, sign bit in the top byte)."""
    if n == 0:
        return b""
    neg, v = n < 0, abs(n)
    out = bytearray()
    while v:
        out.append(v & 0xFF)
        v >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0x00)
    elif neg:
        out[-1] |= 0x80
    return bytes(out)


def bip34_height_script(height: int) -> bytes:
    """The script prefix BIP34 requires: ``CScript() << height`` (OP_1..OP_16 for small heights)."""
    if height == 0:
        return b"\x00"
    if 1 <= height <= 16:
        return bytes((0x50 + height,))
    num = script_num(height)
    return bytes((len(num),)) + num


def coinbase_tx(height: int, outputs: list[TxOut], tag: bytes = b"",
                commitment: bytes | None = None, version: int = 2) -> Tx:
    """A coinbase: BIP34 height, ``tag`` bytes, payouts, and a witness commitment if given.

    With a commitment the input carries the 32-byte witness reserved value (BIP141),
    and the commitment output goes last, as Core's miner places it.
    """
    script_sig = bip34_height_script(height) + tag
    if len(script_sig) < 2:
        script_sig += b"\x00"  # Core requires 2..100 bytes
    if len(script_sig) > 100:
        raise ValueError("coinbase scriptSig longer than 100 bytes")
    outs = list(outputs)
    witness: tuple[bytes, ...] = ()
    if commitment is not None:
        outs.append(TxOut(0, witness_commitment_script(commitment)))
        witness = (WITNESS_RESERVED_VALUE,)
    vin = (TxIn(OutPoint(NULL_HASH, COINBASE_VOUT), script_sig, 0xFFFFFFFF, witness),)
    return Tx(vin, tuple(outs), version=version, locktime=0)


def bits_to_target(bits: int) -> int:
    """Expand a compact ``nBits`` target."""
    exp, mant = bits >> 24, bits & 0x007FFFFF
    return mant >> (8 * (3 - exp)) if exp <= 3 else mant << (8 * (exp - 3))


def grind_header(header: BlockHeader, start_nonce: int = 0) -> BlockHeader:
    """Return ``header`` with the first nonce from ``start_nonce`` whose hash meets ``bits``.

    Meant for regtest (about every second nonce wins); raises if the nonce space runs out.
    """
    target = bits_to_target(header.bits)
    prefix = header.serialize()[:76]
    for nonce in range(start_nonce, 1 << 32):
        h = sha256d(prefix + struct.pack("<I", nonce))
        if int.from_bytes(h, "little") <= target:
            return BlockHeader(header.version, header.prev_hash, header.merkle_root,
                               header.time, header.bits, nonce)
    raise ValueError("nonce space exhausted without meeting the target")


def serialize_block(header: bytes, txs: list[bytes]) -> bytes:
    """Header, tx count and the already-serialized transactions."""
    if len(header) != 80:
        raise ValueError("block header must be 80 bytes")
    return header + compact_size(len(txs)) + b"".join(txs)


_GENESIS_SCRIPT_SIG = bytes.fromhex(
    "04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e20"
    "6272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73")
_GENESIS_PUBKEY_SCRIPT = bytes.fromhex(
    "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f3550"
    "4e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac")


def regtest_genesis_block() -> tuple[BlockHeader, Tx]:
    """Regtest's genesis block (Core chainparams.cpp: time 1296688602, nonce 2, bits 0x207fffff)."""
    cb = Tx((TxIn(OutPoint(NULL_HASH, COINBASE_VOUT), _GENESIS_SCRIPT_SIG),),
            (TxOut(50 * 100_000_000, _GENESIS_PUBKEY_SCRIPT),), version=1, locktime=0)
    header = BlockHeader(1, NULL_HASH, cb.txid(), 1296688602, 0x207FFFFF, 2)
    return header, cb

"""Proof of work: compact targets (nBits), block work, and the hash <= target check.

Only a header's own claim is checked: its hash must not exceed the target its
nBits encodes, as Core's CheckProofOfWork does. Retargeting rules (whether the
nBits were the right ones for that height) are not enforced.
"""

from __future__ import annotations

from chaintrail.errors import ProofOfWorkError, ValidationError

__all__ = ["PowCheck", "decode_compact", "meets_target", "target_from_bits", "work_from_bits"]


def decode_compact(bits: int) -> tuple[int, bool, bool]:
    """Core's arith_uint256::SetCompact: (target, negative, overflow)."""
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)   # the flags below look at the shifted word, as Core does
        target = word
    else:
        target = word << (8 * (size - 3))
    negative = word != 0 and bool(bits & 0x00800000)
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return target, negative, overflow


def target_from_bits(bits: int) -> int:
    """The 256-bit target encoded by compact ``bits``; raises on negative or overflow."""
    target, negative, overflow = decode_compact(bits)
    if negative or overflow:
        kind = "negative" if negative else "overflowing"
        raise ValidationError(f"compact bits 0x{bits:08x} encode a {kind} target")
    return target


def work_from_bits(bits: int) -> int:
    """Expected hashes to meet ``bits``: 2**256 // (target + 1), or 0 if invalid (GetBlockProof)."""
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0:
        return 0
    return (1 << 256) // (target + 1)


def _target_be(bits: int) -> bytes | str:
    """The target as 32 big-endian bytes, or why ``bits`` cannot be a target."""
    target, negative, overflow = decode_compact(bits)
    if negative:
        return f"nBits 0x{bits:08x} encode a negative target"
    if overflow or target >= (1 << 256):
        return f"nBits 0x{bits:08x} encode a target above 2**256"
    if target == 0:
        return f"nBits 0x{bits:08x} encode a zero target"
    return target.to_bytes(32, "big")


def meets_target(block_hash: bytes, bits: int) -> bool:
    """Whether a header hash (internal byte order) satisfies its own compact target."""
    t = _target_be(bits)
    return isinstance(t, bytes) and block_hash[::-1] <= t


class PowCheck:
    """Checks header hashes against their own nBits, decoding each distinct nBits once.

    The hash (internal, little-endian byte order) reversed is big-endian, and
    equal-length bytes compare as unsigned integers, so no big integer is built
    per block. nBits repeat for 2016 blocks at a time, so the cache stays tiny.
    """

    def __init__(self) -> None:
        self._targets: dict[int, bytes | str] = {}

    def failure(self, block_hash: bytes, bits: int) -> str | None:
        """None if the hash meets the target of ``bits``, else why not (one line)."""
        t = self._targets.get(bits)
        if t is None:
            t = self._targets[bits] = _target_be(bits)
        if isinstance(t, str):
            return f"proof of work fails: {t}"
        if block_hash[::-1] <= t:
            return None
        return (f"proof of work fails: block hash {block_hash[::-1].hex()} is above the target "
                f"{t.hex()} of its nBits 0x{bits:08x}")

    def check(self, header: bytes, block_hash: bytes, source: str | None = None, offset: int | None = None) -> None:
        """Raise ``ProofOfWorkError`` naming ``source`` and ``offset`` if ``header`` fails."""
        why = self.failure(block_hash, int.from_bytes(header[72:76], "little"))
        if why is not None:
            raise ProofOfWorkError(why, source, offset)

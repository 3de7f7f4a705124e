"""Proof of work: each header's hash against the target of its own nBits, as Core's CheckProofOfWork."""

from __future__ import annotations

import random

import pytest

from chaintrail.chains.bitcoin.blockfiles import scan_blocks_dir
from chaintrail.chains.bitcoin.pow import PowCheck, decode_compact, meets_target
from chaintrail.errors import ProofOfWorkError
from test_blockfiles import DIR_0_599, sha256d


def test_every_real_header_passes_and_a_flipped_nonce_bit_fails() -> None:
    check = PowCheck()
    locs = scan_blocks_dir(DIR_0_599)
    assert len(locs) == 600 and all(check.failure(b.hash, b.bits) is None for b in locs)
    h = bytearray(locs[100].header)
    h[76] ^= 0x01                           # one bit of the nonce
    why = check.failure(sha256d(bytes(h)), locs[100].bits)
    assert why is not None and "above the target" in why and "0x1d00ffff" in why
    with pytest.raises(ProofOfWorkError) as exc:
        check.check(bytes(h), sha256d(bytes(h)), "blk00000.dat", 1234)
    assert "(blk00000.dat, offset 1234)" in str(exc.value)


def test_byte_comparison_agrees_with_integer_comparison_at_the_boundary() -> None:
    rng = random.Random(7)
    check = PowCheck()
    for bits in (0x1D00FFFF, 0x207FFFFF, 0x1B0404CB, 0x17034219, 0x03123456, 0x01003456):
        target = decode_compact(bits)[0]
        for delta in (-(1 << 40), -1, 0, 1, 1 << 40, rng.getrandbits(200)):
            v = target + delta
            if not 0 <= v < 1 << 256:
                continue
            h = v.to_bytes(32, "little")
            want = v <= target and target != 0
            assert (check.failure(h, bits) is None) == want == meets_target(h, bits), (hex(bits), delta)


@pytest.mark.parametrize("bits,word", [(0x04923456, "negative"), (0xFF123456, "above 2**256"),
                                       (0x22000100, "above 2**256"), (0x1D000000, "zero")])
def test_invalid_nbits_fail_whatever_the_hash(bits: int, word: str) -> None:
    why = PowCheck().failure(bytes(32), bits)
    assert why is not None and word in why and f"0x{bits:08x}" in why

"""Batch address encoders in numba for ingest: millions of Base58Check and segwit strings.

Each encoder writes an Arrow offsets buffer and a data buffer directly, so no Python
string is made per address. ``address.py`` is the reference; the tests hold them equal.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from chaintrail.chains.bitcoin.address import B58_ALPHABET, BECH32_CHARSET, BECH32_MAX_LEN
from chaintrail.errors import AddressError

_B58 = np.frombuffer(B58_ALPHABET.encode(), dtype=np.uint8).copy()
_BECH32 = np.frombuffer(BECH32_CHARSET.encode(), dtype=np.uint8).copy()
_B58_MAX = 35          # digits of a 25-byte number in base 58, leading '1's included
_INT32_MAX = 2**31 - 1  # Arrow string offsets are int32

_SHA_K = np.array([
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
], dtype=np.int64)
_SHA_H0 = np.array([0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19], dtype=np.int64)



def _top_table() -> np.ndarray:
    """Entry t: xor of the bech32 generator terms selected by the 5 bits shifted out."""
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    table = np.zeros(32, dtype=np.int64)
    for t in range(32):
        for i, g in enumerate(gen):
            if (t >> i) & 1:
                table[t] ^= g
    return table


_BECH32_TOP = _top_table()

_M32 = 0xFFFFFFFF


@njit(cache=True, inline="always")
def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & _M32


@njit(cache=True)
def _sha256_block(h, w):
    """Compress one 64-byte block held as 16 big-endian words in w[0:16] (w has 64 slots)."""
    for t in range(16, 64):
        x, y = w[t - 15], w[t - 2]
        s0 = _rotr(x, 7) ^ _rotr(x, 18) ^ (x >> 3)
        s1 = _rotr(y, 17) ^ _rotr(y, 19) ^ (y >> 10)
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) & _M32
    a, b, c, d, e, f, g, hh = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    for t in range(64):
        t1 = (hh + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g))
              + _SHA_K[t] + w[t]) & _M32
        t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & _M32
        hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & _M32, c, b, a, (t1 + t2) & _M32
    h[0] = (h[0] + a) & _M32
    h[1] = (h[1] + b) & _M32
    h[2] = (h[2] + c) & _M32
    h[3] = (h[3] + d) & _M32
    h[4] = (h[4] + e) & _M32
    h[5] = (h[5] + f) & _M32
    h[6] = (h[6] + g) & _M32
    h[7] = (h[7] + hh) & _M32


@njit(cache=True)
def _base58check_kernel(versions, payloads, out, offsets):
    n = versions.shape[0]
    w = np.zeros(64, dtype=np.int64)
    h = np.zeros(8, dtype=np.int64)
    limbs = np.zeros(7, dtype=np.int64)   # the 25-byte number as 32-bit big-endian limbs
    digits = np.zeros(40, dtype=np.uint8)
    pos = 0
    for r in range(n):
        p = payloads[r]
        # First SHA-256: 21 bytes + 0x80 pad + bit length 168, one block.
        for i in range(5):
            w[i] = (np.int64(p[4 * i]) << 24) | (np.int64(p[4 * i + 1]) << 16) \
                | (np.int64(p[4 * i + 2]) << 8) | np.int64(p[4 * i + 3])
        # The version byte shifts the payload by one byte inside the block.
        v = np.int64(versions[r])
        carry = v
        for i in range(5):
            word = w[i]
            w[i] = ((carry << 24) | (word >> 8)) & _M32
            carry = word & 0xFF
        w[5] = (carry << 24) | 0x800000
        for i in range(6, 15):
            w[i] = 0
        w[15] = 168
        h[:] = _SHA_H0
        _sha256_block(h, w)
        # Second SHA-256 over the 32-byte digest.
        for i in range(8):
            w[i] = h[i]
        w[8] = 0x80000000
        for i in range(9, 15):
            w[i] = 0
        w[15] = 256
        h[:] = _SHA_H0
        _sha256_block(h, w)
        # 25 bytes = version | payload (5 words) | checksum word.
        limbs[0] = v
        for i in range(5):
            limbs[1 + i] = (np.int64(p[4 * i]) << 24) | (np.int64(p[4 * i + 1]) << 16) \
                | (np.int64(p[4 * i + 2]) << 8) | np.int64(p[4 * i + 3])
        limbs[6] = h[0]
        zeros = 0
        if v == 0:
            zeros = 1
            while zeros < 21 and p[zeros - 1] == 0:
                zeros += 1
            if zeros == 21:  # every payload byte zero: the checksum bytes decide the rest
                for k in range(4):
                    if (h[0] >> (24 - 8 * k)) & 0xFF == 0:
                        zeros += 1
                    else:
                        break
        # Divide by 58^5 per pass: five digits per 64-bit division sweep.
        nd = 0
        first = 0
        while first < 7 and limbs[first] == 0:
            first += 1
        while first < 7:
            rem = np.int64(0)
            for i in range(first, 7):
                cur = (rem << 32) | limbs[i]
                limbs[i] = cur // 656356768
                rem = cur - limbs[i] * 656356768
            for k in range(5):
                digits[nd] = rem % 58
                rem //= 58
                nd += 1
            while first < 7 and limbs[first] == 0:
                first += 1
        while nd > 0 and digits[nd - 1] == 0:
            nd -= 1
        for k in range(zeros):
            out[pos] = 49  # '1'
            pos += 1
        for k in range(nd):
            out[pos] = _B58[digits[nd - 1 - k]]
            pos += 1
        offsets[r + 1] = pos


@njit(cache=True)
def _segwit_lengths(hrp_len, witvers, lengths, offsets):
    """Fill offsets; return the first invalid row, or -1."""
    pos = 0
    for r in range(witvers.shape[0]):
        ver, ln = witvers[r], lengths[r]
        if ver > 16 or ln < 2 or ln > 40 or (ver == 0 and ln != 20 and ln != 32):
            return r
        size = hrp_len + 2 + (8 * ln + 4) // 5 + 6
        if size > BECH32_MAX_LEN:
            return r
        pos += size
        offsets[r + 1] = pos
    return -1


@njit(cache=True)
def _segwit_kernel(hrp_bytes, hrp_chk, witvers, programs, lengths, out, offsets):
    n_h = hrp_bytes.shape[0]
    sym = np.zeros(72, dtype=np.int64)
    for r in range(witvers.shape[0]):
        pos = offsets[r]
        for i in range(n_h):
            out[pos + i] = hrp_bytes[i]
        pos += n_h
        out[pos] = 49  # '1'
        pos += 1
        ver = np.int64(witvers[r])
        ns = 1
        sym[0] = ver
        acc = np.int64(0)
        bits = 0
        for i in range(lengths[r]):
            acc = ((acc << 8) | np.int64(programs[r, i])) & 0xFFF
            bits += 8
            while bits >= 5:
                bits -= 5
                sym[ns] = (acc >> bits) & 31
                ns += 1
        if bits:
            sym[ns] = (acc << (5 - bits)) & 31
            ns += 1
        chk = hrp_chk
        for i in range(ns + 6):
            v = sym[i] if i < ns else 0
            top = chk >> 25
            chk = (((chk & 0x1FFFFFF) << 5) ^ v) ^ _BECH32_TOP[top]
        chk ^= 1 if ver == 0 else 0x2BC830A3  # Encoding.BECH32 / Encoding.BECH32M
        for i in range(ns):
            out[pos + i] = _BECH32[sym[i]]
        pos += ns
        for i in range(6):
            out[pos + i] = _BECH32[(chk >> (5 * (5 - i))) & 31]


def _string_array(n: int, offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    end = int(offsets[n])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data[:end]))


def encode_base58check_batch(versions: np.ndarray, payloads: np.ndarray) -> pa.StringArray:
    """Base58Check of (version byte, 20-byte payload) per row: P2PKH / P2SH addresses."""
    versions = np.ascontiguousarray(versions, dtype=np.uint8)
    payloads = np.ascontiguousarray(payloads, dtype=np.uint8)
    n = versions.shape[0]
    if versions.ndim != 1 or payloads.shape != (n, 20):
        raise ValueError(f"need versions (n,) and payloads (n, 20); "
                         f"got {versions.shape} and {payloads.shape}")
    if n * _B58_MAX > _INT32_MAX:
        raise ValueError(f"{n} rows may exceed Arrow's 2 GiB string buffer; encode in chunks")
    out = np.empty(max(n * _B58_MAX, 1), dtype=np.uint8)
    offsets = np.zeros(n + 1, dtype=np.int32)
    if n:
        _base58check_kernel(versions, payloads, out, offsets)
    return _string_array(n, offsets, out)


def encode_segwit_batch(hrp: str, witvers: np.ndarray, programs: np.ndarray,
                        lengths: np.ndarray) -> pa.StringArray:
    """Segwit address per row: bech32 for v0, bech32m for v1..16; programs padded to 40 bytes."""
    witvers = np.ascontiguousarray(witvers, dtype=np.uint8)
    programs = np.ascontiguousarray(programs, dtype=np.uint8)
    lengths = np.ascontiguousarray(lengths, dtype=np.uint8)
    n = witvers.shape[0]
    if witvers.ndim != 1 or lengths.shape != (n,) or programs.shape != (n, 40):
        raise ValueError(f"need witvers (n,), programs (n, 40), lengths (n,); got "
                         f"{witvers.shape}, {programs.shape}, {lengths.shape}")
    if not hrp or hrp != hrp.lower() or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise AddressError(f"invalid human-readable part {hrp!r}")
    offsets = np.zeros(n + 1, dtype=np.int32)
    if n * BECH32_MAX_LEN > _INT32_MAX:
        raise ValueError(f"{n} rows may exceed Arrow's 2 GiB string buffer; encode in chunks")
    bad = _segwit_lengths(len(hrp), witvers, lengths, offsets)
    if bad >= 0:
        raise AddressError(f"row {bad}: witness v{witvers[bad]} program of {lengths[bad]} bytes "
                           f"has no valid {hrp!r} segwit address")
    hrp_bytes = np.frombuffer(hrp.encode("ascii"), dtype=np.uint8)
    out = np.empty(max(int(offsets[n]), 1), dtype=np.uint8)
    if n:
        _segwit_kernel(hrp_bytes, _hrp_checksum_state(hrp), witvers, programs, lengths, out, offsets)
    return _string_array(n, offsets, out)


def _hrp_checksum_state(hrp: str) -> int:
    """The bech32 polymod state after the expanded hrp, shared by every row."""
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ int(_BECH32_TOP[top])
    return chk


__all__ = ["encode_base58check_batch", "encode_segwit_batch"]

"""Batch address encoders in numba for ingest: millions of Base58Check and segwit strings.

Each encoder writes an Arrow offsets buffer and a data buffer directly, so no Python
string is made per address. ``address.py`` is the reference; the tests hold them equal.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from chaintrail.chains.bitcoin.nbhash import _H256, _K256

from chaintrail.chains.bitcoin.address import (B58_ALPHABET, BECH32_CHARSET, BECH32_MAX_LEN,
                                               hrp_expand, polymod)
from chaintrail.errors import AddressError

_B58 = np.frombuffer(B58_ALPHABET.encode(), dtype=np.uint8).copy()
_BECH32 = np.frombuffer(BECH32_CHARSET.encode(), dtype=np.uint8).copy()
_B58_MAX = 35          # digits of a 25-byte number in base 58, leading '1's included
_INT32_MAX = 2**31 - 1  # Arrow string offsets are int32

# Rows hashed side by side so LLVM vectorises each SHA-256 round across rows; a fixed lane
# count (a short last chunk hashes stale lanes) keeps the loops free of remainder code.
_LANES = 64

# The SHA-256 round constants and initial state, shared with the scalar hashes in nbhash.
_SHA_K = _K256.astype(np.uint32)
_SHA_H0 = _H256.astype(np.uint32)
_D58_5 = np.uint64(58**5)  # fits 32 bits, so a 32-bit limb and a remainder fit one uint64
_U58 = np.uint64(58)


# SHA-256's four sigma functions, rotation counts written in (one compiled signature each).
@njit(cache=True, nogil=True)
def _sigma0(x):
    return (((x >> np.uint32(7)) | (x << np.uint32(25)))
            ^ ((x >> np.uint32(18)) | (x << np.uint32(14)))
            ^ (x >> np.uint32(3)))


@njit(cache=True, nogil=True)
def _sigma1(x):
    return (((x >> np.uint32(17)) | (x << np.uint32(15)))
            ^ ((x >> np.uint32(19)) | (x << np.uint32(13)))
            ^ (x >> np.uint32(10)))


@njit(cache=True, nogil=True)
def _big_sigma0(x):
    return (((x >> np.uint32(2)) | (x << np.uint32(30)))
            ^ ((x >> np.uint32(13)) | (x << np.uint32(19)))
            ^ ((x >> np.uint32(22)) | (x << np.uint32(10))))


@njit(cache=True, nogil=True)
def _big_sigma1(x):
    return (((x >> np.uint32(6)) | (x << np.uint32(26)))
            ^ ((x >> np.uint32(11)) | (x << np.uint32(21)))
            ^ ((x >> np.uint32(25)) | (x << np.uint32(7))))


@njit(cache=True, nogil=True)
def _sha256_lanes(hs, w, s):
    """Compress one block in every lane: column r of w (64, lanes) rows 0..15 holds its block."""
    for t in range(16, 64):
        for r in range(_LANES):
            w[t, r] = w[t - 16, r] + _sigma0(w[t - 15, r]) + w[t - 7, r] + _sigma1(w[t - 2, r])
    for i in range(8):
        for r in range(_LANES):
            s[i, r] = hs[i, r]
    for t in range(64):
        k = _SHA_K[t]
        for r in range(_LANES):
            a, b, c, d = s[0, r], s[1, r], s[2, r], s[3, r]
            e, f, g, h = s[4, r], s[5, r], s[6, r], s[7, r]
            t1 = h + _big_sigma1(e) + ((e & f) ^ (~e & g)) + k + w[t, r]
            t2 = _big_sigma0(a) + ((a & b) ^ (a & c) ^ (b & c))
            s[7, r], s[6, r], s[5, r], s[4, r] = g, f, e, np.uint32(d + t1)
            s[3, r], s[2, r], s[1, r], s[0, r] = c, b, a, np.uint32(t1 + t2)
    for i in range(8):
        for r in range(_LANES):
            hs[i, r] += s[i, r]


@njit(cache=True, nogil=True)
def _word(b0, b1, b2, b3):
    return (np.uint32(b0) << np.uint32(24)) | (np.uint32(b1) << np.uint32(16)) \
        | (np.uint32(b2) << np.uint32(8)) | np.uint32(b3)


@njit(cache=True, nogil=True)
def _base58_write(limbs, zeros, digits, out, pos):
    """Write '1' * zeros and the base-58 digits of the big-endian 32-bit limbs; return new pos."""
    nl = limbs.shape[0]
    nd = 0
    first = 0
    while first < nl and limbs[first] == 0:
        first += 1
    while first < nl:  # one sweep divides by 58^5 and yields five digits
        rem = np.uint64(0)
        for i in range(first, nl):
            cur = (rem << np.uint64(32)) | limbs[i]
            q = cur // _D58_5
            limbs[i] = q
            rem = cur - q * _D58_5
        for _ in range(5):
            q = rem // _U58
            digits[nd] = rem - q * _U58
            rem = q
            nd += 1
        while first < nl and limbs[first] == 0:
            first += 1
    while nd > 0 and digits[nd - 1] == 0:
        nd -= 1
    for _ in range(zeros):
        out[pos] = 49  # '1'
        pos += 1
    for k in range(nd):
        out[pos] = _B58[digits[nd - 1 - k]]
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def _base58check_kernel(versions, payloads, out, offsets, w, hs, s, limbs, raw, digits):
    """Scratch: w (64, lanes), hs, s (8, lanes) uint32; limbs (7,) uint64; raw, digits uint8."""
    n = versions.shape[0]
    pos = 0
    for start in range(0, n, _LANES):
        m = n - start if n - start < _LANES else _LANES
        for r in range(m):  # first SHA-256 block: the 21 bytes, 0x80, zeros, bit length 168
            row = start + r
            w[0, r] = _word(versions[row], payloads[row, 0], payloads[row, 1], payloads[row, 2])
            for i in range(1, 5):
                w[i, r] = _word(payloads[row, 4 * i - 1], payloads[row, 4 * i],
                                payloads[row, 4 * i + 1], payloads[row, 4 * i + 2])
            w[5, r] = (np.uint32(payloads[row, 19]) << np.uint32(24)) | np.uint32(0x800000)
            for i in range(6, 15):
                w[i, r] = 0
            w[15, r] = 168
        for i in range(8):
            for r in range(_LANES):
                hs[i, r] = _SHA_H0[i]
        _sha256_lanes(hs, w, s)
        for r in range(m):  # second block: the 32-byte digest, 0x80, zeros, bit length 256
            for i in range(8):
                w[i, r] = hs[i, r]
                hs[i, r] = _SHA_H0[i]
            w[8, r] = 0x80000000
            for i in range(9, 15):
                w[i, r] = 0
            w[15, r] = 256
        _sha256_lanes(hs, w, s)
        for r in range(m):  # 25 bytes: version, payload, first 4 digest bytes
            row = start + r
            raw[0] = versions[row]
            for i in range(20):
                raw[1 + i] = payloads[row, i]
            for k in range(4):
                raw[21 + k] = (hs[0, r] >> np.uint32(24 - 8 * k)) & np.uint32(0xFF)
            zeros = 0
            while zeros < 25 and raw[zeros] == 0:
                zeros += 1
            limbs[0] = raw[0]
            for i in range(6):
                limbs[1 + i] = _word(raw[1 + 4 * i], raw[2 + 4 * i], raw[3 + 4 * i], raw[4 + 4 * i])
            pos = _base58_write(limbs, zeros, digits, out, pos)
            offsets[row + 1] = pos


@njit(cache=True, nogil=True)
def _segwit_lengths(hrp_len, witvers, lengths, offsets):
    """Fill offsets; return the first row with no valid address, or -1."""
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


@njit(cache=True, nogil=True)
def _segwit_kernel(hrp_bytes, hrp_chk, witvers, programs, lengths, out, offsets, sym, chk, lim):
    """Scratch: sym (72, lanes) uint32 for witver + 5-bit groups + 6 zeros; chk, lim (lanes,)."""
    n = witvers.shape[0]
    n_h = hrp_bytes.shape[0]
    one, m5 = np.uint32(1), np.uint32(31)
    for start in range(0, n, _LANES):
        m = n - start if n - start < _LANES else _LANES
        steps = 0
        for r in range(m):
            row = start + r
            ln = np.int64(lengths[row])
            ns = 1 + (8 * ln + 4) // 5
            sym[0, r] = witvers[row]
            for j in range(ns - 1):  # 5 bits at bit 5j, read through a 16-bit window; pad with 0
                bit = 5 * j
                b = bit >> 3
                hi = np.uint32(programs[row, b]) if b < ln else np.uint32(0)
                lo = np.uint32(programs[row, b + 1]) if b + 1 < ln else np.uint32(0)
                sym[1 + j, r] = (((hi << np.uint32(8)) | lo) >> np.uint32(11 - (bit & 7))) & m5
            for j in range(ns, ns + 6):
                sym[j, r] = 0
            lim[r] = ns + 6
            if ns + 6 > steps:
                steps = ns + 6
            chk[r] = hrp_chk
        # The polymod runs across rows in step; rows past their length keep their state.
        for i in range(steps):
            for r in range(m):
                c = chk[r]
                top = c >> np.uint32(25)
                nc = ((c & np.uint32(0x1FFFFFF)) << np.uint32(5)) ^ sym[i, r]
                nc ^= (np.uint32(0) - (top & one)) & np.uint32(0x3B6A57B2)
                nc ^= (np.uint32(0) - ((top >> one) & one)) & np.uint32(0x26508E6D)
                nc ^= (np.uint32(0) - ((top >> np.uint32(2)) & one)) & np.uint32(0x1EA119FA)
                nc ^= (np.uint32(0) - ((top >> np.uint32(3)) & one)) & np.uint32(0x3D4233DD)
                nc ^= (np.uint32(0) - ((top >> np.uint32(4)) & one)) & np.uint32(0x2A1462B3)
                chk[r] = nc if i < lim[r] else c
        for r in range(m):
            row = start + r
            pos = offsets[row]
            for i in range(n_h):
                out[pos + i] = hrp_bytes[i]
            out[pos + n_h] = 49  # '1'
            pos += n_h + 1
            ns = lim[r] - 6
            # Encoding.BECH32 / Encoding.BECH32M constants
            c = chk[r] ^ (np.uint32(1) if witvers[row] == 0 else np.uint32(0x2BC830A3))
            for i in range(ns):
                out[pos + i] = _BECH32[sym[i, r]]
            pos += ns
            for i in range(6):
                out[pos + i] = _BECH32[(c >> np.uint32(5 * (5 - i))) & m5]


def _string_array(n: int, offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    end = int(offsets[n])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data[:end]))


def encode_base58check_batch(versions: np.ndarray, payloads: np.ndarray) -> pa.StringArray:
    """Base58Check of (version byte, 20-byte payload) per row: P2PKH / P2SH addresses."""
    versions = _as_u8("versions", versions)
    payloads = _as_u8("payloads", payloads)
    n = versions.shape[0]
    if versions.ndim != 1 or payloads.shape != (n, 20):
        raise ValueError(f"need versions (n,) and payloads (n, 20); "
                         f"got {versions.shape} and {payloads.shape}")
    if n * _B58_MAX > _INT32_MAX:
        raise ValueError(f"{n} rows may exceed Arrow's 2 GiB string buffer; encode in chunks")
    out = np.empty(max(n * _B58_MAX, 1), dtype=np.uint8)
    offsets = np.zeros(n + 1, dtype=np.int32)
    if n:
        _base58check_kernel(versions, payloads, out, offsets,
                            np.zeros((64, _LANES), np.uint32), np.zeros((8, _LANES), np.uint32),
                            np.zeros((8, _LANES), np.uint32), np.zeros(7, np.uint64),
                            np.zeros(25, np.uint8), np.zeros(40, np.uint8))
    return _string_array(n, offsets, out)


def encode_segwit_batch(hrp: str, witvers: np.ndarray, programs: np.ndarray,
                        lengths: np.ndarray) -> pa.StringArray:
    """Segwit address per row: bech32 for v0, bech32m for v1..16; programs padded to 40 bytes."""
    witvers, programs, lengths, offsets = _segwit_offsets(hrp, witvers, programs, lengths)
    n = witvers.shape[0]
    out = np.empty(max(int(offsets[n]), 1), dtype=np.uint8)
    _encode_segwit(hrp, witvers, programs, lengths, out, offsets[:n])
    return _string_array(n, offsets, out)


def encode_segwit_into(hrp: str, witvers: np.ndarray, programs: np.ndarray, lengths: np.ndarray,
                       out: np.ndarray, starts: np.ndarray) -> None:
    """``encode_segwit_batch`` with row r written at ``out[starts[r]:]``, where the caller has made room for
    it: ``len(hrp) + 2 + (8 * lengths[r] + 4) // 5 + 6`` bytes."""
    witvers, programs, lengths, _ = _segwit_offsets(hrp, witvers, programs, lengths)
    _encode_segwit(hrp, witvers, programs, lengths, out, np.ascontiguousarray(starts, np.int64))


def _segwit_offsets(hrp: str, witvers, programs, lengths):
    """The checked inputs and each row's offset in a packed buffer; raises on rows with no valid address."""
    witvers = _as_u8("witvers", witvers)
    programs = _as_u8("programs", programs)
    lengths = _as_u8("lengths", lengths)
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
    return witvers, programs, lengths, offsets


def _encode_segwit(hrp: str, witvers, programs, lengths, out, starts) -> None:
    if len(witvers):
        hrp_state = np.uint32(polymod(hrp_expand(hrp)))  # shared by every row
        _segwit_kernel(np.frombuffer(hrp.encode("ascii"), dtype=np.uint8), hrp_state, witvers, programs, lengths,
                       out, starts, np.zeros((72, _LANES), np.uint32), np.zeros(_LANES, np.uint32),
                       np.zeros(_LANES, np.int64))


def _as_u8(name: str, a: np.ndarray) -> np.ndarray:
    """A contiguous uint8 view or copy, refusing values a silent cast would wrap."""
    a = np.asarray(a)
    if a.dtype != np.uint8 and a.size and (a.min() < 0 or a.max() > 255):
        raise ValueError(f"{name} holds values outside 0..255")
    return np.ascontiguousarray(a, dtype=np.uint8)


__all__ = ["encode_base58check_batch", "encode_segwit_batch", "encode_segwit_into"]

"""SHA-256 and RIPEMD-160 in numba, so kernels can derive keys and addresses without Python.

The generator derives every address from a deterministic public key
(``hash160(pubkey)`` for P2PKH/P2WPKH, ``hash160(0014||keyhash)`` for
P2SH-P2WPKH, ``sha256(witness script)`` for P2WSH), so a parser that reads
the key from an input's scriptSig or witness finds the same address as the
undo data gives.  Bulk txids are hashed with hashlib instead (faster per byte);
these are for the many short messages of address creation.  Tested against hashlib.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_M32 = np.uint64(0xFFFFFFFF)

_K256 = np.array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
], dtype=np.uint64)
_H256 = np.array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19], dtype=np.uint64)

_RL = np.array([list(range(16)),
                [7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8],
                [3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12],
                [1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2],
                [4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13]], dtype=np.int64)
_RR = np.array([[5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12],
                [6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2],
                [15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13],
                [8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14],
                [12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11]], dtype=np.int64)
_SL = np.array([[11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8],
                [7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12],
                [11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5],
                [11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12],
                [9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6]], dtype=np.int64)
_SR = np.array([[8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6],
                [9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11],
                [9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5],
                [15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8],
                [8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11]], dtype=np.int64)
_KL = np.array([0, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E], dtype=np.uint64)
_KR = np.array([0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0], dtype=np.uint64)


@nb.njit(cache=True, inline="always")
def _rotr(x, n):
    return ((x >> np.uint64(n)) | (x << np.uint64(32 - n))) & _M32


@nb.njit(cache=True, inline="always")
def _rotl(x, n):
    return ((x << np.uint64(n)) | (x >> np.uint64(32 - n))) & _M32


@nb.njit(cache=True)
def _pad(msg, big_endian_len):
    n = len(msg)
    total = ((n + 9 + 63) // 64) * 64
    buf = np.zeros(total, np.uint8)
    buf[:n] = msg
    buf[n] = 0x80
    bits = np.uint64(n) * np.uint64(8)
    for k in range(8):
        byte = np.uint8((bits >> np.uint64(8 * k)) & np.uint64(0xFF))
        if big_endian_len:
            buf[total - 1 - k] = byte
        else:
            buf[total - 8 + k] = byte
    return buf


@nb.njit(cache=True)
def sha256(msg):
    """SHA-256 of a uint8 array, as a 32-byte uint8 array."""
    buf = _pad(msg, True)
    h = _H256.copy()
    w = np.zeros(64, np.uint64)
    for blk in range(0, len(buf), 64):
        for i in range(16):
            j = blk + 4 * i
            w[i] = ((np.uint64(buf[j]) << np.uint64(24)) | (np.uint64(buf[j + 1]) << np.uint64(16))
                    | (np.uint64(buf[j + 2]) << np.uint64(8)) | np.uint64(buf[j + 3]))
        for i in range(16, 64):
            s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> np.uint64(3))
            s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> np.uint64(10))
            w[i] = (w[i - 16] + s0 + w[i - 7] + s1) & _M32
        a, b, c, d, e, f, g, hh = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
        for i in range(64):
            s1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
            ch = (e & f) ^ ((~e & _M32) & g)
            t1 = (hh + s1 + ch + _K256[i] + w[i]) & _M32
            s0 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
            maj = (a & b) ^ (a & c) ^ (b & c)
            t2 = (s0 + maj) & _M32
            hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & _M32, c, b, a, (t1 + t2) & _M32
        h[0] = (h[0] + a) & _M32
        h[1] = (h[1] + b) & _M32
        h[2] = (h[2] + c) & _M32
        h[3] = (h[3] + d) & _M32
        h[4] = (h[4] + e) & _M32
        h[5] = (h[5] + f) & _M32
        h[6] = (h[6] + g) & _M32
        h[7] = (h[7] + hh) & _M32
    out = np.empty(32, np.uint8)
    for i in range(8):
        for k in range(4):
            out[4 * i + k] = np.uint8((h[i] >> np.uint64(24 - 8 * k)) & np.uint64(0xFF))
    return out


@nb.njit(cache=True, inline="always")
def _rmd_f(j, x, y, z):
    if j == 0:
        return x ^ y ^ z
    if j == 1:
        return (x & y) | ((~x & _M32) & z)
    if j == 2:
        return (x | (~y & _M32)) ^ z
    if j == 3:
        return (x & z) | (y & (~z & _M32))
    return x ^ (y | (~z & _M32))


@nb.njit(cache=True)
def ripemd160(msg):
    """RIPEMD-160 of a uint8 array, as a 20-byte uint8 array."""
    buf = _pad(msg, False)
    h = np.array([0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0], dtype=np.uint64)
    x = np.zeros(16, np.uint64)
    for blk in range(0, len(buf), 64):
        for i in range(16):
            j = blk + 4 * i
            x[i] = (np.uint64(buf[j]) | (np.uint64(buf[j + 1]) << np.uint64(8))
                    | (np.uint64(buf[j + 2]) << np.uint64(16)) | (np.uint64(buf[j + 3]) << np.uint64(24)))
        al, bl, cl, dl, el = h[0], h[1], h[2], h[3], h[4]
        ar, br, cr, dr, er = h[0], h[1], h[2], h[3], h[4]
        for rnd in range(5):
            for i in range(16):
                t = (_rotl((al + _rmd_f(rnd, bl, cl, dl) + x[_RL[rnd, i]] + _KL[rnd]) & _M32,
                           _SL[rnd, i]) + el) & _M32
                al, el, dl, cl, bl = el, dl, _rotl(cl, 10), bl, t
                t = (_rotl((ar + _rmd_f(4 - rnd, br, cr, dr) + x[_RR[rnd, i]] + _KR[rnd]) & _M32,
                           _SR[rnd, i]) + er) & _M32
                ar, er, dr, cr, br = er, dr, _rotl(cr, 10), br, t
        t = (h[1] + cl + dr) & _M32
        h[1] = (h[2] + dl + er) & _M32
        h[2] = (h[3] + el + ar) & _M32
        h[3] = (h[4] + al + br) & _M32
        h[4] = (h[0] + bl + cr) & _M32
        h[0] = t
    out = np.empty(20, np.uint8)
    for i in range(5):
        for k in range(4):
            out[4 * i + k] = np.uint8((h[i] >> np.uint64(8 * k)) & np.uint64(0xFF))
    return out


@nb.njit(cache=True)
def hash160(msg):
    """RIPEMD-160(SHA-256(msg))."""
    return ripemd160(sha256(msg))

"""Exact unsigned 128-bit arithmetic for numba kernels: an amount is a (hi, lo) pair of uint64.

Wei amounts pass 2^64 (18.4 ETH), so taint is kept exactly in two limbs. ``muldiv`` gives floor(x * t / b)
exactly: a double estimate, then corrections from the exact 256-bit remainder (each step shrinks the error by
about 2^50, so it settles in a few steps). Balances may go below zero (value received before the store's first
block, e.g. a genesis allocation): they are two's complement, ``neg`` tells.
"""

from __future__ import annotations

import numba as nb
import numpy as np

M32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)
S63 = np.uint64(63)
ONE = np.uint64(1)
ZERO = np.uint64(0)
TWO64 = 18446744073709551616.0


@nb.njit(cache=True, inline="always")
def mul64(a, b):
    """a * b for uint64 a, b as (hi, lo)."""
    a0, a1 = a & M32, a >> S32
    b0, b1 = b & M32, b >> S32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> S32) + (p01 & M32) + (p10 & M32)
    lo = (p00 & M32) | ((mid & M32) << S32)
    hi = p11 + (p01 >> S32) + (p10 >> S32) + (mid >> S32)
    return hi, lo


@nb.njit(cache=True, inline="always")
def add(ah, al, bh, bl):
    lo = al + bl
    return ah + bh + (ONE if lo < al else ZERO), lo


@nb.njit(cache=True, inline="always")
def sub(ah, al, bh, bl):
    lo = al - bl
    return ah - bh - (ONE if al < bl else ZERO), lo


@nb.njit(cache=True, inline="always")
def lt(ah, al, bh, bl):
    return ah < bh or (ah == bh and al < bl)


@nb.njit(cache=True, inline="always")
def neg(h):
    """Whether a two's complement balance is below zero."""
    return (h >> S63) == ONE


@nb.njit(cache=True, inline="always")
def to_f(h, lo):
    return float(h) * TWO64 + float(lo)


@nb.njit(cache=True, inline="always")
def from_f(f):
    """floor(f) for 0 <= f < 2^128 as (hi, lo)."""
    if f <= 0.0:
        return ZERO, ZERO
    h = np.floor(f / TWO64)
    lo = np.floor(f - h * TWO64)
    if lo < 0.0:
        lo = 0.0
    return np.uint64(h), np.uint64(lo)


@nb.njit(cache=True, inline="always")
def _mul256(ah, al, bh, bl):
    """(ah,al) * (bh,bl) as four limbs, most significant first."""
    h0, l0 = mul64(al, bl)
    h1, l1 = mul64(al, bh)
    h2, l2 = mul64(ah, bl)
    h3, l3 = mul64(ah, bh)
    w0 = l0
    s = h0 + l1
    c = ONE if s < h0 else ZERO
    w1 = s + l2
    c += ONE if w1 < s else ZERO
    s2 = h1 + h2
    c2 = ONE if s2 < h1 else ZERO
    s3 = s2 + l3
    c2 += ONE if s3 < s2 else ZERO
    w2 = s3 + c
    c2 += ONE if w2 < s3 else ZERO
    w3 = h3 + c2
    return w3, w2, w1, w0


@nb.njit(cache=True, inline="always")
def _sub256(a3, a2, a1, a0, b3, b2, b1, b0):
    r0 = a0 - b0
    br = ONE if a0 < b0 else ZERO
    r1 = a1 - b1 - br
    br = ONE if (a1 < b1 or (a1 == b1 and br == ONE)) else ZERO
    r2 = a2 - b2 - br
    br = ONE if (a2 < b2 or (a2 == b2 and br == ONE)) else ZERO
    r3 = a3 - b3 - br
    return r3, r2, r1, r0


@nb.njit(cache=True, inline="always")
def _ge256(a3, a2, a1, a0, b3, b2, b1, b0):
    if a3 != b3:
        return a3 > b3
    if a2 != b2:
        return a2 > b2
    if a1 != b1:
        return a1 > b1
    return a0 >= b0


@nb.njit(cache=True, inline="always")
def muldiv64(x, t, b):
    """floor(x * t / b) for uint64 x, t, b > 0 with x <= b or t <= b (so the quotient fits 64 bits): the
    128-bit product, a double estimate and exact 128-bit corrections (about 3x faster than the 256-bit path)."""
    nh, nl = mul64(x, t)
    if nh == ZERO:
        return nl // b
    bf = float(b)
    qf = (float(x) * float(t)) / bf
    q = np.uint64(qf) if qf < 18446744073709549568.0 else np.uint64(0xFFFFFFFFFFFFF800)
    for _ in range(64):
        ph, pl = mul64(q, b)
        if lt(nh, nl, ph, pl):
            rh, rl = sub(ph, pl, nh, nl)
            d = np.uint64(np.ceil((float(rh) * TWO64 + float(rl)) / bf))
            q -= d if d > ZERO else ONE
        else:
            rh, rl = sub(nh, nl, ph, pl)
            if rh == ZERO and rl < b:
                return q
            d = np.uint64((float(rh) * TWO64 + float(rl)) / bf)
            q += d if d > ZERO else ONE
    return q    # not reached (each step shrinks the error ~2^50-fold)


@nb.njit(cache=True)
def muldiv(xh, xl, th, tl, bh, bl):
    """floor(x * t / b) exactly, for b > 0 and a quotient below 2^128."""
    if th == bh and tl == bl:
        return xh, xl
    if (th == ZERO and tl == ZERO) or (xh == ZERO and xl == ZERO):
        return ZERO, ZERO
    if xh == ZERO and th == ZERO and bh == ZERO and (xl <= bl or tl <= bl):
        return ZERO, muldiv64(xl, tl, bl)
    n3, n2, n1, n0 = _mul256(xh, xl, th, tl)
    bf = to_f(bh, bl)
    qh, ql = from_f(to_f(xh, xl) * (to_f(th, tl) / bf))
    for _ in range(200):
        p3, p2, p1, p0 = _mul256(qh, ql, bh, bl)
        if _ge256(n3, n2, n1, n0, p3, p2, p1, p0):
            r3, r2, r1, r0 = _sub256(n3, n2, n1, n0, p3, p2, p1, p0)
            if r3 == ZERO and r2 == ZERO and lt(r1, r0, bh, bl):
                return qh, ql
            dh, dl = from_f((float(r3) * TWO64 * TWO64 * TWO64 + float(r2) * TWO64 * TWO64 + to_f(r1, r0)) / bf)
            if dh == ZERO and dl == ZERO:
                dl = ONE
            qh, ql = add(qh, ql, dh, dl)
        else:
            r3, r2, r1, r0 = _sub256(p3, p2, p1, p0, n3, n2, n1, n0)
            dh, dl = from_f(np.ceil((float(r3) * TWO64 * TWO64 * TWO64 + float(r2) * TWO64 * TWO64
                                     + to_f(r1, r0)) / bf))
            if dh == ZERO and dl == ZERO:
                dl = ONE
            qh, ql = sub(qh, ql, dh, dl)
    return qh, ql    # not reached for valid input (each step shrinks the error ~2^50-fold)


def split(v: int) -> tuple[int, int]:
    """A Python int (0 <= v < 2^128) as (hi, lo)."""
    return v >> 64, v & 0xFFFFFFFFFFFFFFFF


def join(h, lo) -> int:
    return (int(h) << 64) | int(lo)


def join_arrays(h: np.ndarray, lo: np.ndarray) -> list[int]:
    """Python ints of paired limb arrays."""
    return [(a << 64) | b for a, b in zip(h.tolist(), lo.tolist())]

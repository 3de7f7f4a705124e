"""Parcel lines for the fifo and lifo models on accounts: where each unit of an account's holding sits, exactly.

An account's holding is a line of units. Under **fifo** the line is a queue: an in-flow is laid at the back, an
out-flow of x takes the x units at the front. Under **lifo** it is a stack: an in-flow is laid on top, an
out-flow takes the x units on top. Both are fixed by the flows alone, so each flow's place on its accounts'
lines is computed once, as *coordinates* (exact, u128):

* fifo: an out-flow of account a takes [cum_out, cum_out + x) where cum_out is what a sent before it; an
  in-flow to b is laid at [H0 + cum_in, H0 + cum_in + x), cum_in what b received before it;
* lifo: the stack's height is H0 + balance; an out-flow takes [h - x, h), an in-flow is laid at [h, h + x).

H0 is what the account held before the store's first block: the least holding that never lets its balance go
below zero (the oldest units, at the bottom of the stack). A conversion's output leg takes nothing from its
sender's line (the pool's or router's own taint stays, as under haircut): it is left out of the coordinates.

Taint on a line is a set of disjoint intervals, kept per account as a linked list of nodes in one pool
(ascending; fifo consumes from the head, lifo from the tail). ``take`` cuts an out-flow's range out of its
sender's intervals and writes the tainted pieces relative to the range's start; ``lay`` puts pieces on the
recipient's line at the in-flow's coordinate. Intervals that flows the trace did not follow already took (an
account first reached beyond the hop limit and later within it) are dropped from the line and stay counted as
held there. The pool is the tracer's buffer: where it runs out, ``meta[1]`` is set and the caller grows it and
runs the trace again.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.analysis.eth.u128 import add, lt, neg, sub

U0 = np.uint64(0)


@nb.njit(cache=True)
def line_coords(frm, to, hi, lo, skip_out, n_acct, lifo):
    """Per position (oc_h, oc_l, ic_h, ic_l): where its out-flow's range starts on the sender's line and where
    its in-flow is laid on the recipient's (see the module doc); positions with ``skip_out`` take nothing."""
    n = frm.shape[0]
    bh, bl = np.zeros(n_acct, np.uint64), np.zeros(n_acct, np.uint64)
    h0h, h0l = np.zeros(n_acct, np.uint64), np.zeros(n_acct, np.uint64)
    for p in range(n):                       # H0: the deepest the line balance goes below zero
        a = frm[p]
        if a >= 0 and not skip_out[p]:
            bh[a], bl[a] = sub(bh[a], bl[a], hi[p], lo[p])
            if neg(bh[a]):
                mh, ml = sub(U0, U0, bh[a], bl[a])
                if lt(h0h[a], h0l[a], mh, ml):
                    h0h[a], h0l[a] = mh, ml
        b = to[p]
        if b >= 0:
            bh[b], bl[b] = add(bh[b], bl[b], hi[p], lo[p])
    oc_h, oc_l = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    ic_h, ic_l = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    # fifo: c_out / c_in are what each account sent / received so far; lifo: c_in is the stack's height
    coh, col = np.zeros(n_acct, np.uint64), np.zeros(n_acct, np.uint64)
    cih, cil = h0h.copy(), h0l.copy()
    for p in range(n):
        a = frm[p]
        if a >= 0 and not skip_out[p]:
            if lifo:
                cih[a], cil[a] = sub(cih[a], cil[a], hi[p], lo[p])
                oc_h[p], oc_l[p] = cih[a], cil[a]
            else:
                oc_h[p], oc_l[p] = coh[a], col[a]
                coh[a], col[a] = add(coh[a], col[a], hi[p], lo[p])
        b = to[p]
        if b >= 0:
            ic_h[p], ic_l[p] = cih[b], cil[b]
            cih[b], cil[b] = add(cih[b], cil[b], hi[p], lo[p])
    return oc_h, oc_l, ic_h, ic_l


@nb.njit(cache=True, inline="always")
def _free(ln, n):
    ln[4][n] = ln[8][2]
    ln[8][2] = n


@nb.njit(cache=True, inline="always")
def _unlink(ln, a, n):
    nx, pv, head, tail = ln[4], ln[5], ln[6], ln[7]
    if pv[n] >= 0:
        nx[pv[n]] = nx[n]
    else:
        head[a] = nx[n]
    if nx[n] >= 0:
        pv[nx[n]] = pv[n]
    else:
        tail[a] = pv[n]
    _free(ln, n)


@nb.njit(cache=True)
def take(ln, a, r0h, r0l, xh, xl, lifo):
    """Cut [r0, r0 + x) out of account a's tainted intervals; the pieces (relative to r0, ascending) go to the
    piece scratch; returns (their count, taint taken hi, lo)."""
    sh, sl, eh, el, nx, pv, head, tail, meta, ps_h, ps_l, pe_h, pe_l = ln
    r1h, r1l = add(r0h, r0l, xh, xl)
    th, tl = U0, U0
    k = 0
    if lifo:
        n = tail[a]
        while n >= 0:
            prev = pv[n]
            if not lt(sh[n], sl[n], r1h, r1l):          # above the top: taken by flows not followed
                _unlink(ln, a, n)
                n = prev
                continue
            if lt(r1h, r1l, eh[n], el[n]):
                eh[n], el[n] = r1h, r1l
            if not lt(r0h, r0l, eh[n], el[n]):
                break
            ch, cl = (sh[n], sl[n]) if lt(r0h, r0l, sh[n], sl[n]) else (r0h, r0l)
            ps_h[k], ps_l[k] = sub(ch, cl, r0h, r0l)
            pe_h[k], pe_l[k] = sub(eh[n], el[n], r0h, r0l)
            dh, dl = sub(eh[n], el[n], ch, cl)
            th, tl = add(th, tl, dh, dl)
            k += 1
            if lt(sh[n], sl[n], r0h, r0l):
                eh[n], el[n] = r0h, r0l
                break
            _unlink(ln, a, n)
            n = prev
        # pieces were found top down: put them in ascending order
        for i in range(k // 2):
            j = k - 1 - i
            ps_h[i], ps_h[j] = ps_h[j], ps_h[i]
            ps_l[i], ps_l[j] = ps_l[j], ps_l[i]
            pe_h[i], pe_h[j] = pe_h[j], pe_h[i]
            pe_l[i], pe_l[j] = pe_l[j], pe_l[i]
        return k, th, tl
    n = head[a]
    while n >= 0:
        nxt = nx[n]
        if not lt(r0h, r0l, eh[n], el[n]):              # before the range: taken by flows not followed
            _unlink(ln, a, n)
            n = nxt
            continue
        if lt(sh[n], sl[n], r0h, r0l):
            sh[n], sl[n] = r0h, r0l
        if not lt(sh[n], sl[n], r1h, r1l):
            break
        ch, cl = (eh[n], el[n]) if lt(eh[n], el[n], r1h, r1l) else (r1h, r1l)
        ps_h[k], ps_l[k] = sub(sh[n], sl[n], r0h, r0l)
        pe_h[k], pe_l[k] = sub(ch, cl, r0h, r0l)
        dh, dl = sub(ch, cl, sh[n], sl[n])
        th, tl = add(th, tl, dh, dl)
        k += 1
        if lt(r1h, r1l, eh[n], el[n]):
            sh[n], sl[n] = r1h, r1l
            break
        _unlink(ln, a, n)
        n = nxt
    return k, th, tl


@nb.njit(cache=True)
def lay(ln, d, bh, bl, k, lifo):
    """Lay the k pieces in the piece scratch on account d's line at base b (lifo: first cut the line down to
    b, the stack's height there). Sets meta[1] where the pool is full (the caller grows it and reruns)."""
    sh, sl, eh, el, nx, pv, head, tail, meta, ps_h, ps_l, pe_h, pe_l = ln
    if lifo:
        n = tail[d]
        while n >= 0 and lt(bh, bl, eh[n], el[n]):
            prev = pv[n]
            if lt(sh[n], sl[n], bh, bl):
                eh[n], el[n] = bh, bl
                break
            _unlink(ln, d, n)
            n = prev
    for i in range(k):
        s_h, s_l = add(bh, bl, ps_h[i], ps_l[i])
        e_h, e_l = add(bh, bl, pe_h[i], pe_l[i])
        if not lt(s_h, s_l, e_h, e_l):
            continue
        t = tail[d]
        if t >= 0:
            if lt(s_h, s_l, eh[t], el[t]):               # out of order (not expected): keep what is new only
                if not lt(eh[t], el[t], e_h, e_l):
                    continue
                s_h, s_l = eh[t], el[t]
            if eh[t] == s_h and el[t] == s_l:            # touches the last interval: extend it
                eh[t], el[t] = e_h, e_l
                continue
        n = meta[2]
        if n >= 0:
            meta[2] = nx[n]
        elif meta[0] < sh.shape[0]:
            n = meta[0]
            meta[0] += 1
        else:
            meta[1] = 1
            return
        sh[n], sl[n], eh[n], el[n] = s_h, s_l, e_h, e_l
        nx[n], pv[n] = -1, t
        if t >= 0:
            nx[t] = n
        else:
            head[d] = n
        tail[d] = n


def pool(n_nodes: int, n_acct: int) -> tuple:
    """An empty interval pool with its piece scratch (see ``take``/``lay``)."""
    z = lambda: np.zeros(n_nodes, np.uint64)  # noqa: E731
    return (z(), z(), z(), z(), np.full(n_nodes, -1, np.int64), np.full(n_nodes, -1, np.int64),
            np.full(n_acct, -1, np.int64), np.full(n_acct, -1, np.int64), np.array([0, 0, -1], np.int64),
            z(), z(), z(), z())


def reset(ln: tuple, accts: np.ndarray) -> None:
    """Empty the lines of the given accounts and the pool (nodes need no clearing)."""
    ln[6][accts] = -1
    ln[7][accts] = -1
    ln[8][:] = (0, 0, -1)


__all__ = ["lay", "line_coords", "pool", "reset", "take"]

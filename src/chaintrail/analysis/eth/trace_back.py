"""The Ethereum backward trace kernel: where the funds of a flow came from, per asset, across conversions.

Positions are visited in descending processing order. *Interest* W arriving at account a at position p (the
funds of an out-flow of a at p, or of a source flow) lies in a's balance just before p, so it is attributed to
a's in-flows before p, latest first:

* haircut: an in-flow r of x gives its sender floor(x * P / B) of the interest P that account holds there, B
  the account's balance just after r (from the flow graph; at least x and P): the mirror of forward haircut.
  Interest no earlier in-flow accounts for was held before the store's first block (``unspent``: the caller
  names it ``before_store``).
* poison: each in-flow r is wholly of interest while P lasts (x - min(x, P) counted as absorbed).

The sender of r gets the share: a mint or reward (no sender) is an origin (``TO_BURNT``, named ``minted``); a
stop (tagged service, deposit address, bridge, mixer under policy stop) ends the trail there; an in-flow that is
a conversion's output leg crosses into the input asset at the executed rate, floor(w * amount_in /
amount_out), arriving at the trader's input account at its first input leg; with mixer policy leads or demix a
Tornado withdrawal leg gives its share to the deposit a lead pairs it with (arriving at the depositor at the
deposit), and otherwise ends at the withdrawal's recipient (``TO_MIXER_OUT``). Returns what ``trace_kernel``
returns, so one assembly serves both directions.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros

from chaintrail.analysis.eth.trace_kernel import (FOLLOW, POISON, R_ABSORBED, R_BELOW, R_BURNT, R_CONV_IN,
                                                  R_CONV_OUT, R_MIXER, R_SOURCE, STOP_HOPS, TO_BELOW, TO_BURNT,
                                                  TO_MIXER_OUT, N_ROWS, UNTOUCHED)
from chaintrail.analysis.eth.u128 import add, lt, muldiv, neg, sub

U0, U1 = np.uint64(0), np.uint64(1)
LEG_RECIPIENT, LEG_RELAYER = 1, 2


@nb.njit(cache=True)
def in_balances(frm, to, hi, lo, n_acct):
    """Per position the to-account's balance just after it (two's complement)."""
    bh, bl = np.zeros(n_acct, np.uint64), np.zeros(n_acct, np.uint64)
    out_h, out_l = np.zeros(frm.shape[0], np.uint64), np.zeros(frm.shape[0], np.uint64)
    for p in range(frm.shape[0]):
        a = frm[p]
        if a >= 0:
            bh[a], bl[a] = sub(bh[a], bl[a], hi[p], lo[p])
        b = to[p]
        if b >= 0:
            bh[b], bl[b] = add(bh[b], bl[b], hi[p], lo[p])
            out_h[p], out_l[p] = bh[b], bl[b]
    return out_h, out_l


@nb.njit(cache=True, inline="always")
def _push(q0, p):
    q0[p >> 6] |= U1 << np.uint64(p & 63)


@nb.njit(cache=True)
def _arrive(a, wh, wl, hop, p, max_hops, acct_addr, stop_kind, status, hops, P_hi, P_lo, in_ptr, in_pos, q0,
            touched, nt):
    """Interest w arrives at account a at position p: a's in-flows before p are queued once a is followed."""
    st = status[a]
    P_hi[a], P_lo[a] = add(P_hi[a], P_lo[a], wh, wl)
    if st == UNTOUCHED:
        touched[nt] = a
        nt += 1
        hops[a] = hop
        k = stop_kind[acct_addr[a]]
        if k != 0:
            status[a] = k
            return nt
        status[a] = STOP_HOPS
    if status[a] == STOP_HOPS and hop <= max_hops:
        status[a] = FOLLOW
        hops[a] = hop
        j = in_ptr[a]
        while j < in_ptr[a + 1] and in_pos[j] < p:
            _push(q0, in_pos[j])
            j += 1
    elif status[a] == FOLLOW and hop < hops[a]:
        hops[a] = hop
    return nt


@nb.njit(cache=True)
def _route(p, wh, wl, hop, h0, s, frm, acct_addr, acct_asset, stop_kind, status, hops, P_hi, P_lo, in_ptr, in_pos,
           q0, touched, nt, max_hops, min_lo, conv_out, c_in_pos, ain_h, ain_l, aout_h, aout_l, tin_h, tin_l, tout_h,
           tout_l, c_hop, convs, nc, mix_follow, mix_leg, mix_ref, w_dep, d_pos, tot_h, tot_l):
    """Where interest w of the flow at p goes back to (its sender, the conversion's input, the paired deposit,
    a mint, below the threshold); returns (nt, nc, destination, hop, w carried on)."""
    c = conv_out[p]
    lk = mix_leg[p] if mix_follow else 0
    a = frm[p]
    if wh == U0 and wl < min_lo:
        dst = TO_BELOW
        tot_h[R_BELOW, s], tot_l[R_BELOW, s] = add(tot_h[R_BELOW, s], tot_l[R_BELOW, s], wh, wl)
    elif c >= 0 and c_in_pos[c] >= 0:       # a conversion's output: back into the input asset
        q = c_in_pos[c]
        ci = frm[q]
        so = acct_asset[ci]
        vh, vl = muldiv(wh, wl, ain_h[c], ain_l[c], aout_h[c], aout_l[c])
        if tout_h[c] == U0 and tout_l[c] == U0 and tin_h[c] == U0 and tin_l[c] == U0:
            convs[nc] = c
            nc += 1
        tout_h[c], tout_l[c] = add(tout_h[c], tout_l[c], wh, wl)
        tin_h[c], tin_l[c] = add(tin_h[c], tin_l[c], vh, vl)
        c_hop[c] = min(c_hop[c], h0)
        tot_h[R_CONV_OUT, s], tot_l[R_CONV_OUT, s] = add(tot_h[R_CONV_OUT, s], tot_l[R_CONV_OUT, s], wh, wl)
        tot_h[R_CONV_IN, so], tot_l[R_CONV_IN, so] = add(tot_h[R_CONV_IN, so], tot_l[R_CONV_IN, so], vh, vl)
        dst, hop, wh, wl = ci, h0, vh, vl
        if wh != U0 or wl != U0:
            nt = _arrive(ci, wh, wl, hop, min(q, p), max_hops, acct_addr, stop_kind, status, hops, P_hi, P_lo,
                         in_ptr, in_pos, q0, touched, nt)
    elif lk == LEG_RECIPIENT or lk == LEG_RELAYER:   # a Tornado withdrawal: back to the deposit a lead pairs
        i = w_dep[mix_ref[p]]
        if i >= 0 and d_pos[i] >= 0:
            q = d_pos[i]
            dst = frm[q]
            nt = _arrive(dst, wh, wl, hop, q, max_hops, acct_addr, stop_kind, status, hops, P_hi, P_lo,
                         in_ptr, in_pos, q0, touched, nt)
        else:
            dst = TO_MIXER_OUT
            tot_h[R_MIXER, s], tot_l[R_MIXER, s] = add(tot_h[R_MIXER, s], tot_l[R_MIXER, s], wh, wl)
    elif a < 0:
        dst = TO_BURNT
        tot_h[R_BURNT, s], tot_l[R_BURNT, s] = add(tot_h[R_BURNT, s], tot_l[R_BURNT, s], wh, wl)
    else:
        dst = a
        nt = _arrive(a, wh, wl, hop, p, max_hops, acct_addr, stop_kind, status, hops, P_hi, P_lo, in_ptr,
                     in_pos, q0, touched, nt)
    return nt, nc, dst, hop, wh, wl


@nb.njit(cache=True)
def back_kernel(model, frm, to, hi, lo, ib_hi, ib_lo, acct_addr, acct_asset, in_ptr, in_pos, stop_kind,
                src_pos, src_hi, src_lo, conv_out, c_in_pos, ain_h, ain_l, aout_h, aout_l, max_hops, min_lo,
                n_assets, P_hi, P_lo, status, hops, q0, tin_h, tin_l, tout_h, tout_l, c_hop, touched,
                mix_follow, mix_leg, mix_ref, w_dep, d_pos, e_pos, e_dst, e_h, e_l, e_hop, e_slack, convs, notes):
    """One backward trace (see the module doc); scratch and buffers as ``trace_kernel``'s (no queue summary:
    the scan goes down word by word)."""
    tot_h = np.zeros((N_ROWS, n_assets), np.uint64)
    tot_l = np.zeros((N_ROWS, n_assets), np.uint64)
    nt, ne, nc, visited = 0, 0, 0, 0
    cap = e_pos.shape[0] - e_slack
    si = src_pos.shape[0] - 1                    # sources sorted ascending: taken from the end
    top = 0
    for k in range(src_pos.shape[0]):
        _push(q0, src_pos[k])
        top = max(top, src_pos[k])
    w = top >> 6
    while w >= 0:
        if q0[w] == U0:
            w -= 1
            continue
        b = 63 - leading_zeros(q0[w])
        q0[w] &= ~(U1 << np.uint64(b))
        p = (w << 6) + b
        if ne > cap:
            visited = -1
            break
        visited += 1
        s = acct_asset[to[p]] if to[p] >= 0 else acct_asset[frm[p]]
        # a source flow: its funds lie in the sender's balance before it
        while si >= 0 and src_pos[si] == p:
            th, tl = src_hi[si], src_lo[si]
            si -= 1
            tot_h[R_SOURCE, s], tot_l[R_SOURCE, s] = add(tot_h[R_SOURCE, s], tot_l[R_SOURCE, s], th, tl)
            nt, nc, a, hop, th, tl = _route(p, th, tl, 0, 0, s, frm, acct_addr, acct_asset, stop_kind, status, hops,
                                            P_hi, P_lo, in_ptr, in_pos, q0, touched, nt, max_hops, U0, conv_out,
                                            c_in_pos, ain_h, ain_l, aout_h, aout_l, tin_h, tin_l, tout_h, tout_l,
                                            c_hop, convs, nc, mix_follow, mix_leg, mix_ref, w_dep, d_pos, tot_h, tot_l)
            e_pos[ne], e_dst[ne], e_h[ne], e_l[ne], e_hop[ne] = p, a, th, tl, hop
            ne += 1
        d = to[p]
        if d < 0 or status[d] != FOLLOW or (P_hi[d] == U0 and P_lo[d] == U0):
            continue
        xh, xl = hi[p], lo[p]
        if model == POISON:
            wh, wl = xh, xl
            if lt(P_hi[d], P_lo[d], xh, xl):
                ah, al = sub(xh, xl, P_hi[d], P_lo[d])
                tot_h[R_ABSORBED, s], tot_l[R_ABSORBED, s] = add(tot_h[R_ABSORBED, s], tot_l[R_ABSORBED, s], ah, al)
                P_hi[d], P_lo[d] = U0, U0
            else:
                P_hi[d], P_lo[d] = sub(P_hi[d], P_lo[d], xh, xl)
        else:
            bh, bl = ib_hi[p], ib_lo[p]
            if neg(bh):
                bh, bl = U0, U0
            if lt(bh, bl, xh, xl):
                bh, bl = xh, xl
            if lt(bh, bl, P_hi[d], P_lo[d]):
                bh, bl = P_hi[d], P_lo[d]
            wh, wl = muldiv(xh, xl, P_hi[d], P_lo[d], bh, bl)
            P_hi[d], P_lo[d] = sub(P_hi[d], P_lo[d], wh, wl)
        if wh == U0 and wl == U0:
            continue
        hop = hops[d] + 1
        nt, nc, dst, hop, wh, wl = _route(p, wh, wl, hop, hops[d], s, frm, acct_addr, acct_asset, stop_kind, status, hops,
                                          P_hi, P_lo, in_ptr, in_pos, q0, touched, nt, max_hops, min_lo, conv_out,
                                          c_in_pos, ain_h, ain_l, aout_h, aout_l, tin_h, tin_l, tout_h, tout_l, c_hop,
                                          convs, nc, mix_follow, mix_leg, mix_ref, w_dep, d_pos, tot_h, tot_l)
        e_pos[ne], e_dst[ne], e_h[ne], e_l[ne], e_hop[ne] = p, dst, wh, wl, hop
        ne += 1
    return (touched[:nt], e_pos[:ne], e_dst[:ne], e_h[:ne], e_l[:ne], e_hop[:ne], tot_h, tot_l, convs[:nc], visited,
            notes[:0])


__all__ = ["back_kernel", "in_balances"]

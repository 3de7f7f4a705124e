"""The Ethereum taint kernel (numba): per-asset accounts, flows visited once in processing order.

A bitmap queue holds the flow positions still to visit; a position is queued when its from-account becomes
tainted (all of that account's later out-flows at once), and popped in ascending order, so an account's taint
is up to date whenever one of its out-flows is visited. See ``trace`` for the models' rules.
Each visited out-flow of a tainted account carries ``t`` (exact, ``u128``):

* haircut: t = floor(x * T / B), B the account's balance just before (from the flow graph; at least x and T);
  a transaction's gas (its fee flows from one payer, ``fee_next``) is one movement: floor(X * T / B) over their
  sum X, shared over the flows in proportion (the last takes the rest);
* poison: t = x; the clean part x - min(x, T) is counted as absorbed.
* tiho: t = min(x, T);
* fifo / lifo: t = the tainted units in the range the flow takes from its sender's line (``lines``: exact
  intervals per account); they are laid, in order, on the recipient's line at the in-flow's place.

``t`` then goes to the recipient account (``deliver``), to fees (fee flows), to burnt (no recipient), below the
threshold, or into a conversion (the trader's input leg of a swap or wrap: the recipient pool gets no taint,
and at the conversion's last flow the trader's output account gets floor(amount_out * t_in / amount_in)).
Output legs of a conversion carry no taint of their sender. A bridge leg leaving the chain (``bridge_out``: a
Locked or Burned event's leg, see ``bridge_legs``) takes its taint across (``TO_BRIDGE``); on the other chain
the matching Minted or Released leg is a source position (``src_hop``: the hops so far). A source account (an address or entity traced
whole) sends every out-flow fully tainted.

Tornado pools (``mixer_legs``; ``mix_policy``): with MIX_PASS the legs are ordinary flows (pass-through, or
the pool is a stop). With MIX_LEADS the pool is an account under the model, and a withdrawal's recipient leg
goes on to its recipient only when the withdrawal is paired with a deposit that carried taint; otherwise its
taint ends there (``TO_MIXER_OUT``), as the relayer leg's always does (``TO_RELAYER``), unless the recipient
is a stop of its own. With MIX_DEMIX a deposit leg's taint goes into its note (``TO_NOTE``), not the pool;
the note's paired withdrawal gives its recipient floor(x * note / denomination) and the relayer the rest;
a note with no pair keeps its taint (the caller reports it).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from chaintrail.analysis.eth.lines import lay, take
from chaintrail.analysis.eth.u128 import add, lt, muldiv, neg, sub

HAIRCUT, POISON, FIFO, LIFO, TIHO = 0, 1, 2, 3, 4
MODELS = {"haircut": HAIRCUT, "poison": POISON, "fifo": FIFO, "lifo": LIFO, "tiho": TIHO}
# account status
UNTOUCHED, FOLLOW, SOURCE, STOP_SERVICE, STOP_DEPOSIT, STOP_BRIDGE, STOP_HOPS, STOP_MIXER = range(8)
# destination codes of an edge record (>= 0: an account)
TO_FEES, TO_BURNT, TO_CONVERSION, TO_BELOW, TO_NOTE, TO_MIXER_OUT, TO_RELAYER, TO_BRIDGE = -1, -2, -3, -4, -5, -6, -7, -8
MIX_PASS, MIX_LEADS, MIX_DEMIX = 0, 1, 2
LEG_RECIPIENT, LEG_RELAYER, LEG_DEPOSIT = 1, 2, 3
# totals rows (per asset, hi/lo)
R_SOURCE, R_FEES, R_BURNT, R_BELOW, R_CONV_OUT, R_CONV_IN, R_ABSORBED, R_RETURNED, R_MIXER, R_BRIDGED = range(10)
N_ROWS = 10
U0, U1 = np.uint64(0), np.uint64(1)


@nb.njit(cache=True, inline="always")
def _push(q0, q1, p):
    w = p >> 6
    q0[w] |= U1 << np.uint64(p & 63)
    q1[w >> 6] |= U1 << np.uint64(w & 63)


@nb.njit(cache=True, inline="always")
def _prefix(ln, th, tl):
    """One piece [0, t) in the line scratch: a parcel whose tainted part is laid first."""
    ln[9][0], ln[10][0], ln[11][0], ln[12][0] = U0, U0, th, tl
    return 1


@nb.njit(cache=True, inline="always")
def _lay(model, ln, d, status, bh, bl, k):
    """fifo/lifo: lay the scratch's k pieces on d's line at b, where d may send them on."""
    if (model == FIFO or model == LIFO) and k > 0 and (status[d] == FOLLOW or status[d] == STOP_HOPS):
        lay(ln, d, bh, bl, k, model == LIFO)


@nb.njit(cache=True)
def trace_kernel(model, frm, to, hi, lo, kind, bal_hi, bal_lo, acct_addr, acct_asset, out_ptr, out_pos,
                 fee_kind, fee_next, stop_kind, src_pos, src_hi, src_lo, src_hop, src_accts, bridge_out,
                 conv_in, conv_out, trig_first, conv_trig, conv_acct, ain_h, ain_l, aout_h, aout_l,
                 max_hops, min_lo, n_assets, T_hi, T_lo, status, hops, q0, q1, tin_h, tin_l, tout_h, tout_l, c_hop, touched,
                 mix_policy, mix_leg, mix_ref, w_dep, d_w, w_rec, w_fee, den_h, den_l, note_h, note_l, took_h, took_l,
                 note_hop, e_pos, e_dst, e_h, e_l, e_hop, e_slack, convs, notes, ln, oc_h, oc_l, ic_h, ic_l, c_inpos):
    """Run one trace; returns (touched accounts, edge records (pos, dest, hi, lo, hop), totals, conversions
    that carried taint, flows visited, notes that took taint). Scratch (T, status, hops, queue, tin/tout/c_hop,
    note/took/note_hop: zero, c_hop and note_hop 2^30) is left for the caller to reset at the touched accounts,
    conversions and notes. The edge records and the conversion and note lists are the caller's buffers (no
    allocation or reference counting in the loop: that cost 10x); ``e_slack`` is the most records one position
    can add. Where the edge buffers could overflow, flows visited is -1 and the queue is left part-filled: the
    caller clears it, grows the buffers and runs again; so too where the fifo/lifo interval pool ``ln`` (see
    ``lines``) ran out (its meta[1] set). ``oc``/``ic``: each position's coordinates on its accounts' lines,
    ``c_inpos``: per conversion the output leg its parcel is laid at (-1: none)."""
    tot_h = np.zeros((N_ROWS, n_assets), np.uint64)
    tot_l = np.zeros((N_ROWS, n_assets), np.uint64)
    n_conv = conv_trig.shape[0]
    meta = ln[8]                                     # bound once: a tuple item read per position is refcounted
    nc = 0
    nn = 0
    nt = 0
    ne = 0
    cap = e_pos.shape[0] - e_slack
    visited = 0
    gas_p = -1                                       # haircut: the next position of a gas run, its taint and amount left
    gt_h, gt_l, gx_h, gx_l = U0, U0, U0, U0
    first = frm.shape[0]
    for k in range(src_pos.shape[0]):
        _push(q0, q1, src_pos[k])
        first = min(first, src_pos[k])
    for k in range(src_accts.shape[0]):
        a = src_accts[k]
        status[a] = SOURCE
        hops[a] = 0
        touched[nt] = a
        nt += 1
        for j in range(out_ptr[a], out_ptr[a + 1]):
            _push(q0, q1, out_pos[j])
            first = min(first, out_pos[j])
    n_src = src_pos.shape[0]
    si = 0                                           # sources sorted by position
    w = first >> 6
    n_words = q0.shape[0]
    while w < n_words:
        if q0[w] == U0:
            # this word is done: clear its summary bit and jump to the next queued word (everything queued
            # lies ahead of the current position, so the scan never goes back)
            q1[w >> 6] &= ~(U1 << np.uint64(w & 63))
            nw = w + 1
            w1 = nw >> 6
            if w1 >= q1.shape[0]:
                break
            m = q1[w1] & ~((U1 << np.uint64(nw & 63)) - U1)
            while m == U0:
                w1 += 1
                if w1 >= q1.shape[0]:
                    break
                m = q1[w1]
            if w1 >= q1.shape[0]:
                break
            w = (w1 << 6) + trailing_zeros(m)
            continue
        b = trailing_zeros(q0[w])
        q0[w] &= ~(U1 << np.uint64(b))
        p = (w << 6) + b
        if ne > cap or meta[1] != 0:   # the edge records could overflow (or the lines did): the caller grows, reruns
            visited = -1
            break
        visited += 1
        s = acct_asset[frm[p]] if frm[p] >= 0 else acct_asset[to[p]]
        # a source movement: its recipient gets the given taint
        while si < n_src and src_pos[si] == p:
            th, tl = src_hi[si], src_lo[si]
            tot_h[R_SOURCE, s], tot_l[R_SOURCE, s] = add(tot_h[R_SOURCE, s], tot_l[R_SOURCE, s], th, tl)
            dst, hop = to[p], src_hop[si]
            si += 1
            if dst < 0:
                tot_h[R_BURNT, s], tot_l[R_BURNT, s] = add(tot_h[R_BURNT, s], tot_l[R_BURNT, s], th, tl)
                dst = TO_BURNT
            else:
                nt = _deliver(dst, th, tl, hop, p, max_hops, acct_addr, stop_kind, status, hops, T_hi,
                                       T_lo, out_ptr, out_pos, q0, q1, touched, nt, tot_h, tot_l, s)
                if model == FIFO or model == LIFO:
                    _lay(model, ln, dst, status, ic_h[p], ic_l[p], _prefix(ln, th, tl))
            e_pos[ne], e_dst[ne], e_h[ne], e_l[ne], e_hop[ne] = p, dst, th, tl, hop
            ne += 1
        lk = mix_leg[p] if mix_policy != MIX_PASS else 0
        if mix_policy == MIX_DEMIX and (lk == LEG_RECIPIENT or lk == LEG_RELAYER):
            wi = mix_ref[p]
            d = w_dep[wi]
            if d >= 0 and (note_h[d] != U0 or note_l[d] != U0):
                if p == max(w_rec[wi], w_fee[wi]):          # the withdrawal's last leg takes what is left
                    th, tl = sub(note_h[d], note_l[d], took_h[d], took_l[d])
                else:
                    th, tl = muldiv(hi[p], lo[p], note_h[d], note_l[d], den_h[d], den_l[d])
                took_h[d], took_l[d] = add(took_h[d], took_l[d], th, tl)
                if th != U0 or tl != U0:
                    hop = note_hop[d] + 1
                    if lk == LEG_RELAYER and stop_kind[acct_addr[to[p]]] == 0:
                        dst = TO_RELAYER
                        tot_h[R_MIXER, s], tot_l[R_MIXER, s] = add(tot_h[R_MIXER, s], tot_l[R_MIXER, s], th, tl)
                    else:
                        dst = to[p]
                        nt = _deliver(dst, th, tl, hop, p, max_hops, acct_addr, stop_kind, status, hops, T_hi, T_lo,
                                      out_ptr, out_pos, q0, q1, touched, nt, tot_h, tot_l, s)
                        if model == FIFO or model == LIFO:
                            _lay(model, ln, dst, status, ic_h[p], ic_l[p], _prefix(ln, th, tl))
                    e_pos[ne], e_dst[ne], e_h[ne], e_l[ne], e_hop[ne] = p, dst, th, tl, hop
                    ne += 1
        a = frm[p]
        if a >= 0 and (status[a] == FOLLOW or status[a] == SOURCE) and conv_out[p] < 0:
            xh, xl = hi[p], lo[p]
            th, tl = U0, U0
            npc = 0
            if status[a] == SOURCE:
                th, tl = xh, xl
                tot_h[R_SOURCE, s], tot_l[R_SOURCE, s] = add(tot_h[R_SOURCE, s], tot_l[R_SOURCE, s], th, tl)
                if model == FIFO or model == LIFO:
                    npc = _prefix(ln, th, tl)
            elif (T_hi[a] != U0 or T_lo[a] != U0) and model >= FIFO:
                if model == TIHO:              # taint leaves first
                    th, tl = (xh, xl) if lt(xh, xl, T_hi[a], T_lo[a]) else (T_hi[a], T_lo[a])
                else:                          # the tainted parts of the range the flow takes from the line
                    npc, th, tl = take(ln, a, oc_h[p], oc_l[p], xh, xl, model == LIFO)
                    if lt(T_hi[a], T_lo[a], th, tl):
                        th, tl = T_hi[a], T_lo[a]
                T_hi[a], T_lo[a] = sub(T_hi[a], T_lo[a], th, tl)
            elif T_hi[a] != U0 or T_lo[a] != U0:
                if model == POISON:
                    th, tl = xh, xl
                    if lt(T_hi[a], T_lo[a], xh, xl):
                        ah, al = sub(xh, xl, T_hi[a], T_lo[a])
                        tot_h[R_ABSORBED, s], tot_l[R_ABSORBED, s] = add(tot_h[R_ABSORBED, s],
                                                                         tot_l[R_ABSORBED, s], ah, al)
                        T_hi[a], T_lo[a] = U0, U0
                    else:
                        T_hi[a], T_lo[a] = sub(T_hi[a], T_lo[a], xh, xl)
                elif gas_p == p:         # more of the transaction's gas: its share of the gas's taint
                    if fee_next[p]:
                        th, tl = muldiv(xh, xl, gt_h, gt_l, gx_h, gx_l)
                        gt_h, gt_l = sub(gt_h, gt_l, th, tl)
                        gx_h, gx_l = sub(gx_h, gx_l, xh, xl)
                        gas_p = p + 1
                    else:
                        th, tl = gt_h, gt_l
                        gas_p = -1
                    T_hi[a], T_lo[a] = sub(T_hi[a], T_lo[a], th, tl)
                else:
                    # a transaction's gas (tip, base fee burnt, blob fee) is one movement: X is all of it
                    sh_, sl_ = xh, xl
                    q = p
                    while fee_next[q]:
                        q += 1
                        sh_, sl_ = add(sh_, sl_, hi[q], lo[q])
                    bh, bl = bal_hi[p], bal_lo[p]
                    if neg(bh):
                        bh, bl = U0, U0
                    if lt(bh, bl, sh_, sl_):
                        bh, bl = sh_, sl_
                    if lt(bh, bl, T_hi[a], T_lo[a]):
                        bh, bl = T_hi[a], T_lo[a]
                    th, tl = muldiv(sh_, sl_, T_hi[a], T_lo[a], bh, bl)
                    if q > p:            # shared over the run's flows in proportion, the last taking the rest
                        gt_h, gt_l = th, tl
                        th, tl = muldiv(xh, xl, gt_h, gt_l, sh_, sl_)
                        gt_h, gt_l = sub(gt_h, gt_l, th, tl)
                        gx_h, gx_l = sub(sh_, sl_, xh, xl)
                        gas_p = p + 1
                    T_hi[a], T_lo[a] = sub(T_hi[a], T_lo[a], th, tl)
            if th != U0 or tl != U0:
                hop = hops[a] + 1
                c = conv_in[p]
                if lk == LEG_DEPOSIT and not fee_kind[kind[p]]:      # the note takes the deposit's taint
                    d = mix_ref[p]
                    if note_h[d] == U0 and note_l[d] == U0:
                        notes[nn] = d
                        nn += 1
                    note_h[d], note_l[d] = add(note_h[d], note_l[d], th, tl)
                    note_hop[d] = min(note_hop[d], hops[a])
                wi = mix_ref[p]
                if fee_kind[kind[p]]:
                    dst = TO_FEES
                    tot_h[R_FEES, s], tot_l[R_FEES, s] = add(tot_h[R_FEES, s], tot_l[R_FEES, s], th, tl)
                elif bridge_out[p] != 0:
                    dst = TO_BRIDGE
                    tot_h[R_BRIDGED, s], tot_l[R_BRIDGED, s] = add(tot_h[R_BRIDGED, s], tot_l[R_BRIDGED, s], th, tl)
                elif c >= 0:
                    dst = TO_CONVERSION
                    hop = hops[a]
                    if tin_h[c] == U0 and tin_l[c] == U0:
                        convs[nc] = c
                        nc += 1
                    tin_h[c], tin_l[c] = add(tin_h[c], tin_l[c], th, tl)
                    c_hop[c] = min(c_hop[c], hops[a])
                    tot_h[R_CONV_OUT, s], tot_l[R_CONV_OUT, s] = add(tot_h[R_CONV_OUT, s], tot_l[R_CONV_OUT, s],
                                                                     th, tl)
                    if conv_trig[c] > p:
                        _push(q0, q1, conv_trig[c])
                elif lk == LEG_DEPOSIT and mix_policy == MIX_DEMIX:
                    dst = TO_NOTE
                    wi = d_w[mix_ref[p]]
                    if wi >= 0:
                        if w_rec[wi] > p:
                            _push(q0, q1, w_rec[wi])
                        if w_fee[wi] > p:
                            _push(q0, q1, w_fee[wi])
                elif ((lk == LEG_RELAYER or (lk == LEG_RECIPIENT and (w_dep[wi] < 0 or (note_h[w_dep[wi]] == U0
                       and note_l[w_dep[wi]] == U0)))) and mix_policy == MIX_LEADS and to[p] >= 0
                      and stop_kind[acct_addr[to[p]]] == 0):
                    dst = TO_MIXER_OUT if lk == LEG_RECIPIENT else TO_RELAYER
                    tot_h[R_MIXER, s], tot_l[R_MIXER, s] = add(tot_h[R_MIXER, s], tot_l[R_MIXER, s], th, tl)
                elif to[p] < 0:
                    dst = TO_BURNT
                    tot_h[R_BURNT, s], tot_l[R_BURNT, s] = add(tot_h[R_BURNT, s], tot_l[R_BURNT, s], th, tl)
                elif th == U0 and tl < min_lo:
                    dst = TO_BELOW
                    tot_h[R_BELOW, s], tot_l[R_BELOW, s] = add(tot_h[R_BELOW, s], tot_l[R_BELOW, s], th, tl)
                else:
                    dst = to[p]
                    nt = _deliver(dst, th, tl, hop, p, max_hops, acct_addr, stop_kind, status, hops,
                                           T_hi, T_lo, out_ptr, out_pos, q0, q1, touched, nt, tot_h, tot_l, s)
                    if npc > 0:              # (fifo/lifo only: passing the lines costs refcounts)
                        _lay(model, ln, dst, status, ic_h[p], ic_l[p], npc)
                e_pos[ne], e_dst[ne], e_h[ne], e_l[ne], e_hop[ne] = p, dst, th, tl, hop
                ne += 1
        # conversions completing here: the trader's output account gets the input's taint at the executed rate
        c = trig_first[p]
        while c >= 0 and c < n_conv and conv_trig[c] == p:
            if (tin_h[c] != U0 or tin_l[c] != U0) and tout_h[c] == U0 and tout_l[c] == U0:
                oh, ol = muldiv(aout_h[c], aout_l[c], tin_h[c], tin_l[c], ain_h[c], ain_l[c])
                tout_h[c], tout_l[c] = oh, ol
                dst = conv_acct[c]
                so = acct_asset[dst]
                tot_h[R_CONV_IN, so], tot_l[R_CONV_IN, so] = add(tot_h[R_CONV_IN, so], tot_l[R_CONV_IN, so], oh, ol)
                if oh != U0 or ol != U0:
                    nt = _deliver(dst, oh, ol, c_hop[c], p, max_hops, acct_addr, stop_kind, status, hops,
                                           T_hi, T_lo, out_ptr, out_pos, q0, q1, touched, nt, tot_h, tot_l, so)
                    q = c_inpos[c]
                    if q >= 0 and (model == FIFO or model == LIFO):   # the output parcel, its tainted part first
                        _lay(model, ln, dst, status, ic_h[q], ic_l[q], _prefix(ln, oh, ol))
                    e_pos[ne], e_dst[ne], e_h[ne], e_l[ne], e_hop[ne] = p, dst, oh, ol, c_hop[c]
                    ne += 1
            c += 1
    return (touched[:nt], e_pos[:ne], e_dst[:ne], e_h[:ne], e_l[:ne], e_hop[:ne], tot_h, tot_l, convs[:nc], visited,
            notes[:nn])


@nb.njit(cache=True, inline="always")
def _deliver(d, th, tl, hop, p, max_hops, acct_addr, stop_kind, status, hops, T_hi, T_lo, out_ptr, out_pos,
             q0, q1, touched, nt, tot_h, tot_l, s):
    """Taint t arrives at account d at position p."""
    st = status[d]
    if st == SOURCE:       # the source's own money coming back: not new taint
        tot_h[R_RETURNED, s], tot_l[R_RETURNED, s] = add(tot_h[R_RETURNED, s], tot_l[R_RETURNED, s], th, tl)
        return nt
    T_hi[d], T_lo[d] = add(T_hi[d], T_lo[d], th, tl)
    if st == UNTOUCHED:
        touched[nt] = d
        nt += 1
        k = stop_kind[acct_addr[d]]
        hops[d] = hop
        if k != 0:
            status[d] = k
            return nt
        status[d] = STOP_HOPS
    if status[d] == STOP_HOPS and hop <= max_hops:
        status[d] = FOLLOW
        hops[d] = hop
        # every later out-flow of d (ascending: stop at the first at or before p from the end)
        j = out_ptr[d + 1] - 1
        while j >= out_ptr[d] and out_pos[j] > p:
            _push(q0, q1, out_pos[j])
            j -= 1
    elif status[d] == FOLLOW and hop < hops[d]:
        hops[d] = hop
    return nt

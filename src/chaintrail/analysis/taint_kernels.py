"""Taint propagation kernels (numba): forward and backward, five models, integer sats.

The transaction graph is walked in chain order (a bitmap queue of tx ids), so a
tx is processed once, after every tainted input it will ever get has arrived
(forward: ascending tx_num; backward: descending). Inside a tx the tainted
amount T is allocated to the outputs (forward) or inputs (backward) and the
fee by the model:

* HAIRCUT: proportional. Shares are floor(T*v/V) in IEEE double; the sats left
  over go one at a time to the parts with the largest fractional share (ties:
  lowest index), so the shares always sum exactly to T.
* POISON: every output of a tx with any taint is wholly tainted; the clean
  value swept in is counted as ``absorbed``.
* FIFO / LIFO: value is a line of sats; inputs are laid end to end in vin order
  (LIFO: reversed), outputs then the fee take consecutive ranges. Taint is a
  set of intervals on that line, so the allocation is exact.
* TIHO: taint in, highest out: T fills the largest outputs first (ties: lowest
  vout), then the fee.

Accounting identity per trace (checked by the tests for every model):
    source + absorbed = endpoints + unspent + below_threshold + stopped + fees
``source`` (totals[T_SOURCE]) counts distinct sats: per source output its amounts
summed and capped at its value. Where taint reaches an output that is itself a
source (an address trace whose change comes back to the address) the two are the
same sats: the output keeps their union, capped at its value, and the overlap is
taken off ``source``, so no sat is counted twice. ``absorbed`` is the clean value
poison sweeps in (and, for an invalid tx paying out more than it has, minus the excess).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

from chaintrail.analysis.prefetch import prefetch
from chaintrail.store.tx_values import value_sums

HAIRCUT, POISON, FIFO, LIFO, TIHO = 0, 1, 2, 3, 4
MODELS = {"haircut": HAIRCUT, "poison": POISON, "fifo": FIFO, "lifo": LIFO, "tiho": TIHO}

# Status of a tainted output (forward) or input-side output (backward).
# 0 is an output the trace has not reached: scratch that is all zero bytes is untouched
# (``trace_scratch``), so pages no trace wrote need never be resident.
UNTOUCHED, PASSED, ENDPOINT, UNSPENT, BELOW, STOPPED_HOPS, STOPPED_TIME, STOPPED_MIXER, SOURCE_EDGE = range(9)
STATUS_NAMES = ("passed", "endpoint", "unspent", "below_threshold", "stopped_max_hops", "stopped_time",
                "stopped_mixer", "source_edge")

# Per-tx mixing policy flags.
POLICY_NONE, POLICY_HAIRCUT, POLICY_STOP = 0, 1, 2

NONE32 = np.uint32(0xFFFFFFFF)
ALL64 = np.uint64(0xFFFFFFFFFFFFFFFF)
NO_TIME_MIN, NO_TIME_MAX = -(1 << 62), 1 << 62   # t_min/t_max meaning "no time window"

# Totals slots.
T_FEES, T_ABSORBED, T_EDGES, T_TXS, T_MIXER_TXS, T_SOURCE = range(6)


def tx_of(first: np.ndarray) -> np.ndarray:
    """Per input (or output): its tx, from the tx -> first id array with a trailing sentinel."""
    return np.repeat(np.arange(len(first) - 1, dtype=np.uint32), np.diff(first))   # (no int64 copy of ``first``)


def queue_bits(n_tx: int) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's queue scratch (zero): a bit per tx, and a bit per 64-bit word of those."""
    q0 = np.zeros(n_tx // 64 + 2, np.uint64)
    return q0, np.zeros(len(q0) // 64 + 2, np.uint64)


@nb.njit(cache=True, inline="always")
def find_tx(first, i):
    """The tx whose id range in ``first`` (tx -> first id, trailing sentinel) holds id ``i``: the
    last t with first[t] <= i (a tx with no ids in that range is never the answer)."""
    lo, hi = np.int64(0), np.int64(first.shape[0] - 1)
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if first[mid] <= i:
            lo = mid
        else:
            hi = mid
    return lo


# Hot-path rules, measured on a 10M-tx chain: small helpers are inlined (as calls they copy a dozen
# array descriptors per edge, 10-20 % of a 6-hop trace); arrays are reassigned only when they
# grow, and settling and the queue are written out in the kernel, because numba updates reference
# counts (atomic ops) on every array bound to a new name or handed to an inlined helper.
@nb.njit(cache=True)
def haircut_split(T, values, shares):
    """shares[k] = proportional part of T by values[k]; sums exactly to T (T <= sum(values))."""
    _haircut_n(T, values, shares, values.shape[0])


@nb.njit(cache=True, inline="always")
def _haircut_n(T, values, shares, n):
    """haircut_split over values[:n]: the kernel passes its scratch whole (a slice per tx costs
    reference counting)."""
    V = 0
    for k in range(n):
        V += values[k]
    if V <= 0 or T <= 0:
        for k in range(n):
            shares[k] = 0
        return
    given = 0
    for k in range(n):
        q = np.int64(np.floor(float(T) * (float(values[k]) / float(V))))
        if q > values[k]:
            q = values[k]
        if q < 0:
            q = 0
        shares[k] = q
        given += q
    rest = T - given
    if rest == 0:
        return
    if 0 < rest <= n <= 62:
        # Hot path, no allocation: hand the sats left over to the largest fractions one by one
        # (ties: lowest index) -- the first pass of the general loop below, same result.
        done = np.int64(0)
        while rest > 0:
            best, best_f = -1, -1.0
            for k in range(n):
                if (done >> k) & 1 or shares[k] >= values[k]:
                    continue
                f = float(T) * (float(values[k]) / float(V)) - float(shares[k])
                if f > best_f:
                    best, best_f = k, f
            if best < 0:
                break
            done |= np.int64(1) << best
            shares[best] += 1
            rest -= 1
        if rest == 0:
            return
        for k in range(n):       # not placed (rare): undo, and take the general path
            if (done >> k) & 1:
                shares[k] -= 1
                rest += 1
    frac = np.empty(n, np.float64)
    for k in range(n):
        frac[k] = float(T) * (float(values[k]) / float(V)) - float(shares[k])
    if rest > 0:
        order = np.argsort(-frac, kind="mergesort")
        while rest > 0:
            moved = False
            for j in range(n):
                k = order[j]
                if rest == 0:
                    break
                if shares[k] < values[k]:
                    shares[k] += 1
                    rest -= 1
                    moved = True
            if not moved:
                break
    elif rest < 0:
        order = np.argsort(frac, kind="mergesort")
        while rest < 0:
            for j in range(n):
                k = order[j]
                if rest == 0:
                    break
                if shares[k] > 0:
                    shares[k] -= 1
                    rest += 1


@nb.njit(cache=True)
def tiho_split(T, values, shares):
    """Fill the largest values first (ties: lowest index); the last slot is the fee, filled last."""
    n = values.shape[0]
    for k in range(n):
        shares[k] = 0
    order = np.argsort(-values[: n - 1], kind="mergesort")
    rest = T
    for j in range(n - 1):
        k = order[j]
        take = min(rest, values[k])
        shares[k] = take
        rest -= take
    shares[n - 1] = min(rest, values[n - 1])


@nb.njit(cache=True)
def _pool_append(pool_s, pool_e, pool_n, s, e):
    if pool_n == pool_s.shape[0]:
        ns = np.empty(pool_s.shape[0] * 2, np.int64)
        ne = np.empty(pool_s.shape[0] * 2, np.int64)
        ns[:pool_n] = pool_s[:pool_n]
        ne[:pool_n] = pool_e[:pool_n]
        pool_s, pool_e = ns, ne
    pool_s[pool_n] = s
    pool_e[pool_n] = e
    return pool_s, pool_e, pool_n + 1


@nb.njit(cache=True, inline="always")
def _room(a, n, k):
    """``a`` with room for ``k`` more entries after ``a[:n]`` (a larger copy where it has none)."""
    if n + k <= a.shape[0]:
        return a
    b = np.empty(max(n + k, 2 * a.shape[0]), a.dtype)
    b[:n] = a[:n]
    return b


@nb.njit(cache=True, inline="always")
def _grow1(a, n):
    if n < a.shape[0]:
        return a
    b = np.empty(a.shape[0] * 2, a.dtype)
    b[:n] = a[:n]
    return b


@nb.njit(cache=True)
def _map_line(line_s, line_e, nl, ranges_lo, ranges_hi, nr, out_s, out_e, out_owner, out_n):
    """Intersect sorted disjoint intervals with consecutive ranges; emit range-local pieces."""
    k = 0
    for r in range(nr):
        lo, hi = ranges_lo[r], ranges_hi[r]
        while k < nl and line_e[k] <= lo:
            k += 1
        j = k
        while j < nl and line_s[j] < hi:
            s = max(line_s[j], lo)
            e = min(line_e[j], hi)
            if e > s:
                if out_n == out_s.shape[0]:
                    out_s = _grow1(out_s, out_n)
                if out_n == out_e.shape[0]:
                    out_e = _grow1(out_e, out_n)
                if out_n == out_owner.shape[0]:
                    out_owner = _grow1(out_owner, out_n)
                out_s[out_n] = s - lo
                out_e[out_n] = e - lo
                out_owner[out_n] = r
                out_n += 1
            j += 1
    return out_s, out_e, out_owner, out_n


@nb.njit(cache=True)
def trace_kernel(forward, model, src_out, src_amt,
                 tx_first_in, tx_first_out, out_next, out_tx, in_prev, in_value, out_value, out_spent, out_addr,
                 stop_addr, mix_txs, mixer_policy, tx_block, blk_time, tx_is_cb, t_min, t_max, max_hops, min_amt,
                 taint, hops, pred, status, iv_off, iv_cnt, qbits0, qbits1):
    """Propagate taint from ``src_out`` (forward) or back to its sources (backward).

    ``out_next`` (per output the tx spending it) and ``out_tx`` (per output its tx; ``store.tx_maps``)
    save a load and a binary search per edge (a chain of cache misses on a large chain); passed
    empty, ``out_spent`` and ``tx_first_in``/``tx_first_out`` are searched instead. Both may hold
    links past this snapshot (a process that saw a later commit extended the maps, an ingest patches
    ``out_spent``): a spending tx past ``tx_is_cb``'s length or an input past ``in_prev``'s is unspent. ``mix_txs`` lists the
    CoinJoin/mixer txs (sorted) and ``mixer_policy`` (POLICY_*) says what happens at them; a tx's time is its
    block's (``blk_time[tx_block[t]]``), read only when a window is set.
    Scratch arrays (per output) must be all zero on entry (``status`` 0 = UNTOUCHED; ``pred`` holds
    the predecessor + 1, 0 = none); the caller zeroes the touched entries afterwards. Txs are queued in a
    two-level bitmap (``qbits0``: a bit per tx, ``qbits1``: a bit per nonzero word of it; zero on
    entry and on return, as every queued tx is popped): push is two ORs, pop a find-next (forward)
    or find-previous (backward) set bit, with predictable branches (measured 5-14 % less time per
    edge than a binary heap on a 10M-tx chain). Returns (touched outputs, totals, pool_s, pool_e,
    edge_in, edge_amt, popped): ``edge_in``/``edge_amt`` are backward inputs whose spent output
    is not in the store; ``popped`` every tx processed, in order.
    """
    touched = np.empty(1024, np.int64)
    nt = 0
    hn = 0
    first_q = np.int64(-1)
    totals = np.zeros(6, np.int64)
    pool_s = np.empty(1024, np.int64)
    pool_e = np.empty(1024, np.int64)
    pn = 0
    edge_in = np.empty(16, np.int64)
    edge_amt = np.empty(16, np.int64)
    ne = 0
    use_iv = model == FIFO or model == LIFO
    have_next, have_out_tx = out_next.shape[0] > 0, out_tx.shape[0] > 0
    n_tx = tx_is_cb.shape[0]
    n_in = in_prev.shape[0]
    n_mix = mix_txs.shape[0]

    for k in range(src_out.shape[0]):
        o = src_out[k]
        if status[o] == UNTOUCHED:
            if nt == touched.shape[0]:
                touched = _grow1(touched, nt)
            touched[nt] = o
            nt += 1
            status[o] = PASSED  # listed once even if repeated; settled below
        taint[o] += src_amt[k]
        if taint[o] > out_value[o]:
            taint[o] = out_value[o]
        hops[o] = 0
        pred[o] = 0
        if use_iv:
            # A source's taint is the first sats of the output.
            pool_s, pool_e, pn = _pool_append(pool_s, pool_e, pn, 0, taint[o])
            iv_off[o] = pn - 1
            iv_cnt[o] = 1
    for k in range(nt):
        totals[T_SOURCE] += taint[touched[k]]
    n_src = nt
    settled = 0

    shares = np.empty(16, np.int64)
    vals = np.empty(16, np.int64)
    line_s = np.empty(64, np.int64)
    line_e = np.empty(64, np.int64)
    rlo = np.empty(16, np.int64)
    rhi = np.empty(16, np.int64)
    ps = np.empty(64, np.int64)
    pe = np.empty(64, np.int64)
    pown = np.empty(64, np.int64)
    popped = np.empty(256, np.int64)
    npop = 0
    # The hot loop is written out, not split into helpers: numba counts references on every array
    # handed to an inlined helper, and those atomic updates were a fifth of a trace's time.
    while True:
        # Settle what received taint since the last tx (the sources first): find the tx each
        # output leads into, queue it once.
        while settled < nt:
            o = touched[settled]
            is_source = settled < n_src
            settled += 1
            a = out_addr[o]
            if not is_source and a != NONE32 and stop_addr[a]:
                status[o] = ENDPOINT
                continue
            if not is_source and taint[o] < min_amt:
                status[o] = BELOW
                continue
            if forward:
                if have_next:
                    nxt = np.int64(out_next[o])
                    if nxt >= n_tx:                   # NONE, or spent after this snapshot
                        status[o] = UNSPENT
                        continue
                else:
                    s = np.int64(out_spent[o])
                    if s >= n_in:
                        status[o] = UNSPENT
                        continue
                    nxt = find_tx(tx_first_in, s)
            else:
                nxt = np.int64(out_tx[o]) if have_out_tx else find_tx(tx_first_out, o)
                if tx_is_cb[nxt]:
                    status[o] = ENDPOINT  # newly mined coins: the backward trail ends here
                    continue
            if hops[o] >= max_hops:
                status[o] = STOPPED_HOPS
                continue
            if t_min > NO_TIME_MIN or t_max < NO_TIME_MAX:   # skip the tx_time load when no window is set
                tt = blk_time[tx_block[nxt]]
                if tt < t_min or tt > t_max:
                    status[o] = STOPPED_TIME
                    continue
            status[o] = PASSED
            w = nxt >> 6
            bit = np.uint64(1) << np.uint64(nxt & 63)
            if (qbits0[w] & bit) == 0:
                qbits0[w] |= bit
                qbits1[w >> 6] |= np.uint64(1) << np.uint64(w & 63)
                hn += 1
                if first_q < 0 or (nxt < first_q if forward else nxt > first_q):
                    first_q = nxt
                prefetch(tx_first_in, nxt)
                prefetch(tx_first_out, nxt)
        if hn == 0:
            break
        # pop: forward the lowest queued tx, backward the highest (chain order)
        t = first_q
        w = t >> 6
        qbits0[w] &= ~(np.uint64(1) << np.uint64(t & 63))
        if qbits0[w] == 0:
            qbits1[w >> 6] &= ~(np.uint64(1) << np.uint64(w & 63))
        hn -= 1
        first_q = -1
        if hn > 0:
            # the next one: the first set bit after t (before t, backward); level 1 skips empty words
            if forward:
                x = t + 1
                w = x >> 6
                b = qbits0[w] & (ALL64 << np.uint64(x & 63))
                if b == 0:
                    w += 1
                    w1 = w >> 6
                    b1 = qbits1[w1] & (ALL64 << np.uint64(w & 63))
                    while b1 == 0:
                        w1 += 1
                        b1 = qbits1[w1]
                    w = (w1 << 6) + np.int64(trailing_zeros(b1))
                    b = qbits0[w]
                first_q = (w << 6) + np.int64(trailing_zeros(b))
            else:
                x = t - 1
                w = x >> 6
                b = qbits0[w] & (ALL64 >> np.uint64(63 - (x & 63)))
                if b == 0:
                    w -= 1                 # >= 0: a queued tx lies below t
                    w1 = w >> 6
                    b1 = qbits1[w1] & (ALL64 >> np.uint64(63 - (w & 63)))
                    while b1 == 0:
                        w1 -= 1
                        b1 = qbits1[w1]
                    w = (w1 << 6) + 63 - np.int64(leading_zeros(b1))
                    b = qbits0[w]
                first_q = (w << 6) + 63 - np.int64(leading_zeros(b))
        t2 = first_q
        if t2 >= 0:
            # The next tx's rows: their loads overlap this tx's work.
            b0, c0 = tx_first_in[t2], tx_first_out[t2]
            prefetch(in_prev, b0)
            prefetch(in_value, b0)
            prefetch(out_value, c0)
            if have_next:
                prefetch(out_next, c0)
            else:
                prefetch(out_spent, c0)
            prefetch(out_addr, c0)
        # Every queued tx is popped exactly once: the list of txs the trace processed.
        if npop == popped.shape[0]:
            popped = _grow1(popped, npop)
        popped[npop] = t
        npop += 1
        a0, a1 = np.int64(tx_first_in[t]), np.int64(tx_first_in[t + 1])
        o0, o1 = np.int64(tx_first_out[t]), np.int64(tx_first_out[t + 1])
        totals[T_EDGES] += (a1 - a0) + (o1 - o0)
        totals[T_TXS] += 1
        # The tainted side: inputs (forward) or outputs (backward) whose taint passed into t.
        T = np.int64(0)
        hop = np.int64(1 << 30)
        best = NONE32
        best_amt = np.int64(0)
        vin_total, unknown, vout_total = value_sums(in_value, out_value, a0, a1, o0, o1)
        if forward:
            for i in range(a0, a1):
                p = in_prev[i]
                # status first: an untainted input then costs one load, from the 1-byte array
                if p != NONE32 and status[p] == PASSED and taint[p] > 0:
                    T += taint[p]
                    hop = min(hop, np.int64(hops[p]))
                    if taint[p] > best_amt:
                        best_amt = taint[p]
                        best = p
        else:
            for j in range(o0, o1):
                if status[j] == PASSED and taint[j] > 0:
                    T += taint[j]
                    hop = min(hop, np.int64(hops[j]))
                    if taint[j] > best_amt:
                        best_amt = taint[j]
                        best = np.uint32(j)
        if T <= 0:
            continue  # only zero-amount sources lead here: nothing to hand on (poison would invent taint)
        at_mix = False
        if mixer_policy != POLICY_NONE and n_mix:
            j = np.searchsorted(mix_txs, t)
            at_mix = j < n_mix and mix_txs[j] == t
        if at_mix and mixer_policy == POLICY_STOP:
            totals[T_MIXER_TXS] += 1
            if forward:
                for i in range(a0, a1):
                    p = in_prev[i]
                    if p != NONE32 and status[p] == PASSED:
                        status[p] = STOPPED_MIXER
            else:
                for j in range(o0, o1):
                    if status[j] == PASSED:
                        status[j] = STOPPED_MIXER
            continue
        m = model
        if at_mix:                                     # POLICY_HAIRCUT: pass through by value
            totals[T_MIXER_TXS] += 1
            m = HAIRCUT
        if (m == FIFO or m == LIFO) and unknown:
            m = HAIRCUT  # positions are undefined when an input value is unknown
        fee = vin_total - vout_total if not unknown else T - vout_total  # unknown: the least fee T allows
        if fee < 0:
            fee = 0
        # Receiving side: outputs + fee (forward) or inputs (backward).
        if forward:
            nrecv = o1 - o0 + 1
            if nrecv > vals.shape[0]:
                vals = _grow_to(vals, nrecv)
            for j in range(o0, o1):
                vals[j - o0] = out_value[j]
            vals[nrecv - 1] = fee
        else:
            nrecv = a1 - a0
            if nrecv > vals.shape[0]:
                vals = _grow_to(vals, nrecv)
            for i in range(a0, a1):
                v = in_value[i]
                vals[i - a0] = v if v > 0 else 0
            if unknown:
                # Unknown input values: spread what the known inputs cannot cover over them evenly.
                known = np.int64(0)
                nunk = 0
                for i in range(a0, a1):
                    if in_value[i] >= 0:
                        known += in_value[i]
                    else:
                        nunk += 1
                gap = vout_total - known
                if gap > 0 and nunk > 0:
                    each = gap // nunk
                    extra = gap - each * nunk
                    for i in range(a0, a1):
                        if in_value[i] < 0:
                            vals[i - a0] = each + (1 if extra > 0 else 0)
                            if extra > 0:
                                extra -= 1
        if nrecv > shares.shape[0]:
            shares = _grow_to(shares, nrecv)
        total_v = np.int64(0)
        for k in range(nrecv):
            total_v += vals[k]
        if T > total_v:
            # Only an invalid tx (outputs above inputs) can get here; book the excess as lost.
            totals[T_ABSORBED] -= T - total_v
            T = total_v
        npieces = 0
        if m == POISON:
            for k in range(nrecv):
                shares[k] = vals[k]
            totals[T_ABSORBED] += total_v - T
        elif m == TIHO:
            if forward:
                tiho_split(T, vals[:nrecv], shares[:nrecv])
            else:
                # Backward: the largest input first; no fee slot, so add a zero one.
                tmpv = np.empty(nrecv + 1, np.int64)
                tmps = np.empty(nrecv + 1, np.int64)
                tmpv[:nrecv] = vals[:nrecv]
                tmpv[nrecv] = 0
                tiho_split(T, tmpv, tmps)
                shares[:nrecv] = tmps[:nrecv]
        elif m == HAIRCUT:
            _haircut_n(T, vals, shares, nrecv)
        else:
            # FIFO/LIFO: lay the tainted side on the line, then cut it by the receiving side's ranges.
            nl = 0
            if forward:
                order_lo, order_hi, step = (a0, a1, 1) if m == FIFO else (a1 - 1, a0 - 1, -1)
                pos = np.int64(0)
                i = order_lo
                while i != order_hi:
                    p = in_prev[i]
                    if p != NONE32 and status[p] == PASSED and taint[p] > 0:
                        line_s, line_e, nl = _lay(line_s, line_e, nl, pos, pool_s, pool_e, iv_off[p], iv_cnt[p])
                    pos += in_value[i]
                    i += step
                if nrecv > rlo.shape[0]:
                    rlo = _grow_to(rlo, nrecv)
                if nrecv > rhi.shape[0]:
                    rhi = _grow_to(rhi, nrecv)
                pos = 0
                for k in range(nrecv):
                    rlo[k] = pos
                    rhi[k] = pos + vals[k]
                    pos += vals[k]
            else:
                pos = np.int64(0)
                for j in range(o0, o1):
                    if status[j] == PASSED and taint[j] > 0:
                        line_s, line_e, nl = _lay(line_s, line_e, nl, pos, pool_s, pool_e, iv_off[j], iv_cnt[j])
                    pos += out_value[j]
                if nrecv > rlo.shape[0]:
                    rlo = _grow_to(rlo, nrecv)
                if nrecv > rhi.shape[0]:
                    rhi = _grow_to(rhi, nrecv)
                # Inputs laid in vin order (LIFO: reversed), matching the forward layout.
                pos = 0
                for kk in range(nrecv):
                    k = kk if m == FIFO else nrecv - 1 - kk
                    rlo[k] = pos
                    rhi[k] = pos + vals[k]
                    pos += vals[k]
                # Ranges must be increasing for the sweep: sort by start.
            ps, pe, pown, npieces = _map_line_any(line_s, line_e, nl, rlo, rhi, nrecv, ps, pe, pown)
            for k in range(nrecv):
                shares[k] = 0
            for q in range(npieces):
                shares[pown[q]] += pe[q] - ps[q]
        # Hand the shares on.
        nout_side = nrecv - 1 if forward else nrecv
        if nt + nout_side > touched.shape[0]:
            touched = _room(touched, nt, nout_side)
        if forward:
            totals[T_FEES] += shares[nrecv - 1]
        for k in range(nout_side):
            amt = shares[k]
            if amt <= 0:
                continue
            if forward:
                o = o0 + k
            else:
                i = a0 + k
                p = in_prev[i]
                if p == NONE32:
                    if ne == edge_in.shape[0]:
                        edge_in = _grow1(edge_in, ne)
                    if ne == edge_amt.shape[0]:
                        edge_amt = _grow1(edge_amt, ne)
                    edge_in[ne] = i
                    edge_amt[ne] = amt
                    ne += 1
                    continue
                o = np.int64(p)
            if status[o] != UNTOUCHED:
                # o is also a source and already settled: keep the union of both taints, capped at
                # its value; the overlap was counted once as source already (see the module docstring).
                old = taint[o]
                if use_iv and m != HAIRCUT and m != POISON and m != TIHO:
                    pool_s, pool_e, pn, first, new = _union_into_pool(pool_s, pool_e, pn, iv_off[o], iv_cnt[o],
                                                                      ps, pe, pown, npieces, k)
                    iv_off[o] = first
                    iv_cnt[o] = pn - first
                else:
                    new = min(old + amt, out_value[o])
                    if use_iv:
                        pool_s, pool_e, pn = _pool_append(pool_s, pool_e, pn, 0, new)
                        iv_off[o] = pn - 1
                        iv_cnt[o] = 1
                totals[T_SOURCE] -= old + amt - new
                taint[o] = new
                continue
            touched[nt] = o
            nt += 1
            taint[o] = amt
            hops[o] = hop + 1
            pred[o] = best + np.uint32(1)           # NONE32 + 1 wraps to 0: none
            if use_iv and m != HAIRCUT and m != POISON and m != TIHO:
                first = pn
                for q in range(npieces):
                    if pown[q] == k:
                        pool_s, pool_e, pn = _pool_append(pool_s, pool_e, pn, ps[q], pe[q])
                iv_off[o] = first
                iv_cnt[o] = pn - first
            elif use_iv:
                # This tx fell back to a proportional model: the taint sits at the start of the output.
                pool_s, pool_e, pn = _pool_append(pool_s, pool_e, pn, 0, taint[o])
                iv_off[o] = pn - 1
                iv_cnt[o] = 1
    return touched[:nt], totals, pool_s[:pn], pool_e[:pn], edge_in[:ne], edge_amt[:ne], popped[:npop]


@nb.njit(cache=True, inline="always")
def _lay(line_s, line_e, nl, pos, pool_s, pool_e, off, cnt):
    """Append an output's taint intervals (pool[off:off+cnt]) to the line, shifted to ``pos``."""
    for q in range(off, off + cnt):
        if nl == line_s.shape[0]:
            line_s = _grow1(line_s, nl)
        if nl == line_e.shape[0]:
            line_e = _grow1(line_e, nl)
        line_s[nl] = pos + pool_s[q]
        line_e[nl] = pos + pool_e[q]
        nl += 1
    return line_s, line_e, nl


@nb.njit(cache=True)
def _union_into_pool(pool_s, pool_e, pn, off, cnt, ps, pe, pown, npieces, k):
    """Append the union of pool[off:off+cnt] and the pieces owned by ``k``; returns its start and size."""
    n = cnt
    for q in range(npieces):
        if pown[q] == k:
            n += 1
    s = np.empty(n, np.int64)
    e = np.empty(n, np.int64)
    j = 0
    for q in range(off, off + cnt):
        s[j] = pool_s[q]
        e[j] = pool_e[q]
        j += 1
    for q in range(npieces):
        if pown[q] == k:
            s[j] = ps[q]
            e[j] = pe[q]
            j += 1
    order = np.argsort(s, kind="mergesort")
    first = pn
    total = np.int64(0)
    cs, ce = np.int64(0), np.int64(-1)
    for jj in range(n):
        a, b = s[order[jj]], e[order[jj]]
        if b <= a:
            continue
        if ce >= cs and a <= ce:
            ce = max(ce, b)
            continue
        if ce > cs:
            pool_s, pool_e, pn = _pool_append(pool_s, pool_e, pn, cs, ce)
            total += ce - cs
        cs, ce = a, b
    if ce > cs:
        pool_s, pool_e, pn = _pool_append(pool_s, pool_e, pn, cs, ce)
        total += ce - cs
    return pool_s, pool_e, pn, first, total


@nb.njit(cache=True, inline="always")
def _grow_to(a, n):
    if n <= a.shape[0]:
        return a
    return np.empty(max(n, 2 * a.shape[0]), a.dtype)


@nb.njit(cache=True)
def _map_line_any(line_s, line_e, nl, rlo, rhi, nr, ps, pe, pown):
    """Like _map_line but for ranges in any order (sorted here by start)."""
    order = np.argsort(rlo[:nr], kind="mergesort")
    slo = np.empty(nr, np.int64)
    shi = np.empty(nr, np.int64)
    for k in range(nr):
        slo[k] = rlo[order[k]]
        shi[k] = rhi[order[k]]
    ps, pe, pown, n = _map_line(line_s, line_e, nl, slo, shi, nr, ps, pe, pown, 0)
    for q in range(n):
        pown[q] = order[pown[q]]
    return ps, pe, pown, n


@nb.njit(cache=True)
def unknown_inputs(tx_first_in, in_value, txs):
    """Per tx in ``txs``: does any input have an unknown value (its spent output is not in the store)?"""
    out = np.zeros(txs.shape[0], np.bool_)
    for k in range(txs.shape[0]):
        t = txs[k]
        for i in range(tx_first_in[t], tx_first_in[t + 1]):
            if in_value[i] < 0:
                out[k] = True
                break
    return out


@nb.njit(cache=True, inline="always")
def _pred_of(pred, x):
    """The predecessor of output ``x`` (NONE32: a source); ``pred`` stores it + 1."""
    p = pred[x]
    return NONE32 if p == 0 else np.uint32(p - 1)


@nb.njit(cache=True)
def best_paths(ends, pred, out_tx, tx_first_out, limit):
    """Per output in ``ends``, the txs of its best path (``pred`` links back to the source, + 1; several
    outputs of one tx in a row count once), source first: ragged as (offsets, txs). At most ``limit``
    links are followed per path (a guard, not a bound any trace reaches). ``out_tx`` may be empty
    (then each output's tx is searched in ``tx_first_out``)."""
    have = out_tx.shape[0] > 0
    n = len(ends)
    off = np.zeros(n + 1, np.int64)
    for i in range(n):
        x, last, k, steps = np.uint32(ends[i]), -1, 0, 0
        while x != NONE32 and steps < limit:
            t = np.int64(out_tx[x]) if have else find_tx(tx_first_out, np.int64(x))
            if t != last:
                k += 1
                last = t
            x = _pred_of(pred, x)
            steps += 1
        off[i + 1] = off[i] + k
    txs = np.empty(off[n], np.int64)
    for i in range(n):
        x, last, k, steps = np.uint32(ends[i]), -1, off[i + 1] - 1, 0
        while x != NONE32 and steps < limit:
            t = np.int64(out_tx[x]) if have else find_tx(tx_first_out, np.int64(x))
            if t != last:
                txs[k] = t
                k -= 1
                last = t
            x = _pred_of(pred, x)
            steps += 1
    return off, txs

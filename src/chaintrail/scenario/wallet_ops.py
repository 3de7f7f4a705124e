"""Wallet primitives over the ledger: entities, addresses, pools, coin selection, emitting a tx.

All are numba functions, called from the background kernel and (through the
thin wrappers in ``builder``) from Python-level services and crime cases, so
both paths write identical records.

Client fingerprints (``SW_*``) decide version, locktime, sequence, low-R
signatures and input/output order, after the published fingerprints of Core
(anti-fee-sniping locktime, RBF, low-R grinding, random change position),
Electrum and Samourai (BIP69 ordering), JoinMarket (locktime + 0xfffffffe),
and exchange batchers (version 1, no locktime, change in a fixed position).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.scenario.keys import C_KEY, derive_program, prf
from chaintrail.scenario.ledger import (
    C_ADDR,
    C_ENT,
    C_IN,
    C_OUT,
    C_POOL,
    C_TX,
    OF_CHANGE,
    OF_RELEASED,
    OF_SPENT,
)

# --- client profiles -------------------------------------------------------------
SW_CORE, SW_ELECTRUM, SW_MOBILE, SW_LEGACY, SW_EXCH1, SW_EXCH2, SW_SAMOURAI, SW_JOINMARKET, SW_COORD = range(9)
SW_NAMES = ("bitcoin_core", "electrum", "mobile", "legacy", "exchange_v1", "exchange_v2",
            "samourai", "joinmarket", "coordinator")
SW_V2P = np.array([1.0, 1.0, 0.8, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0])
SW_LOCK = np.array([1, 1, 0, 0, 0, 0, 1, 1, 0])
SW_RBFP = np.array([0.9, 1.0, 0.3, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
SW_LOWR = np.array([1, 1, 0, 0, 0, 1, 1, 1, 1])
ORD_RANDOM, ORD_BIP69, ORD_CHANGE_LAST, ORD_CHANGE_FIRST, ORD_KEEP = 0, 1, 2, 3, 4
SW_ORDER = np.array([ORD_RANDOM, ORD_BIP69, ORD_CHANGE_LAST, ORD_RANDOM, ORD_CHANGE_LAST,
                     ORD_CHANGE_FIRST, ORD_BIP69, ORD_RANDOM, ORD_KEEP])

# weight units (vbytes * 4) by address type: P2PKH, P2SH-P2WPKH, P2WPKH, P2TR, P2WSH 2-of-3
IN_WEIGHT = np.array([592, 364, 272, 230, 418], np.int64)
OUT_WEIGHT = np.array([136, 128, 124, 172, 172], np.int64)
TX_OVERHEAD_WEIGHT = 42  # version, locktime, counts, SegWit marker
DUST = 546


# --- entities, pools and addresses -------------------------------------------------

@nb.njit(cache=True)
def new_pool(L, ent):
    p = L.ctr[C_POOL]
    L.ctr[C_POOL] += 1
    L.pool_ent[p] = ent
    L.pool_head[p] = -1
    L.pool_tail[p] = -1
    L.pool_n[p] = 0
    L.pool_sum[p] = 0
    return p


@nb.njit(cache=True)
def new_entity(L, kind, atype, sw, reuse):
    """A new entity with one pool; returns its id."""
    e = L.ctr[C_ENT]
    L.ctr[C_ENT] += 1
    L.ent_kind[e] = kind
    L.ent_atype[e] = atype
    L.ent_sw[e] = sw
    L.ent_reuse[e] = reuse
    L.ent_pool[e] = new_pool(L, e)
    return e


@nb.njit(cache=True)
def new_address(L, ent, atype):
    """A fresh address of ``ent`` whose outputs join the entity's main pool."""
    return new_address_in(L, ent, atype, L.ent_pool[ent])


@nb.njit(cache=True)
def new_address_in(L, ent, atype, pool):
    """A fresh address of ``ent`` whose outputs join ``pool``; derives its program."""
    a = L.ctr[C_ADDR]
    L.ctr[C_ADDR] += 1
    L.addr_type[a] = atype
    L.addr_ent[a] = ent
    L.addr_issuer[a] = ent
    L.addr_pool[a] = pool
    derive_program(L.addr_prog[a], L.ctr[C_KEY], a, atype)
    return a


@nb.njit(cache=True)
def recv_address(L, ent, atype, reuse_p, rng):
    """A receiving address: the entity's current one with probability ``reuse_p``, else fresh."""
    cur = L.ent_addr[ent]
    if cur >= 0 and L.addr_type[cur] == atype and rng.random() < reuse_p:
        return cur
    a = new_address(L, ent, atype)
    L.ent_addr[ent] = a
    return a


@nb.njit(cache=True)
def pool_push(L, p, o):
    L.out_pool[o] = p
    L.out_next[o] = -1
    L.out_prev[o] = L.pool_tail[p]
    if L.pool_tail[p] >= 0:
        L.out_next[L.pool_tail[p]] = o
    else:
        L.pool_head[p] = o
    L.pool_tail[p] = o
    L.pool_n[p] += 1
    L.pool_sum[p] += L.out_value[o]
    L.out_flags[o] |= OF_RELEASED


@nb.njit(cache=True)
def pool_remove(L, o):
    p = L.out_pool[o]
    nx, pv = L.out_next[o], L.out_prev[o]
    if pv >= 0:
        L.out_next[pv] = nx
    else:
        L.pool_head[p] = nx
    if nx >= 0:
        L.out_prev[nx] = pv
    else:
        L.pool_tail[p] = pv
    L.pool_n[p] -= 1
    L.pool_sum[p] -= L.out_value[o]
    L.out_next[o] = -1
    L.out_prev[o] = -1
    L.out_flags[o] &= ~np.uint8(OF_RELEASED)


@nb.njit(cache=True)
def release_range(L, o0, o1, skip_flags):
    """Put outputs ``o0..o1`` into their pools, except those with any of ``skip_flags``."""
    for o in range(o0, o1):
        if L.out_pool[o] >= 0 and (L.out_flags[o] & skip_flags) == 0 \
                and (L.out_flags[o] & (OF_SPENT | OF_RELEASED)) == 0:
            pool_push(L, L.out_pool[o], o)


# --- coin selection -------------------------------------------------------------------

@nb.njit(cache=True)
def fee_for(weight, feerate):
    """Fee in sats for ``weight`` at ``feerate`` sat/vB (rounded up, as wallets do)."""
    return np.int64(np.ceil(weight * feerate / 4.0))


@nb.njit(cache=True)
def select_coins(L, p, amount, base_weight, feerate, mode, maxn, rng, sel):
    """Pick coins of pool ``p`` covering ``amount`` + fee; returns (n, total, fee).

    ``base_weight`` is the weight of everything but the inputs (outputs incl. a change
    output, overhead).  mode 0: oldest first; 1: client-like (smallest single coin that
    covers, else random accumulation); 2: largest first.  n == 0 if the pool cannot pay.
    """
    n_cand = 0
    cand = np.empty(min(256, L.pool_n[p]) + 1, np.int64)
    o = L.pool_head[p] if (mode != 1 or rng.random() < 0.5) else L.pool_tail[p]
    forward = o == L.pool_head[p]
    while o >= 0 and n_cand < len(cand) - 1:
        cand[n_cand] = o
        n_cand += 1
        o = L.out_next[o] if forward else L.out_prev[o]
    if n_cand == 0:
        return 0, 0, 0
    if mode == 1:
        best = -1
        for i in range(n_cand):
            v = L.out_value[cand[i]]
            need = amount + fee_for(base_weight + IN_WEIGHT[L.addr_type[L.out_addr[cand[i]]]], feerate)
            if v >= need and (best < 0 or v < L.out_value[best]):
                best = cand[i]
        if best >= 0 and rng.random() < 0.7:
            sel[0] = best
            w = base_weight + IN_WEIGHT[L.addr_type[L.out_addr[best]]]
            return 1, L.out_value[best], fee_for(w, feerate)
        for i in range(n_cand - 1, 0, -1):
            j = rng.integers(0, i + 1)
            cand[i], cand[j] = cand[j], cand[i]
    elif mode == 2:
        vals = np.empty(n_cand, np.int64)
        for i in range(n_cand):
            vals[i] = -L.out_value[cand[i]]
        order = np.argsort(vals, kind="mergesort")
        cand[:n_cand] = cand[:n_cand][order]
    total = 0
    w = base_weight
    for i in range(min(n_cand, maxn)):
        sel[i] = cand[i]
        total += L.out_value[cand[i]]
        w += IN_WEIGHT[L.addr_type[L.out_addr[cand[i]]]]
        f = fee_for(w, feerate)
        if total >= amount + f:
            return i + 1, total, f
    return 0, 0, 0


# --- emitting a transaction ---------------------------------------------------------------

@nb.njit(cache=True)
def _script_key_less(L, a, b):
    """BIP69 output tie-break: compare scriptPubKeys of addresses a and b bytewise."""
    ta, tb = L.addr_type[a], L.addr_type[b]
    # first script byte by type: P2PKH 0x76, P2SH 0xa9, P2WPKH/P2WSH 0x00, P2TR 0x51
    fa = 0x76 if ta == 0 else (0xA9 if ta == 1 else (0x51 if ta == 3 else 0))
    fb = 0x76 if tb == 0 else (0xA9 if tb == 1 else (0x51 if tb == 3 else 0))
    if fa != fb:
        return fa < fb
    if fa == 0x76:
        sa, sb = 0xA9, 0xA9
    else:
        sa = 32 if ta >= 3 else 20
        sb = 32 if tb >= 3 else 20
    if sa != sb:
        return sa < sb
    for k in range(32):
        if L.addr_prog[a, k] != L.addr_prog[b, k]:
            return L.addr_prog[a, k] < L.addr_prog[b, k]
    return False


@nb.njit(cache=True)
def _input_less(L, oa, ob):
    """BIP69 input order: previous txid as displayed (reversed bytes), then vout."""
    ta, tb = L.out_tx[oa], L.out_tx[ob]
    if ta != tb:
        for k in range(31, -1, -1):
            if L.tx_hash[ta, k] != L.tx_hash[tb, k]:
                return L.tx_hash[ta, k] < L.tx_hash[tb, k]
    return (oa - L.tx_out0[ta]) < (ob - L.tx_out0[tb])


@nb.njit(cache=True)
def entity_trait(L, ent, salt):
    """A stable uniform number in [0, 1) for an entity (per-wallet configuration)."""
    return (prf(L.ctr[C_KEY], np.uint64(ent), np.uint64(salt)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True)
def emit_tx(L, kind, ent, sw, height, rng, ins, n_in, oaddr, oval, oflag, n_out):
    """Write one transaction (spending ``ins``) with client ``sw``'s fingerprint; returns its id.

    Outputs are given payment(s) first, change flagged with OF_CHANGE; the client's
    ordering rule decides the final vout order.
    """
    t = L.ctr[C_TX]
    L.ctr[C_TX] += 1
    ver = 2 if entity_trait(L, ent, 1) < SW_V2P[sw] else 1
    lock = 0
    if SW_LOCK[sw] == 1 and height > 1:
        lock = height - 1
        if rng.random() < 0.1:  # Core: 10% of the time a random earlier height
            lock = max(0, lock - rng.integers(0, 100))
    rbf = entity_trait(L, ent, 2) < SW_RBFP[sw]
    seq = 0xFFFFFFFD if rbf else (0xFFFFFFFE if lock > 0 else 0xFFFFFFFF)
    L.tx_ver[t] = ver
    L.tx_lock[t] = lock
    L.tx_seq[t] = seq
    L.tx_block[t] = height
    L.tx_kind[t] = kind
    L.tx_ent[t] = ent
    L.tx_lowr[t] = SW_LOWR[sw]
    order = SW_ORDER[sw]
    # input order
    iord = np.arange(n_in)
    if order == ORD_BIP69:
        for i in range(1, n_in):  # insertion sort: inputs are few
            j = i
            while j > 0 and _input_less(L, ins[iord[j]], ins[iord[j - 1]]):
                iord[j], iord[j - 1] = iord[j - 1], iord[j]
                j -= 1
    elif order == ORD_RANDOM:
        for i in range(n_in - 1, 0, -1):
            j = rng.integers(0, i + 1)
            iord[i], iord[j] = iord[j], iord[i]
    L.tx_in0[t] = L.ctr[C_IN]
    L.tx_nin[t] = n_in
    total_in = 0
    for k in range(n_in):
        o = ins[iord[k]]
        L.in_out[L.ctr[C_IN]] = o
        L.ctr[C_IN] += 1
        if (L.out_flags[o] & OF_RELEASED) != 0:
            pool_remove(L, o)
        L.out_flags[o] |= OF_SPENT
        L.out_spent[o] = t
        total_in += L.out_value[o]
    # output order
    oo = np.arange(n_out)
    if order == ORD_BIP69:
        for i in range(1, n_out):
            j = i
            while j > 0:
                a, b = oo[j], oo[j - 1]
                less = oval[a] < oval[b] or (oval[a] == oval[b] and _script_key_less(L, oaddr[a], oaddr[b]))
                if not less:
                    break
                oo[j], oo[j - 1] = b, a
                j -= 1
    elif order == ORD_RANDOM:
        for i in range(n_out - 1, 0, -1):
            j = rng.integers(0, i + 1)
            oo[i], oo[j] = oo[j], oo[i]
    elif order == ORD_CHANGE_LAST or order == ORD_CHANGE_FIRST:
        pos = 0
        first = order == ORD_CHANGE_FIRST
        for pass_ in range(2):
            for i in range(n_out):
                is_change = (oflag[i] & OF_CHANGE) != 0
                if (pass_ == 0) == (is_change == first):
                    oo[pos] = i
                    pos += 1
    L.tx_out0[t] = L.ctr[C_OUT]
    L.tx_nout[t] = n_out
    total_out = 0
    for k in range(n_out):
        i = oo[k]
        o = L.ctr[C_OUT]
        L.ctr[C_OUT] += 1
        L.out_value[o] = oval[i]
        L.out_addr[o] = oaddr[i]
        L.out_tx[o] = t
        L.out_flags[o] = oflag[i]
        L.out_spent[o] = -1
        L.out_pool[o] = L.addr_pool[oaddr[i]] if oaddr[i] >= 0 else -1
        L.out_next[o] = -1
        L.out_prev[o] = -1
        if oaddr[i] >= 0:
            L.addr_uses[oaddr[i]] += 1
        total_out += oval[i]
    L.tx_fee[t] = total_in - total_out
    return t

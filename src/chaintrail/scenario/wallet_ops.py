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
    A_ENT,
    A_ISSUER,
    A_POOL,
    A_TYPE,
    A_USES,
    C_ADDR,
    C_DERIVED,
    C_ENT,
    C_IN,
    C_OUT,
    C_POOL,
    C_TX,
    E_ADDR,
    E_ATYPE,
    E_HOME,
    E_KIND,
    E_POOL,
    E_SW,
    O_ADDR,
    O_FLAGS,
    O_NEXT,
    O_POOL,
    O_PREV,
    O_SPENT,
    O_TX,
    O_VALUE,
    OF_CHANGE,
    OF_RELEASED,
    OF_SPENT,
    P_ENT,
    P_HEAD,
    P_N,
    P_SUM,
    P_TAIL,
    T_BLOCK,
    T_ENT,
    T_FEE,
    T_IN0,
    T_KIND,
    T_LOCK,
    T_LOWR,
    T_NIN,
    T_NOUT,
    T_OUT0,
    T_SEQ,
    T_VER,
)

# --- client profiles -------------------------------------------------------------
(SW_CORE, SW_ELECTRUM, SW_MOBILE, SW_LEGACY, SW_EXCH1, SW_EXCH2, SW_SAMOURAI, SW_JOINMARKET,
 SW_COORD, SW_WHIRLPOOL) = range(10)
SW_NAMES = ("bitcoin_core", "electrum", "mobile", "legacy", "exchange_v1", "exchange_v2",
            "samourai", "joinmarket", "coordinator", "whirlpool")
SW_V2P = np.array([1.0, 1.0, 0.95, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
SW_LOCK = np.array([1, 1, 0, 0, 0, 0, 1, 1, 0, 0])
SW_RBFP = np.array([0.5, 0.5, 0.15, 0.0, 0.0, 0.3, 1.0, 0.0, 0.0, 0.0])
SW_LOWR = np.array([1, 1, 0, 0, 0, 1, 1, 1, 1, 1])
ORD_RANDOM, ORD_BIP69, ORD_CHANGE_LAST, ORD_CHANGE_FIRST, ORD_KEEP = 0, 1, 2, 3, 4
SW_ORDER = np.array([ORD_RANDOM, ORD_BIP69, ORD_CHANGE_LAST, ORD_RANDOM, ORD_CHANGE_LAST,
                     ORD_CHANGE_FIRST, ORD_BIP69, ORD_RANDOM, ORD_KEEP, ORD_BIP69])

# weight units (vbytes * 4) by address type: P2PKH, P2SH-P2WPKH, P2WPKH, P2TR, P2WSH 2-of-3
IN_WEIGHT = np.array([592, 364, 272, 230, 418], np.int64)
OUT_WEIGHT = np.array([136, 128, 124, 172, 172], np.int64)
TX_OVERHEAD_WEIGHT = 42  # version, locktime, counts, SegWit marker
DUST = 546
LOWR_BIP69_INPUTS = 2


# --- entities, pools and addresses -------------------------------------------------

@nb.njit(cache=True)
def new_pool(L, ent):
    p = L.ctr[C_POOL]
    L.ctr[C_POOL] += 1
    L.pool[p, P_ENT] = ent
    L.pool[p, P_HEAD] = -1
    L.pool[p, P_TAIL] = -1
    L.pool[p, P_N] = 0
    L.pool[p, P_SUM] = 0
    return p


@nb.njit(cache=True)
def new_entity(L, kind, atype, sw, reuse):
    """A new entity with one pool; returns its id."""
    e = L.ctr[C_ENT]
    L.ctr[C_ENT] += 1
    L.ent[e, E_KIND] = kind
    L.ent[e, E_ATYPE] = atype
    L.ent[e, E_SW] = sw
    L.entf[e] = reuse
    L.ent[e, E_POOL] = new_pool(L, e)
    return e


@nb.njit(cache=True)
def new_wallets(L, atypes, sws, reuse, homes):
    """Create ordinary wallets (kind 0) in bulk; returns the first id."""
    first = L.ctr[C_ENT]
    for i in range(len(atypes)):
        e = new_entity(L, 0, atypes[i], sws[i], reuse[i])
        L.ent[e, E_HOME] = homes[i]
    return first


@nb.njit(cache=True)
def new_address(L, ent, atype):
    """A fresh address of ``ent`` whose outputs join the entity's main pool."""
    return new_address_in(L, ent, atype, L.ent[ent, E_POOL])


@nb.njit(cache=True)
def new_address_in(L, ent, atype, pool):
    """A fresh address of ``ent`` whose outputs join ``pool``.

    Its program is derived later, in bulk, by ``derive_pending`` (hashing here would
    put SHA-256 and RIPEMD-160 into every kernel that makes an address, which
    multiplies numba's compile time).
    """
    a = L.ctr[C_ADDR]
    L.ctr[C_ADDR] += 1
    L.addr[a, A_TYPE] = atype
    L.addr[a, A_ENT] = ent
    L.addr[a, A_ISSUER] = ent
    L.addr[a, A_POOL] = pool
    return a


@nb.njit(cache=True)
def derive_pending(L):
    """Derive the programs of every address created since the last call."""
    key = L.ctr[C_KEY]
    for a in range(L.ctr[C_DERIVED], L.ctr[C_ADDR]):
        derive_program(L.aprog[a], key, a, L.addr[a, A_TYPE])
    L.ctr[C_DERIVED] = L.ctr[C_ADDR]


@nb.njit(cache=True)
def recv_address(L, ent, atype, reuse_p, rng):
    """A receiving address: the entity's current one with probability ``reuse_p``, else fresh."""
    cur = L.ent[ent, E_ADDR]
    if cur >= 0 and L.addr[cur, A_TYPE] == atype and rng.random() < reuse_p:
        return cur
    a = new_address(L, ent, atype)
    L.ent[ent, E_ADDR] = a
    return a


@nb.njit(cache=True)
def pool_push(L, p, o):
    L.out[o, O_POOL] = p
    L.out[o, O_NEXT] = -1
    L.out[o, O_PREV] = L.pool[p, P_TAIL]
    if L.pool[p, P_TAIL] >= 0:
        L.out[L.pool[p, P_TAIL], O_NEXT] = o
    else:
        L.pool[p, P_HEAD] = o
    L.pool[p, P_TAIL] = o
    L.pool[p, P_N] += 1
    L.pool[p, P_SUM] += L.out[o, O_VALUE]
    L.out[o, O_FLAGS] |= OF_RELEASED


@nb.njit(cache=True)
def pool_remove(L, o):
    p = L.out[o, O_POOL]
    nx, pv = L.out[o, O_NEXT], L.out[o, O_PREV]
    if pv >= 0:
        L.out[pv, O_NEXT] = nx
    else:
        L.pool[p, P_HEAD] = nx
    if nx >= 0:
        L.out[nx, O_PREV] = pv
    else:
        L.pool[p, P_TAIL] = pv
    L.pool[p, P_N] -= 1
    L.pool[p, P_SUM] -= L.out[o, O_VALUE]
    L.out[o, O_NEXT] = -1
    L.out[o, O_PREV] = -1
    L.out[o, O_FLAGS] &= ~np.int64(OF_RELEASED)


@nb.njit(cache=True)
def release_range(L, o0, o1, skip_flags):
    """Put outputs ``o0..o1`` into their pools, except those with any of ``skip_flags``."""
    for o in range(o0, o1):
        if L.out[o, O_POOL] >= 0 and (L.out[o, O_FLAGS] & skip_flags) == 0 \
                and (L.out[o, O_FLAGS] & (OF_SPENT | OF_RELEASED)) == 0:
            pool_push(L, L.out[o, O_POOL], o)


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
    cand = np.empty(min(256, L.pool[p, P_N]) + 1, np.int64)
    o = L.pool[p, P_HEAD] if (mode != 1 or rng.random() < 0.5) else L.pool[p, P_TAIL]
    forward = o == L.pool[p, P_HEAD]
    while o >= 0 and n_cand < len(cand) - 1:
        cand[n_cand] = o
        n_cand += 1
        o = L.out[o, O_NEXT] if forward else L.out[o, O_PREV]
    if n_cand == 0:
        return 0, 0, 0
    if mode == 1:
        best = -1
        for i in range(n_cand):
            v = L.out[cand[i], O_VALUE]
            need = amount + fee_for(base_weight + IN_WEIGHT[L.addr[L.out[cand[i], O_ADDR], A_TYPE]], feerate)
            if v >= need and (best < 0 or v < L.out[best, O_VALUE]):
                best = cand[i]
        if best >= 0 and rng.random() < 0.7:
            sel[0] = best
            w = base_weight + IN_WEIGHT[L.addr[L.out[best, O_ADDR], A_TYPE]]
            return 1, L.out[best, O_VALUE], fee_for(w, feerate)
        for i in range(n_cand - 1, 0, -1):
            j = rng.integers(0, i + 1)
            cand[i], cand[j] = cand[j], cand[i]
    elif mode == 2:
        vals = np.empty(n_cand, np.int64)
        for i in range(n_cand):
            vals[i] = -L.out[cand[i], O_VALUE]
        order = np.argsort(vals, kind="mergesort")
        cand[:n_cand] = cand[:n_cand][order]
    total = 0
    w = base_weight
    for i in range(min(n_cand, maxn)):
        sel[i] = cand[i]
        total += L.out[cand[i], O_VALUE]
        w += IN_WEIGHT[L.addr[L.out[cand[i], O_ADDR], A_TYPE]]
        f = fee_for(w, feerate)
        if total >= amount + f:
            return i + 1, total, f
    return 0, 0, 0


# --- emitting a transaction ---------------------------------------------------------------

@nb.njit(cache=True)
def _script_key_less(L, a, b):
    """BIP69 output tie-break: compare scriptPubKeys of addresses a and b bytewise."""
    if max(a, b) >= L.ctr[C_DERIVED]:
        derive_pending(L)
    ta, tb = L.addr[a, A_TYPE], L.addr[b, A_TYPE]
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
        if L.aprog[a, k] != L.aprog[b, k]:
            return L.aprog[a, k] < L.aprog[b, k]
    return False


@nb.njit(cache=True)
def _input_less(L, oa, ob):
    """BIP69 input order: previous txid as displayed (reversed bytes), then vout."""
    ta, tb = L.out[oa, O_TX], L.out[ob, O_TX]
    if ta != tb:
        for k in range(31, -1, -1):
            if L.txh[ta, k] != L.txh[tb, k]:
                return L.txh[ta, k] < L.txh[tb, k]
    return (oa - L.tx[ta, T_OUT0]) < (ob - L.tx[tb, T_OUT0])


@nb.njit(cache=True)
def sort_bip69_inputs(L, t):
    """Put tx ``t``'s inputs in BIP69 order (previous txids must be known by now)."""
    i0, n = L.tx[t, T_IN0], L.tx[t, T_NIN]
    for i in range(i0 + 1, i0 + n):   # insertion sort: inputs are few
        j = i
        while j > i0 and _input_less(L, L.inp[j], L.inp[j - 1]):
            L.inp[j], L.inp[j - 1] = L.inp[j - 1], L.inp[j]
            j -= 1
    L.tx[t, T_LOWR] &= ~np.int64(LOWR_BIP69_INPUTS)


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
    L.tx[t, T_VER] = ver
    L.tx[t, T_LOCK] = lock
    L.tx[t, T_SEQ] = seq
    L.tx[t, T_BLOCK] = height
    L.tx[t, T_KIND] = kind
    L.tx[t, T_ENT] = ent
    L.tx[t, T_LOWR] = SW_LOWR[sw]     # bit 0: low-R signatures; bit 1: BIP69 input order pending
    order = SW_ORDER[sw]
    # input order
    iord = np.arange(n_in)
    if order == ORD_BIP69:
        # BIP69 input order needs the previous txids, which may still be hashing;
        # the serializer sorts these inputs (sort_bip69_inputs) when it writes the block.
        L.tx[t, T_LOWR] |= LOWR_BIP69_INPUTS
    elif order == ORD_RANDOM:
        for i in range(n_in - 1, 0, -1):
            j = rng.integers(0, i + 1)
            iord[i], iord[j] = iord[j], iord[i]
    L.tx[t, T_IN0] = L.ctr[C_IN]
    L.tx[t, T_NIN] = n_in
    total_in = 0
    for k in range(n_in):
        o = ins[iord[k]]
        L.inp[L.ctr[C_IN]] = o
        L.ctr[C_IN] += 1
        if (L.out[o, O_FLAGS] & OF_RELEASED) != 0:
            pool_remove(L, o)
        L.out[o, O_FLAGS] |= OF_SPENT
        L.out[o, O_SPENT] = t
        total_in += L.out[o, O_VALUE]
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
    L.tx[t, T_OUT0] = L.ctr[C_OUT]
    L.tx[t, T_NOUT] = n_out
    total_out = 0
    for k in range(n_out):
        i = oo[k]
        o = L.ctr[C_OUT]
        L.ctr[C_OUT] += 1
        L.out[o, O_VALUE] = oval[i]
        L.out[o, O_ADDR] = oaddr[i]
        L.out[o, O_TX] = t
        L.out[o, O_FLAGS] = oflag[i]
        L.out[o, O_SPENT] = -1
        L.out[o, O_POOL] = L.addr[oaddr[i], A_POOL] if oaddr[i] >= 0 else -1
        L.out[o, O_NEXT] = -1
        L.out[o, O_PREV] = -1
        if oaddr[i] >= 0:
            L.addr[oaddr[i], A_USES] += 1
        total_out += oval[i]
    L.tx[t, T_FEE] = total_in - total_out
    return t

"""The background economy's behaviours: each ``ev_*`` draws actors and plans one transaction.

Events fill a ``Plan`` (see ``economy``) and return True, or return False when
the drawn actor cannot act (an empty wallet, nothing to sweep); they never write
to the chain themselves.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.scenario import params as P
from chaintrail.scenario.amounts import (
    AM_EXCHANGE,
    AM_GAMBLING,
    AM_INVOICE,
    AM_MERCHANT,
    AM_POOL,
    AM_SELL,
    AM_TRADER,
    AM_USER,
    AM_WITHDRAW,
    AMT_MED,
    AMT_SIG,
    amount,
    pick,
    tx_feerate,
)
from chaintrail.scenario.ledger import (
    A_TYPE,
    E_ADDR,
    E_ATYPE,
    E_DEP,
    E_FLAGS,
    E_HOME,
    E_POOL,
    E_POOL2,
    E_POOL3,
    E_SW,
    O_ADDR,
    O_NEXT,
    O_VALUE,
    OF_CHANGE,
    P_HEAD,
    P_N,
    P_SUM,
    TXK,
)
from chaintrail.scenario.wallet_ops import (
    DUST,
    IN_WEIGHT,
    OUT_WEIGHT,
    TX_OVERHEAD_WEIGHT,
    fee_for,
    new_address,
    new_address_in,
    recv_address,
)

K_PAYMENT, K_WITHDRAW, K_BATCH = TXK["payment"], TXK["exchange_withdrawal"], TXK["exchange_batch_withdrawal"]
K_SWEEP, K_TO_COLD, K_FROM_COLD = TXK["exchange_sweep"], TXK["exchange_to_cold"], TXK["exchange_from_cold"]
K_SETTLE, K_POOL, K_GAMBLE = TXK["processor_settlement"], TXK["pool_payout"], TXK["gambling_payout"]
K_P2P, K_CONSOL, K_BATCHPAY = TXK["p2p_trade"], TXK["consolidation"], TXK["batch_payment"]

PAYTO_CDF = np.cumsum(P.PAY_TO_P) / P.PAY_TO_P.sum()
RECV_REUSE = P.SW_RECV_REUSE
MAXO = 260
MARGIN = 600   # rows of headroom one event may need

# plan slots
PL_ACT, PL_KIND, PL_ENT, PL_POOL, PL_NPAY, PL_CHANGE, PL_SWEEP, PL_MODE, PL_NIN, PL_POST = range(10)
ACT_PAY, ACT_EMIT = 1, 2
POST_NONE, POST_BET = 0, 1


@nb.njit(cache=True)
def _pay(pl, kind, ent, pool, n_pay, fr, change, sweep_ok, mode):
    pl.i[PL_ACT] = ACT_PAY
    pl.i[PL_KIND] = kind
    pl.i[PL_ENT] = ent
    pl.i[PL_POOL] = pool
    pl.i[PL_NPAY] = n_pay
    pl.i[PL_CHANGE] = change
    pl.i[PL_SWEEP] = 1 if sweep_ok else 0
    pl.i[PL_MODE] = mode
    pl.fr[0] = fr
    for k in range(n_pay):
        pl.pflag[k] = 0
    return True


@nb.njit(cache=True)
def funded_user(L, pop, rng, min_sats):
    for _ in range(12):
        u = pop.users[pick(pop.user_cdf, rng)]
        p = L.ent[u, E_POOL]
        if L.pool[p, P_N] > 0 and L.pool[p, P_SUM] >= min_sats:
            return u
    return -1


@nb.njit(cache=True)
def deposit_address(L, ent):
    """The customer's deposit address at its home exchange (one per customer, reused)."""
    if L.ent[ent, E_DEP] < 0:
        ex = L.ent[ent, E_HOME]
        L.ent[ent, E_DEP] = new_address_in(L, ex, L.ent[ex, E_FLAGS] & 7, L.ent[ex, E_POOL2])
    return L.ent[ent, E_DEP]


@nb.njit(cache=True)
def user_recv(L, rng, v):
    return recv_address(L, v, L.ent[v, E_ATYPE], RECV_REUSE[L.ent[v, E_SW]], rng)


@nb.njit(cache=True)
def hot_change(L, pop, i):
    e = pop.ex[i]
    return pop.ex_hot_addr[i] if pop.ex_hot_addr[i] >= 0 else new_address(L, e, L.ent[e, E_ATYPE])


@nb.njit(cache=True)
def ev_pay(L, pop, rng, fmed, spu, pl):
    u = funded_user(L, pop, rng, 20_000)
    if u < 0:
        return False
    cls = pick(PAYTO_CDF, rng)
    sweep = False
    pl.i[PL_POST] = POST_NONE
    if cls == 0:
        v = pop.users[pick(pop.user_cdf, rng)]
        if v == u:
            return False
        pl.paddr[0] = user_recv(L, rng, v)
        pl.pval[0] = amount(rng, AM_USER, spu, P.ROUND_BTC_P, P.ROUND_FIAT_P)
        sweep = rng.random() < 0.5
    elif cls == 1 or cls == 2:
        mi = rng.integers(0, len(pop.merch))
        proc = pop.merch_proc[mi] if cls == 1 else -1
        if proc >= 0:   # a fresh invoice address at the merchant's payment processor
            pl.paddr[0] = new_address_in(L, proc, L.ent[proc, E_ATYPE], L.ent[proc, E_POOL2])
            pl.pval[0] = np.int64(AMT_MED[AM_INVOICE] * np.exp(AMT_SIG[AM_INVOICE] * rng.normal()) * spu)
        else:
            m = pop.merch[mi]
            pl.paddr[0] = recv_address(L, m, L.ent[m, E_ATYPE], 0.3, rng)
            pl.pval[0] = amount(rng, AM_MERCHANT, spu, 0.05, 0.5)
    elif cls == 3:
        pl.paddr[0] = deposit_address(L, u)
        if rng.random() < 0.5:
            pl.pval[0] = np.int64(L.pool[L.ent[u, E_POOL], P_SUM] * rng.uniform(0.3, 1.1))
            sweep = True
        else:
            pl.pval[0] = amount(rng, AM_EXCHANGE, spu, 0.3, 0.3)
    elif cls == 4:
        g = rng.integers(0, len(pop.gamb))
        pl.paddr[0] = pop.gamb_addr[g, rng.integers(0, pop.gamb_addr.shape[1])]
        pl.pval[0] = amount(rng, AM_GAMBLING, spu, 0.5, 0.1)
        pl.i[PL_POST] = POST_BET
    else:
        t = pop.traders[rng.integers(0, len(pop.traders))]
        pl.paddr[0] = recv_address(L, t, L.ent[t, E_ATYPE], 0.9, rng)
        pl.pval[0] = amount(rng, AM_TRADER, spu, 0.2, 0.6)
    pl.pval[0] = max(pl.pval[0], np.int64(5000))
    return _pay(pl, K_PAYMENT, u, L.ent[u, E_POOL], 1, tx_feerate(rng, fmed), -1, sweep, 1)


@nb.njit(cache=True)
def ev_withdraw(L, pop, rng, fmed, spu, pl):
    i = pick(pop.ex_cdf, rng)
    e = pop.ex[i]
    hot = L.ent[e, E_POOL]
    if L.pool[hot, P_N] == 0:
        return ev_cold(L, pop, rng, fmed, i, pl)
    k = 1
    if rng.random() < pop.ex_batch_p[i]:
        k = int(min(P.BATCH_SIZE_MAX, max(2, P.BATCH_SIZE_MEDIAN * np.exp(P.BATCH_SIZE_SIGMA * rng.normal()))))
    budget = L.pool[hot, P_SUM] // 3
    total = 0
    n = 0
    for _ in range(k):
        if rng.random() < 0.15 and len(pop.traders) > 0:
            v = pop.traders[rng.integers(0, len(pop.traders))]
        else:
            v = pop.users[pick(pop.user_cdf, rng)]
        val = amount(rng, AM_WITHDRAW, spu, 0.4, 0.2)
        if total + val > budget:
            break
        pl.paddr[n] = user_recv(L, rng, v)
        pl.pval[n] = val
        total += val
        n += 1
    if n == 0:
        return ev_cold(L, pop, rng, fmed, i, pl)
    fr = max(1.0, fmed * rng.uniform(0.8, 1.5))
    return _pay(pl, K_BATCH if n > 1 else K_WITHDRAW, e, hot, n, fr, hot_change(L, pop, i), False, 0)


@nb.njit(cache=True)
def plan_sweep(L, pl, kind, ent, pool, m, dest, fr):
    """Spend the ``m`` oldest coins of ``pool`` to ``dest`` (one output)."""
    m = min(m, L.pool[pool, P_N], MAXO)
    if m == 0:
        return False
    o = L.pool[pool, P_HEAD]
    total = 0
    w = TX_OVERHEAD_WEIGHT + OUT_WEIGHT[L.addr[dest, A_TYPE]]
    for k in range(m):
        pl.ins[k] = o
        total += L.out[o, O_VALUE]
        w += IN_WEIGHT[L.addr[L.out[o, O_ADDR], A_TYPE]]
        o = L.out[o, O_NEXT]
    fee = fee_for(w, fr)
    if total - fee < DUST:
        return False
    pl.i[PL_ACT] = ACT_EMIT
    pl.i[PL_KIND] = kind
    pl.i[PL_ENT] = ent
    pl.i[PL_NIN] = m
    pl.i[PL_NPAY] = 1
    pl.paddr[0] = dest
    pl.pval[0] = total - fee
    pl.pflag[0] = 0
    return True


@nb.njit(cache=True)
def ev_sweep(L, pop, rng, fmed, pl):
    i = pick(pop.ex_cdf, rng)
    e = pop.ex[i]
    m = int(rng.integers(5, 120)) if pop.ex_batch_sweep[i] else 1
    if L.pool[L.ent[e, E_POOL2], P_N] == 0:
        return False
    return plan_sweep(L, pl, K_SWEEP, e, L.ent[e, E_POOL2], m, hot_change(L, pop, i), max(1.0, fmed * 0.5))


@nb.njit(cache=True)
def ev_cold(L, pop, rng, fmed, i, pl):
    if i < 0:
        i = pick(pop.ex_cdf, rng)
    e = pop.ex[i]
    hot, cold = L.ent[e, E_POOL], L.ent[e, E_POOL3]
    hs, cs = L.pool[hot, P_SUM], L.pool[cold, P_SUM]
    fr = max(1.0, fmed * 0.7)
    if hs > 0.35 * (hs + cs) and hs > 0:
        pl.paddr[0] = pop.ex_cold_addr[i]
        pl.pval[0] = hs // 2
        return _pay(pl, K_TO_COLD, e, hot, 1, fr, hot_change(L, pop, i), False, 2)
    if hs < 0.12 * (hs + cs) and cs > 0:
        pl.paddr[0] = hot_change(L, pop, i)
        pl.pval[0] = max(np.int64(DUST * 10), (hs + cs) // 5)
        return _pay(pl, K_FROM_COLD, e, cold, 1, fr, pop.ex_cold_addr[i], False, 2)
    return False


@nb.njit(cache=True)
def ev_settle(L, pop, rng, fmed, pl):
    proc = pop.procs[rng.integers(0, len(pop.procs))]
    inv = L.ent[proc, E_POOL2]
    if L.pool[inv, P_N] < 2:
        return False
    m = min(L.pool[inv, P_N], int(rng.integers(3, 60)))
    o = L.pool[inv, P_HEAD]
    total = 0
    w = TX_OVERHEAD_WEIGHT
    for k in range(m):
        pl.ins[k] = o
        total += L.out[o, O_VALUE]
        w += IN_WEIGHT[L.addr[L.out[o, O_ADDR], A_TYPE]]
        o = L.out[o, O_NEXT]
    n = 0
    for _ in range(int(rng.integers(1, 4))):
        mi = rng.integers(0, len(pop.merch))
        if pop.merch_proc[mi] != proc:
            continue
        m_ = pop.merch[mi]
        pl.paddr[n] = deposit_address(L, m_) if rng.random() < 0.7 else recv_address(L, m_, L.ent[m_, E_ATYPE], 0.3, rng)
        pl.pflag[n] = 0
        w += OUT_WEIGHT[L.addr[pl.paddr[n], A_TYPE]]
        n += 1
    if n == 0:
        return False
    keep_addr = recv_address(L, proc, L.ent[proc, E_ATYPE], 0.8, rng)
    w += OUT_WEIGHT[L.addr[keep_addr, A_TYPE]]
    fee = fee_for(w, max(1.0, fmed * 0.6))
    keep = total // 100  # the processor's 1% fee
    rest = total - fee - keep
    if rest < n * DUST * 4 or keep < DUST:
        return False
    share = rest // n
    for j in range(n):
        pl.pval[j] = share
    pl.pval[0] += rest - share * n
    pl.paddr[n] = keep_addr
    pl.pval[n] = keep
    pl.pflag[n] = OF_CHANGE
    pl.i[PL_ACT] = ACT_EMIT
    pl.i[PL_KIND] = K_SETTLE
    pl.i[PL_ENT] = proc
    pl.i[PL_NIN] = m
    pl.i[PL_NPAY] = n + 1
    return True


@nb.njit(cache=True)
def ev_pool_payout(L, pop, rng, fmed, spu, pl):
    i = pick(pop.mpool_cdf, rng)
    e = pop.mpools[i]
    p = L.ent[e, E_POOL]
    if L.pool[p, P_N] == 0:
        return False
    k = int(rng.integers(10, 150))
    budget = L.pool[p, P_SUM] // 2
    n = 0
    total = 0
    if L.ent[e, E_HOME] >= 0 and rng.random() < 0.5:
        pl.paddr[0] = deposit_address(L, e)      # the pool sells part of its income
        pl.pval[0] = budget // 3
        total = pl.pval[0]
        n = 1
    for _ in range(n, k):
        v = pop.miners[rng.integers(0, len(pop.miners))]
        val = amount(rng, AM_POOL, spu, 0.0, 0.0)
        if total + val > budget:
            break
        pl.paddr[n] = user_recv(L, rng, v)
        pl.pval[n] = val
        total += val
        n += 1
    if n == 0:
        return False
    chg = pop.mpool_addr[i] if pop.mpool_addr[i] >= 0 else new_address(L, e, L.ent[e, E_ATYPE])
    return _pay(pl, K_POOL, e, p, n, max(1.0, fmed), chg, False, 0)


@nb.njit(cache=True)
def ev_consolidate(L, pop, rng, fmed, pl):
    for _ in range(20):
        u = pop.users[pick(pop.user_cdf, rng)]
        p = L.ent[u, E_POOL]
        if L.pool[p, P_N] >= 4:
            dest = new_address(L, u, L.ent[u, E_ATYPE])
            return plan_sweep(L, pl, K_CONSOL, u, p, 60, dest, max(1.0, fmed * 0.3))
    return False


@nb.njit(cache=True)
def ev_gamble_payout(L, pop, rng, fmed, pl):
    k = rng.integers(0, len(pop.bet_addr))
    a = pop.bet_addr[k]
    if a < 0:
        return False
    bet = pop.bet_val[k]
    pop.bet_addr[k] = -1
    if rng.random() > 0.49:
        return False
    e = pop.gamb[0]
    pl.paddr[0] = a          # winnings go back to the address the bet came from
    pl.pval[0] = bet * 198 // 100
    chg = pop.gamb_addr[0, rng.integers(0, pop.gamb_addr.shape[1])]
    return _pay(pl, K_GAMBLE, e, L.ent[e, E_POOL], 1, max(1.0, fmed), chg, False, 0)


@nb.njit(cache=True)
def ev_trader_sell(L, pop, rng, fmed, spu, pl):
    t = pop.traders[rng.integers(0, len(pop.traders))]
    pl.paddr[0] = user_recv(L, rng, pop.users[pick(pop.user_cdf, rng)])
    pl.pval[0] = amount(rng, AM_SELL, spu, 0.2, 0.6)
    chg = L.ent[t, E_ADDR] if rng.random() < 0.9 else -1
    return _pay(pl, K_P2P, t, L.ent[t, E_POOL], 1, tx_feerate(rng, fmed), chg, False, 1)


@nb.njit(cache=True)
def ev_merchant_out(L, pop, rng, fmed, spu, pl):
    m = pop.merch[rng.integers(0, len(pop.merch))]
    p = L.ent[m, E_POOL]
    if L.pool[p, P_N] == 0:
        return False
    if rng.random() < 0.6:
        pl.paddr[0] = deposit_address(L, m)
        pl.pval[0] = np.int64(L.pool[p, P_SUM] * rng.uniform(0.5, 1.1))
    else:
        pl.paddr[0] = user_recv(L, rng, pop.users[pick(pop.user_cdf, rng)])
        pl.pval[0] = amount(rng, AM_USER, spu, 0.3, 0.4)
    return _pay(pl, K_PAYMENT, m, p, 1, tx_feerate(rng, fmed), -1, True, 1)


@nb.njit(cache=True)
def ev_multi_pay(L, pop, rng, fmed, spu, pl):
    u = funded_user(L, pop, rng, 100_000)
    if u < 0:
        return False
    k = int(rng.integers(2, 6))
    for j in range(k):
        pl.paddr[j] = user_recv(L, rng, pop.users[pick(pop.user_cdf, rng)])
        pl.pval[j] = amount(rng, AM_USER, spu, P.ROUND_BTC_P, P.ROUND_FIAT_P)
    return _pay(pl, K_BATCHPAY, u, L.ent[u, E_POOL], k, tx_feerate(rng, fmed), -1, False, 1)


@nb.njit(cache=True)
def ev_rebalance(L, pop, rng, fmed, pl):
    """A trader, the dice site or a mining pool moves money to or from its exchange account."""
    r = rng.random()
    if r < 0.5 and len(pop.traders) > 0:
        s = pop.traders[rng.integers(0, len(pop.traders))]
    elif r < 0.7:
        s = pop.gamb[0]
    else:
        s = pop.mpools[pick(pop.mpool_cdf, rng)]
    p = L.ent[s, E_POOL]
    bal = L.pool[p, P_SUM]
    lo = np.int64(50_000_000)
    if bal > 4 * lo and L.ent[s, E_HOME] >= 0:
        pl.paddr[0] = deposit_address(L, s)
        pl.pval[0] = bal - 2 * lo
        return _pay(pl, K_PAYMENT, s, p, 1, max(1.0, fmed), -1, False, 2)
    if bal < lo:
        ex = L.ent[s, E_HOME] if L.ent[s, E_HOME] >= 0 else pop.ex[0]
        i = 0
        for j in range(len(pop.ex)):
            if pop.ex[j] == ex:
                i = j
        pl.paddr[0] = recv_address(L, s, L.ent[s, E_ATYPE], L.entf[s], rng)
        pl.pval[0] = 2 * lo
        return _pay(pl, K_WITHDRAW, ex, L.ent[ex, E_POOL], 1, max(1.0, fmed), hot_change(L, pop, i), False, 0)
    return False

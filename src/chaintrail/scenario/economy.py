"""The background economy kernel: one numba loop that writes a block's ordinary transactions.

Each event draws an actor and a behaviour (see ``params.EVENTS``): a user paying
another user, a merchant invoice at a payment processor, an exchange deposit
address, a dice site or a P2P trader; exchange withdrawals (single or batched),
deposit sweeps and cold-storage moves; processor settlements; mining-pool
payouts; wallet consolidations; dice payouts back to the bettor's address; P2P
traders selling; merchants cashing out; multi-recipient payments; services
rebalancing against their exchange.  Amounts, change and fees follow the
calibration in ``params``; fingerprints follow each actor's client.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.scenario import params as P
from chaintrail.scenario.ledger import (
    AT_P2WSH,
    C_ADDR,
    C_IN,
    C_OUT,
    C_TX,
    OF_CHANGE,
    TXK,
)
from chaintrail.scenario.wallet_ops import (
    DUST,
    IN_WEIGHT,
    OUT_WEIGHT,
    SW_CORE,
    TX_OVERHEAD_WEIGHT,
    emit_tx,
    fee_for,
    new_address,
    new_address_in,
    recv_address,
    select_coins,
)

K_PAYMENT = TXK["payment"]
K_SELF = TXK["self_transfer"]
K_WITHDRAW = TXK["exchange_withdrawal"]
K_BATCH = TXK["exchange_batch_withdrawal"]
K_SWEEP = TXK["exchange_sweep"]
K_TO_COLD = TXK["exchange_to_cold"]
K_FROM_COLD = TXK["exchange_from_cold"]
K_SETTLE = TXK["processor_settlement"]
K_POOL = TXK["pool_payout"]
K_GAMBLE = TXK["gambling_payout"]
K_P2P = TXK["p2p_trade"]
K_CONSOL = TXK["consolidation"]
K_BATCHPAY = TXK["batch_payment"]

EV_CDF = np.cumsum(P.EVENT_P)
PAYTO_CDF = np.cumsum(P.PAY_TO_P) / P.PAY_TO_P.sum()
RECV_REUSE = P.SW_RECV_REUSE
_A = P.AMOUNT_USD
AMT_MED = np.array([_A["user"][0], _A["invoice"][0], _A["merchant"][0], _A["exchange"][0],
                    _A["gambling"][0], _A["trader"][0], _A["withdrawal"][0], _A["pool_payout"][0],
                    _A["trader_sell"][0]])
AMT_SIG = np.array([_A["user"][1], _A["invoice"][1], _A["merchant"][1], _A["exchange"][1],
                    _A["gambling"][1], _A["trader"][1], _A["withdrawal"][1], _A["pool_payout"][1],
                    _A["trader_sell"][1]])
A_USER, A_INVOICE, A_MERCHANT, A_EXCHANGE, A_GAMBLING, A_TRADER, A_WITHDRAW, A_POOL, A_SELL = range(9)
MARGIN = 600   # rows of headroom one event may need


@nb.njit(cache=True)
def _pick(cdf, rng):
    return np.searchsorted(cdf, rng.random())


@nb.njit(cache=True)
def round_btc(v, rng):
    """Round to one or two significant digits in BTC."""
    if v < 10_000:
        return v
    d = int(np.floor(np.log10(v)))
    sig = 1 if rng.random() < 0.5 else 2
    q = np.int64(10 ** (d - sig + 1))
    return max(q, np.int64(np.round(v / q)) * q)


@nb.njit(cache=True)
def round_usd(usd):
    """Nearest 1-2-5 x 10^k dollar amount."""
    k = 10.0 ** np.floor(np.log10(max(usd, 1.0)))
    best = k
    for m in (1.0, 2.0, 5.0, 10.0):
        if abs(m * k - usd) < abs(best - usd):
            best = m * k
    return best


@nb.njit(cache=True)
def amount(rng, which, spu, p_btc, p_fiat):
    """A payment amount in sats: lognormal USD, then BTC-round, fiat-round or exact."""
    usd = AMT_MED[which] * np.exp(AMT_SIG[which] * rng.normal())
    r = rng.random()
    if r < p_btc:
        v = round_btc(np.int64(usd * spu), rng)
    elif r < p_btc + p_fiat:
        v = np.int64(round_usd(usd) * spu)
    else:
        v = np.int64(usd * spu)
    return max(v, np.int64(5000))


@nb.njit(cache=True)
def tx_feerate(rng, med):
    return max(1.0, med * np.exp(P.FEERATE_TX_SIGMA * rng.normal()))


@nb.njit(cache=True)
def pay_from(L, rng, h, kind, ent, pool, paddr, pval, n_pay, fr, change_addr, sweep_ok, mode):
    """Pay ``n_pay`` outputs from ``pool`` of ``ent``; returns the tx id or -1.

    ``change_addr`` -1 lets the wallet's habits choose (fresh, reused input address,
    Core's payment-type match).  With ``sweep_ok`` a single payment larger than
    the pool becomes a send-all without change.
    """
    amount_ = 0
    wout = TX_OVERHEAD_WEIGHT
    for k in range(n_pay):
        amount_ += pval[k]
        wout += OUT_WEIGHT[L.addr_type[paddr[k]]]
    sw = L.ent_sw[ent]
    ctype = L.ent_atype[ent]
    if sw == SW_CORE and rng.random() < P.CORE_CHANGE_MATCHES_PAYMENT_P and L.addr_type[paddr[0]] != AT_P2WSH:
        ctype = L.addr_type[paddr[0]]
    sel = np.empty(256, np.int64)
    n, total, fee = select_coins(L, pool, amount_, wout + OUT_WEIGHT[ctype], fr, mode, 200, rng, sel)
    oaddr = np.empty(n_pay + 1, np.int64)
    oval = np.empty(n_pay + 1, np.int64)
    oflag = np.zeros(n_pay + 1, np.uint8)
    for k in range(n_pay):
        oaddr[k] = paddr[k]
        oval[k] = pval[k]
    if n == 0:
        if not sweep_ok or n_pay != 1 or L.pool_n[pool] == 0:
            return -1
        # send everything (up to 200 coins) to the single payee
        o = L.pool_head[pool]
        w = wout
        total = 0
        while o >= 0 and n < 200:
            sel[n] = o
            n += 1
            total += L.out_value[o]
            o = L.out_next[o]
        wi = 0
        for k in range(n):
            wi += IN_WEIGHT[L.addr_type[L.out_addr[sel[k]]]]
        fee = fee_for(wout + wi, fr)
        if total - fee < 5000:
            return -1
        oval[0] = total - fee
        return emit_tx(L, kind, ent, sw, h, rng, sel, n, oaddr, oval, oflag, 1)
    change = total - amount_ - fee
    n_out = n_pay
    if change >= DUST:
        if change_addr < 0:
            first = L.out_addr[sel[0]]
            if rng.random() < L.ent_reuse[ent] and L.addr_ent[first] == ent:
                change_addr = first
            else:
                change_addr = new_address(L, ent, ctype)
        oaddr[n_pay] = change_addr
        oval[n_pay] = change
        oflag[n_pay] = OF_CHANGE
        n_out += 1
    return emit_tx(L, kind, ent, sw, h, rng, sel, n, oaddr, oval, oflag, n_out)


@nb.njit(cache=True)
def funded_user(L, pop, rng, min_sats):
    for _ in range(12):
        u = pop.users[_pick(pop.user_cdf, rng)]
        p = L.ent_pool[u]
        if L.pool_n[p] > 0 and L.pool_sum[p] >= min_sats:
            return u
    return -1


@nb.njit(cache=True)
def deposit_address(L, ent):
    """The customer's deposit address at its home exchange (one per customer, reused)."""
    if L.ent_dep[ent] < 0:
        ex = L.ent_home[ent]
        L.ent_dep[ent] = new_address_in(L, ex, L.ent_flags[ex] & 7, L.ent_pool2[ex])
    return L.ent_dep[ent]


@nb.njit(cache=True)
def user_recv(L, rng, v):
    return recv_address(L, v, L.ent_atype[v], RECV_REUSE[L.ent_sw[v]], rng)


@nb.njit(cache=True)
def ev_pay(L, pop, rng, h, fmed, spu):
    u = funded_user(L, pop, rng, 20_000)
    if u < 0:
        return -1
    cls = _pick(PAYTO_CDF, rng)
    paddr = np.empty(1, np.int64)
    pval = np.empty(1, np.int64)
    sweep = False
    if cls == 0:
        v = pop.users[_pick(pop.user_cdf, rng)]
        if v == u:
            return -1
        paddr[0] = user_recv(L, rng, v)
        pval[0] = amount(rng, A_USER, spu, P.ROUND_BTC_P, P.ROUND_FIAT_P)
        sweep = rng.random() < 0.3
    elif cls == 1 or cls == 2:
        m = pop.merch[rng.integers(0, len(pop.merch))]
        proc = pop.merch_proc[rng.integers(0, len(pop.merch))] if cls == 1 else -1
        if proc >= 0:
            paddr[0] = new_address_in(L, proc, L.ent_atype[proc], L.ent_pool2[proc])
            pval[0] = np.int64(AMT_MED[A_INVOICE] * np.exp(AMT_SIG[A_INVOICE] * rng.normal()) * spu)
        else:
            paddr[0] = recv_address(L, m, L.ent_atype[m], 0.3, rng)
            pval[0] = amount(rng, A_MERCHANT, spu, 0.05, 0.5)
    elif cls == 3:
        paddr[0] = deposit_address(L, u)
        bal = L.pool_sum[L.ent_pool[u]]
        if rng.random() < 0.5:
            pval[0] = np.int64(bal * rng.uniform(0.3, 1.1))
            sweep = True
        else:
            pval[0] = amount(rng, A_EXCHANGE, spu, 0.3, 0.3)
    elif cls == 4:
        g = rng.integers(0, len(pop.gamb))
        paddr[0] = pop.gamb_addr[g, rng.integers(0, pop.gamb_addr.shape[1])]
        pval[0] = amount(rng, A_GAMBLING, spu, 0.5, 0.1)
    else:
        t = pop.traders[rng.integers(0, len(pop.traders))]
        paddr[0] = recv_address(L, t, L.ent_atype[t], 0.9, rng)
        pval[0] = amount(rng, A_TRADER, spu, 0.2, 0.6)
    pval[0] = max(pval[0], np.int64(5000))
    t = pay_from(L, rng, h, K_PAYMENT, u, L.ent_pool[u], paddr, pval, 1, tx_feerate(rng, fmed), -1, sweep, 1)
    if t >= 0 and cls == 4:
        # the dice site pays winnings back to the address the bet came from
        k = pop.state[0] % len(pop.bet_addr)
        pop.state[0] += 1
        pop.bet_addr[k] = L.out_addr[L.in_out[L.tx_in0[t]]]
        pop.bet_val[k] = pval[0]
    return t


@nb.njit(cache=True)
def ev_withdraw(L, pop, rng, h, fmed, spu):
    i = _pick(pop.ex_cdf, rng)
    e = pop.ex[i]
    hot = L.ent_pool[e]
    if L.pool_n[hot] == 0:
        return ev_cold(L, pop, rng, h, fmed, i)
    k = 1
    if rng.random() < pop.ex_batch_p[i]:
        k = int(min(P.BATCH_SIZE_MAX, max(2, P.BATCH_SIZE_MEDIAN * np.exp(P.BATCH_SIZE_SIGMA * rng.normal()))))
    paddr = np.empty(k, np.int64)
    pval = np.empty(k, np.int64)
    budget = L.pool_sum[hot] // 3
    total = 0
    n = 0
    for j in range(k):
        if rng.random() < 0.15 and len(pop.traders) > 0:
            v = pop.traders[rng.integers(0, len(pop.traders))]
        else:
            v = pop.users[_pick(pop.user_cdf, rng)]
        val = amount(rng, A_WITHDRAW, spu, 0.4, 0.2)
        if total + val > budget:
            break
        paddr[n] = user_recv(L, rng, v)
        pval[n] = val
        total += val
        n += 1
    if n == 0:
        return ev_cold(L, pop, rng, h, fmed, i)
    chg = pop.ex_hot_addr[i] if pop.ex_hot_addr[i] >= 0 else new_address(L, e, L.ent_atype[e])
    fr = max(1.0, fmed * rng.uniform(0.8, 1.5))
    return pay_from(L, rng, h, K_BATCH if n > 1 else K_WITHDRAW, e, hot, paddr, pval, n, fr, chg, False, 0)


@nb.njit(cache=True)
def sweep_coins(L, rng, h, kind, ent, pool, m, dest, fr, sw):
    """Spend the ``m`` oldest coins of ``pool`` to ``dest`` (one output)."""
    m = min(m, L.pool_n[pool])
    if m == 0:
        return -1
    sel = np.empty(m, np.int64)
    o = L.pool_head[pool]
    total = 0
    w = TX_OVERHEAD_WEIGHT + OUT_WEIGHT[L.addr_type[dest]]
    for k in range(m):
        sel[k] = o
        total += L.out_value[o]
        w += IN_WEIGHT[L.addr_type[L.out_addr[o]]]
        o = L.out_next[o]
    fee = fee_for(w, fr)
    if total - fee < DUST:
        return -1
    oaddr = np.array([dest], np.int64)
    oval = np.array([total - fee], np.int64)
    oflag = np.zeros(1, np.uint8)
    return emit_tx(L, kind, ent, sw, h, rng, sel, m, oaddr, oval, oflag, 1)


@nb.njit(cache=True)
def ev_sweep(L, pop, rng, h, fmed):
    i = _pick(pop.ex_cdf, rng)
    e = pop.ex[i]
    dep = L.ent_pool2[e]
    if L.pool_n[dep] == 0:
        return -1
    m = 1
    if pop.ex_batch_sweep[i]:
        m = int(rng.integers(5, 120))
    dest = pop.ex_hot_addr[i] if pop.ex_hot_addr[i] >= 0 else new_address(L, e, L.ent_atype[e])
    return sweep_coins(L, rng, h, K_SWEEP, e, dep, m, dest, max(1.0, fmed * 0.5), L.ent_sw[e])


@nb.njit(cache=True)
def ev_cold(L, pop, rng, h, fmed, i):
    if i < 0:
        i = _pick(pop.ex_cdf, rng)
    e = pop.ex[i]
    hot, cold = L.ent_pool[e], L.ent_pool3[e]
    hs, cs = L.pool_sum[hot], L.pool_sum[cold]
    fr = max(1.0, fmed * 0.7)
    paddr = np.empty(1, np.int64)
    pval = np.empty(1, np.int64)
    if hs > 0.35 * (hs + cs) and hs > 0:
        paddr[0] = pop.ex_cold_addr[i]
        pval[0] = hs // 2
        chg = pop.ex_hot_addr[i] if pop.ex_hot_addr[i] >= 0 else new_address(L, e, L.ent_atype[e])
        return pay_from(L, rng, h, K_TO_COLD, e, hot, paddr, pval, 1, fr, chg, False, 2)
    if hs < 0.12 * (hs + cs) and cs > 0:
        paddr[0] = pop.ex_hot_addr[i] if pop.ex_hot_addr[i] >= 0 else new_address(L, e, L.ent_atype[e])
        pval[0] = max(np.int64(DUST * 10), (hs + cs) // 5)
        return pay_from(L, rng, h, K_FROM_COLD, e, cold, paddr, pval, 1, fr, pop.ex_cold_addr[i], False, 2)
    return -1


@nb.njit(cache=True)
def ev_settle(L, pop, rng, h, fmed):
    proc = pop.procs[rng.integers(0, len(pop.procs))]
    inv = L.ent_pool2[proc]
    if L.pool_n[inv] < 2:
        return -1
    m = min(L.pool_n[inv], int(rng.integers(3, 60)))
    sel = np.empty(m, np.int64)
    o = L.pool_head[inv]
    total = 0
    w = TX_OVERHEAD_WEIGHT
    for k in range(m):
        sel[k] = o
        total += L.out_value[o]
        w += IN_WEIGHT[L.addr_type[L.out_addr[o]]]
        o = L.out_next[o]
    k_out = int(rng.integers(1, 4))
    oaddr = np.empty(k_out + 1, np.int64)
    oval = np.empty(k_out + 1, np.int64)
    oflag = np.zeros(k_out + 1, np.uint8)
    n = 0
    for j in range(k_out):
        mi = rng.integers(0, len(pop.merch))
        if pop.merch_proc[mi] != proc:
            continue
        m_ = pop.merch[mi]
        oaddr[n] = deposit_address(L, m_) if rng.random() < 0.7 else recv_address(L, m_, L.ent_atype[m_], 0.3, rng)
        n += 1
    if n == 0:
        return -1
    for j in range(n):
        w += OUT_WEIGHT[L.addr_type[oaddr[j]]]
    keep_addr = recv_address(L, proc, L.ent_atype[proc], 0.8, rng)
    w += OUT_WEIGHT[L.addr_type[keep_addr]]
    fee = fee_for(w, max(1.0, fmed * 0.6))
    keep = total // 100  # processor's 1% fee
    rest = total - fee - keep
    if rest < n * DUST * 4 or keep < DUST:
        return -1
    share = rest // n
    for j in range(n):
        oval[j] = share
    oval[0] += rest - share * n
    oaddr[n] = keep_addr
    oval[n] = keep
    oflag[n] = OF_CHANGE
    return emit_tx(L, K_SETTLE, proc, L.ent_sw[proc], h, rng, sel, m, oaddr, oval, oflag, n + 1)


@nb.njit(cache=True)
def ev_pool_payout(L, pop, rng, h, fmed, spu):
    i = _pick(pop.mpool_cdf, rng)
    e = pop.mpools[i]
    p = L.ent_pool[e]
    if L.pool_n[p] == 0:
        return -1
    k = int(rng.integers(10, 150))
    budget = L.pool_sum[p] // 2
    paddr = np.empty(k, np.int64)
    pval = np.empty(k, np.int64)
    n = 0
    total = 0
    if L.ent_home[e] >= 0 and rng.random() < 0.5:
        paddr[0] = deposit_address(L, e)      # the pool sells part of its income
        pval[0] = budget // 3
        total = pval[0]
        n = 1
    for j in range(n, k):
        v = pop.miners[rng.integers(0, len(pop.miners))]
        val = amount(rng, A_POOL, spu, 0.0, 0.0)
        if total + val > budget:
            break
        paddr[n] = user_recv(L, rng, v)
        pval[n] = val
        total += val
        n += 1
    if n == 0:
        return -1
    chg = pop.mpool_addr[i] if pop.mpool_addr[i] >= 0 else new_address(L, e, L.ent_atype[e])
    return pay_from(L, rng, h, K_POOL, e, p, paddr, pval, n, max(1.0, fmed), chg, False, 0)


@nb.njit(cache=True)
def ev_consolidate(L, pop, rng, h, fmed):
    for _ in range(20):
        u = pop.users[_pick(pop.user_cdf, rng)]
        p = L.ent_pool[u]
        if L.pool_n[p] >= 4:
            dest = new_address(L, u, L.ent_atype[u])
            return sweep_coins(L, rng, h, K_CONSOL, u, p, 60, dest, max(1.0, fmed * 0.3), L.ent_sw[u])
    return -1


@nb.njit(cache=True)
def ev_gamble_payout(L, pop, rng, h, fmed):
    k = rng.integers(0, len(pop.bet_addr))
    a = pop.bet_addr[k]
    if a < 0:
        return -1
    bet = pop.bet_val[k]
    pop.bet_addr[k] = -1
    if rng.random() > 0.49:
        return -1
    g = 0
    e = pop.gamb[g]
    paddr = np.array([a], np.int64)
    pval = np.array([bet * 198 // 100], np.int64)
    chg = pop.gamb_addr[g, rng.integers(0, pop.gamb_addr.shape[1])]
    return pay_from(L, rng, h, K_GAMBLE, e, L.ent_pool[e], paddr, pval, 1, max(1.0, fmed), chg, False, 0)


@nb.njit(cache=True)
def ev_trader_sell(L, pop, rng, h, fmed, spu):
    t = pop.traders[rng.integers(0, len(pop.traders))]
    v = pop.users[_pick(pop.user_cdf, rng)]
    paddr = np.array([user_recv(L, rng, v)], np.int64)
    pval = np.array([amount(rng, A_SELL, spu, 0.2, 0.6)], np.int64)
    chg = L.ent_addr[t] if rng.random() < 0.9 else -1
    return pay_from(L, rng, h, K_P2P, t, L.ent_pool[t], paddr, pval, 1, tx_feerate(rng, fmed), chg, False, 1)


@nb.njit(cache=True)
def ev_merchant_out(L, pop, rng, h, fmed, spu):
    m = pop.merch[rng.integers(0, len(pop.merch))]
    p = L.ent_pool[m]
    if L.pool_n[p] == 0:
        return -1
    paddr = np.empty(1, np.int64)
    pval = np.empty(1, np.int64)
    if rng.random() < 0.6:
        paddr[0] = deposit_address(L, m)
        pval[0] = np.int64(L.pool_sum[p] * rng.uniform(0.5, 1.1))
    else:
        paddr[0] = user_recv(L, rng, pop.users[_pick(pop.user_cdf, rng)])
        pval[0] = amount(rng, A_USER, spu, 0.3, 0.4)
    return pay_from(L, rng, h, K_PAYMENT, m, p, paddr, pval, 1, tx_feerate(rng, fmed), -1, True, 1)


@nb.njit(cache=True)
def ev_multi_pay(L, pop, rng, h, fmed, spu):
    u = funded_user(L, pop, rng, 100_000)
    if u < 0:
        return -1
    k = int(rng.integers(2, 6))
    paddr = np.empty(k, np.int64)
    pval = np.empty(k, np.int64)
    for j in range(k):
        paddr[j] = user_recv(L, rng, pop.users[_pick(pop.user_cdf, rng)])
        pval[j] = amount(rng, A_USER, spu, P.ROUND_BTC_P, P.ROUND_FIAT_P)
    return pay_from(L, rng, h, K_BATCHPAY, u, L.ent_pool[u], paddr, pval, k, tx_feerate(rng, fmed), -1, False, 1)


@nb.njit(cache=True)
def ev_rebalance(L, pop, rng, h, fmed, spu):
    """A trader, the dice site or a mining pool moves money to or from its exchange account."""
    r = rng.random()
    if r < 0.5 and len(pop.traders) > 0:
        s = pop.traders[rng.integers(0, len(pop.traders))]
    elif r < 0.7:
        s = pop.gamb[0]
    else:
        s = pop.mpools[_pick(pop.mpool_cdf, rng)]
    p = L.ent_pool[s]
    bal = L.pool_sum[p]
    lo = np.int64(0.5 * 1e8)
    if bal > 4 * lo and L.ent_home[s] >= 0:
        paddr = np.array([deposit_address(L, s)], np.int64)
        pval = np.array([bal - 2 * lo], np.int64)
        return pay_from(L, rng, h, K_PAYMENT, s, p, paddr, pval, 1, max(1.0, fmed), -1, False, 2)
    if bal < lo:
        ex = L.ent_home[s] if L.ent_home[s] >= 0 else pop.ex[0]
        paddr = np.array([recv_address(L, s, L.ent_atype[s], L.ent_reuse[s], rng)], np.int64)
        pval = np.array([2 * lo], np.int64)
        i = 0
        for j in range(len(pop.ex)):
            if pop.ex[j] == ex:
                i = j
        chg = pop.ex_hot_addr[i] if pop.ex_hot_addr[i] >= 0 else new_address(L, ex, L.ent_atype[ex])
        return pay_from(L, rng, h, K_WITHDRAW, ex, L.ent_pool[ex], paddr, pval, 1, max(1.0, fmed), chg, False, 0)
    return -1


@nb.njit(cache=True)
def run_events(L, pop, rng, h, n_events, fmed, spu):
    """Write up to ``n_events`` background txs at height ``h``; returns how many were written.

    Stops early (returning fewer) when the ledger needs to grow; the caller grows it
    and calls again for the rest.
    """
    done = 0
    attempts = 0
    while done < n_events and attempts < n_events * 8:
        if (L.ctr[C_TX] + 2 > len(L.tx_in0) or L.ctr[C_IN] + MARGIN > len(L.in_out)
                or L.ctr[C_OUT] + MARGIN > len(L.out_value) or L.ctr[C_ADDR] + MARGIN > len(L.addr_type)):
            break
        attempts += 1
        ev = _pick(EV_CDF, rng)
        if ev == 0:
            t = ev_pay(L, pop, rng, h, fmed, spu)
        elif ev == 1:
            t = ev_withdraw(L, pop, rng, h, fmed, spu)
        elif ev == 2:
            t = ev_sweep(L, pop, rng, h, fmed)
        elif ev == 3:
            t = ev_cold(L, pop, rng, h, fmed, -1)
        elif ev == 4:
            t = ev_settle(L, pop, rng, h, fmed)
        elif ev == 5:
            t = ev_pool_payout(L, pop, rng, h, fmed, spu)
        elif ev == 6:
            t = ev_consolidate(L, pop, rng, h, fmed)
        elif ev == 7:
            t = ev_gamble_payout(L, pop, rng, h, fmed)
        elif ev == 8:
            t = ev_trader_sell(L, pop, rng, h, fmed, spu)
        elif ev == 9:
            t = ev_merchant_out(L, pop, rng, h, fmed, spu)
        elif ev == 10:
            t = ev_multi_pay(L, pop, rng, h, fmed, spu)
        else:
            t = ev_rebalance(L, pop, rng, h, fmed, spu)
        if t >= 0:
            done += 1
    return done

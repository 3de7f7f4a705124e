"""The background economy kernel: one numba loop that writes a block's ordinary transactions.

Each event draws an actor and a behaviour (see ``params.EVENTS``): a user paying
another user, a merchant invoice at a payment processor, an exchange deposit
address, a dice site or a P2P trader; exchange withdrawals (single or batched),
deposit sweeps and cold-storage moves; processor settlements; mining-pool
payouts; wallet consolidations; dice payouts back to the bettor's address; P2P
traders selling; merchants cashing out; multi-recipient payments; services
rebalancing against their exchange.  Amounts, change and fees follow the
calibration in ``params``; fingerprints follow each actor's client.

Events only *plan* a transaction (``Plan``); ``run_events`` completes the plan
(coin selection, change) and emits it at a single call site, which keeps the
numba compile units small.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from chaintrail.scenario import params as P
from chaintrail.scenario.amounts import pick
from chaintrail.scenario.events import (
    ACT_PAY,
    MARGIN,
    MAXO,
    PL_ACT,
    PL_CHANGE,
    PL_ENT,
    PL_KIND,
    PL_MODE,
    PL_NIN,
    PL_NPAY,
    PL_POOL,
    PL_POST,
    PL_SWEEP,
    POST_BET,
    POST_NONE,
    ev_cold,
    ev_consolidate,
    ev_gamble_payout,
    ev_merchant_out,
    ev_multi_pay,
    ev_pay,
    ev_pool_payout,
    ev_rebalance,
    ev_settle,
    ev_sweep,
    ev_trader_sell,
    ev_withdraw,
)
from chaintrail.scenario.ledger import (
    A_ENT,
    A_TYPE,
    AT_P2WSH,
    C_ADDR,
    C_IN,
    C_OUT,
    C_TX,
    E_ATYPE,
    E_SW,
    O_ADDR,
    O_NEXT,
    O_VALUE,
    OF_CHANGE,
    P_HEAD,
    P_N,
    T_IN0,
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
    select_coins,
)

EV_CDF = np.cumsum(P.EVENT_P)
__all__ = ["MARGIN", "Plan", "new_plan", "run_events"]


class Plan(NamedTuple):
    """Scratch space for one planned transaction."""

    i: np.ndarray      # int64[16] slots PL_*
    fr: np.ndarray     # float64[1] fee rate
    paddr: np.ndarray  # int64[MAXO]
    pval: np.ndarray   # int64[MAXO]
    pflag: np.ndarray  # uint8[MAXO]
    ins: np.ndarray    # int64[MAXI]


def new_plan() -> Plan:
    return Plan(np.zeros(16, np.int64), np.zeros(1), np.zeros(MAXO, np.int64),
                np.zeros(MAXO, np.int64), np.zeros(MAXO, np.uint8), np.zeros(MAXO, np.int64))


@nb.njit(cache=True)
def complete_pay(L, rng, pl):
    """Coin selection and change for an ACT_PAY plan; False if the wallet cannot pay."""
    ent, pool, n_pay = pl.i[PL_ENT], pl.i[PL_POOL], pl.i[PL_NPAY]
    fr = pl.fr[0]
    amount_ = 0
    wout = TX_OVERHEAD_WEIGHT
    for k in range(n_pay):
        amount_ += pl.pval[k]
        wout += OUT_WEIGHT[L.addr[pl.paddr[k], A_TYPE]]
    ctype = L.ent[ent, E_ATYPE]
    first_t = L.addr[pl.paddr[0], A_TYPE]
    if L.ent[ent, E_SW] == SW_CORE and rng.random() < P.CORE_CHANGE_MATCHES_PAYMENT_P and first_t != AT_P2WSH:
        ctype = first_t
    n, total, fee = select_coins(L, pool, amount_, wout + OUT_WEIGHT[ctype], fr, pl.i[PL_MODE], 200,
                                 rng, pl.ins)
    if n == 0:
        if pl.i[PL_SWEEP] == 0 or n_pay != 1 or L.pool[pool, P_N] == 0:
            return False
        o = L.pool[pool, P_HEAD]     # send everything to the single payee
        wi = 0
        while o >= 0 and n < 200:
            pl.ins[n] = o
            n += 1
            total += L.out[o, O_VALUE]
            wi += IN_WEIGHT[L.addr[L.out[o, O_ADDR], A_TYPE]]
            o = L.out[o, O_NEXT]
        fee = fee_for(wout + wi, fr)
        if total - fee < 5000:
            return False
        pl.pval[0] = total - fee
        pl.i[PL_NIN] = n
        return True
    pl.i[PL_NIN] = n
    change = total - amount_ - fee
    if change >= DUST:
        ca = pl.i[PL_CHANGE]
        if ca < 0:
            first = L.out[pl.ins[0], O_ADDR]
            if rng.random() < L.entf[ent] and L.addr[first, A_ENT] == ent:
                ca = first
            else:
                ca = new_address(L, ent, ctype)
        pl.paddr[n_pay] = ca
        pl.pval[n_pay] = change
        pl.pflag[n_pay] = OF_CHANGE
        pl.i[PL_NPAY] = n_pay + 1
    return True


@nb.njit(cache=True)
def plan_event(L, pop, rng, fmed, spu, pl):
    """Draw one event and plan its transaction; False if the event fizzled."""
    pl.i[PL_POST] = POST_NONE
    ev = pick(EV_CDF, rng)
    if ev == 0:
        return ev_pay(L, pop, rng, fmed, spu, pl)
    if ev == 1:
        return ev_withdraw(L, pop, rng, fmed, spu, pl)
    if ev == 2:
        return ev_sweep(L, pop, rng, fmed, pl)
    if ev == 3:
        return ev_cold(L, pop, rng, fmed, -1, pl)
    if ev == 4:
        return ev_settle(L, pop, rng, fmed, pl)
    if ev == 5:
        return ev_pool_payout(L, pop, rng, fmed, spu, pl)
    if ev == 6:
        return ev_consolidate(L, pop, rng, fmed, pl)
    if ev == 7:
        return ev_gamble_payout(L, pop, rng, fmed, pl)
    if ev == 8:
        return ev_trader_sell(L, pop, rng, fmed, spu, pl)
    if ev == 9:
        return ev_merchant_out(L, pop, rng, fmed, spu, pl)
    if ev == 10:
        return ev_multi_pay(L, pop, rng, fmed, spu, pl)
    return ev_rebalance(L, pop, rng, fmed, pl)


@nb.njit(cache=True)
def run_events(L, pop, rng, h, n_events, fmed, spu, pl):
    """Write up to ``n_events`` background txs at height ``h``; returns how many were written.

    Stops early (returning fewer) when the ledger needs to grow; the caller grows it
    and calls again for the rest.
    """
    done = 0
    attempts = 0
    while done < n_events and attempts < n_events * 8:
        if (L.ctr[C_TX] + 2 > len(L.tx) or L.ctr[C_IN] + MARGIN > len(L.inp)
                or L.ctr[C_OUT] + MARGIN > len(L.out) or L.ctr[C_ADDR] + MARGIN > len(L.addr)):
            break
        attempts += 1
        if not plan_event(L, pop, rng, fmed, spu, pl):
            continue
        if pl.i[PL_ACT] == ACT_PAY and not complete_pay(L, rng, pl):
            continue
        ent = pl.i[PL_ENT]
        t = emit_tx(L, pl.i[PL_KIND], ent, L.ent[ent, E_SW], h, rng, pl.ins, pl.i[PL_NIN],
                    pl.paddr, pl.pval, pl.pflag, pl.i[PL_NPAY])
        if pl.i[PL_POST] == POST_BET:
            # the dice site pays winnings back to the address the bet came from
            k = pop.state[0] % len(pop.bet_addr)
            pop.state[0] += 1
            pop.bet_addr[k] = L.out[L.inp[L.tx[t, T_IN0]], O_ADDR]
            pop.bet_val[k] = pl.pval[0]
        done += 1
    return done

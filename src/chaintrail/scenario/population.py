"""The background actors: users, exchanges, merchants, processors, pools, gambling, P2P traders.

``build_population`` creates the entities in the ledger and returns ``Pop``,
the index arrays the background kernel samples from, plus the initial
allocation paid by the bootstrap coinbases.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from chaintrail.scenario import params as P
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    AT_P2PKH,
    AT_P2TR,
    AT_P2WPKH,
    AT_P2WSH,
    E_ADDR,
    E_FLAGS,
    E_HOME,
    E_POOL2,
    E_POOL3,
)
from chaintrail.scenario.wallet_ops import SW_CORE, SW_EXCH1, SW_EXCH2, SW_MOBILE

COIN = 100_000_000
F_MINER = 1          # ent_flags: receives pool payouts
F_PRIVACY = 2        # uses CoinJoins
MAX_FUNDED_USERS = 30_000


class Pop(NamedTuple):
    """Index arrays of the background kernel (entity ids unless noted)."""

    users: np.ndarray
    user_cdf: np.ndarray
    ex: np.ndarray
    ex_cdf: np.ndarray
    ex_batch_p: np.ndarray
    ex_batch_sweep: np.ndarray
    ex_hot_addr: np.ndarray      # reused hot-wallet address, or -1 for fresh change
    ex_cold_addr: np.ndarray
    merch: np.ndarray
    merch_proc: np.ndarray       # processor entity, or -1 for a merchant paid directly
    procs: np.ndarray
    gamb: np.ndarray
    gamb_addr: np.ndarray        # [n_gambling, 4] reused bet addresses
    traders: np.ndarray
    mpools: np.ndarray
    mpool_cdf: np.ndarray
    mpool_addr: np.ndarray       # reused coinbase address, or -1
    miners: np.ndarray
    bet_addr: np.ndarray         # ring buffer of recent bets: bettor's address
    bet_val: np.ndarray
    state: np.ndarray            # [0] ring position


def _cdf(w: np.ndarray) -> np.ndarray:
    c = np.cumsum(np.asarray(w, np.float64))
    return c / c[-1]


def sizes_for(n_tx: int) -> dict[str, int]:
    """Actor counts for a chain of about ``n_tx`` transactions."""
    users = max(60, n_tx // 6)
    return {"users": users, "merchants": max(6, users // 150), "traders": max(4, users // 800),
            "miners": max(10, users // 40)}


def build_population(ch: Chain, n_tx: int) -> tuple[Pop, list[tuple[int, float, str]]]:
    """Create the background entities; return the kernel's ``Pop`` and the initial allocation.

    The allocation is a list of (address, weight, group); the generator scales each
    group (exchange, service, user) to its share of the bootstrap coinbases.
    """
    rng = ch.rng
    n = sizes_for(n_tx)
    alloc: list[tuple[int, float, str]] = []

    # exchanges: hot (main pool), deposit pool (pool2), cold pool (pool3)
    ex, ex_share, ex_batch, ex_bsweep, ex_hot, ex_cold = [], [], [], [], [], []
    for name, share, batch_p, bsweep, reuse_hot, dep_t, hot_t, sw in P.EXCHANGES:
        e = ch.entity("exchange", name, hot_t, sw, reuse=1.0 if reuse_hot else 0.0)
        ch.L.ent[e, E_POOL2] = ch.new_pool(e)
        ch.L.ent[e, E_POOL3] = ch.new_pool(e)
        ch.L.ent[e, E_FLAGS] = dep_t          # deposit address type kept in flags
        hot = ch.address(e, hot_t)
        cold = ch.address(e, AT_P2WSH, pool=int(ch.L.ent[e, E_POOL3]))
        ex += [e]
        ex_share.append(share)
        ex_batch.append(batch_p)
        ex_bsweep.append(1 if bsweep else 0)
        ex_hot.append(hot if reuse_hot else -1)
        ex_cold.append(cold)
        ch.L.ent[e, E_ADDR] = hot
        for _ in range(8):
            alloc.append((cold, share * 0.80 / 8, "exchange"))
        for _ in range(20):
            alloc.append((ch.address(e, hot_t), share * 0.20 / 20, "exchange"))

    procs = [ch.entity("payment_processor", f"Processor {c}", AT_P2WPKH, SW_EXCH2) for c in "AB"]
    for p in procs:
        ch.L.ent[p, E_POOL2] = ch.new_pool(p)

    merch, merch_proc = [], []
    for i in range(n["merchants"]):
        atype = AT_P2WPKH if rng.random() < 0.7 else AT_P2PKH
        m = ch.entity("merchant", f"Merchant {i + 1}", atype, SW_CORE if rng.random() < 0.5 else SW_MOBILE,
                      reuse=0.3)
        merch.append(m)
        merch_proc.append(procs[i % 2] if rng.random() < 0.6 else -1)
        ch.L.ent[m, E_HOME] = ex[int(np.searchsorted(_cdf(ex_share), rng.random()))]
        alloc.append((ch.address(m), float(rng.lognormal(np.log(0.2), 1.0)), "service"))

    gamb = [ch.entity("gambling", "Dice Casino", AT_P2PKH, SW_EXCH1, reuse=1.0)]
    gamb_addr = np.array([[ch.address(gamb[0]) for _ in range(4)]], np.int64)
    ch.L.ent[gamb[0], E_HOME] = ex[0]
    for k in range(10):
        alloc.append((int(gamb_addr[0, k % 4]), 3.0, "service"))

    traders = []
    for i in range(n["traders"]):
        t = ch.entity("p2p_trader", f"P2P Trader {i + 1}", AT_P2WPKH if i % 3 else AT_P2PKH, SW_MOBILE, reuse=0.9)
        traders.append(t)
        ch.L.ent[t, E_ADDR] = ch.address(t)
        ch.L.ent[t, E_HOME] = ex[i % len(ex)]
        for _ in range(3):
            alloc.append((int(ch.L.ent[t, E_ADDR]), float(rng.uniform(0.5, 3)), "service"))

    mpools, mpool_addr = [], []
    for i, (name, share) in enumerate(P.POOLS):
        atype = (AT_P2WPKH, AT_P2PKH, AT_P2WPKH, AT_P2PKH, AT_P2TR, AT_P2WPKH)[i]
        e = ch.entity("mining_pool", name, atype, SW_EXCH1 if i % 2 else SW_EXCH2, reuse=1.0)
        mpools.append(e)
        ch.L.ent[e, E_HOME] = ex[i % len(ex)]
        mpool_addr.append(ch.address(e) if i % 2 == 0 else -1)

    # users: bulk-created wallets with their address type, client and home exchange
    U = n["users"]
    at_idx = rng.choice(len(P.USER_ATYPES), size=U, p=P.USER_ATYPE_P)
    atypes = P.USER_ATYPES[at_idx]
    u01 = rng.random(U)
    sw_cdf = np.cumsum(P.USER_SW_P, axis=1)
    sws = np.zeros(U, np.int64)
    for k in range(len(P.USER_ATYPES)):
        m = at_idx == k
        sws[m] = np.searchsorted(sw_cdf[k], u01[m] * sw_cdf[k, -1])
    homes = np.asarray(ex, np.int64)[np.searchsorted(_cdf(ex_share), rng.random(U))]
    users = ch.wallets(atypes, sws, P.SW_CHANGE_REUSE[sws], homes)
    ch.grow(addr=U)
    funded = np.flatnonzero(rng.random(U) < 0.45)[:MAX_FUNDED_USERS]
    for i in funded:
        u = int(users[i])
        for _ in range(1 + int(rng.integers(0, 3))):
            alloc.append((ch.address(u), float(min(rng.lognormal(np.log(0.02), 1.3), 5.0)), "user"))
    miners = users[rng.random(U) < max(0.02, n["miners"] / U)]
    for m in miners:
        ch.L.ent[int(m), E_FLAGS] |= F_MINER
    activity = rng.lognormal(0.0, 1.0, U)

    pop = Pop(
        users=users, user_cdf=_cdf(activity),
        ex=np.array(ex, np.int64), ex_cdf=_cdf(ex_share), ex_batch_p=np.array(ex_batch),
        ex_batch_sweep=np.array(ex_bsweep, np.uint8), ex_hot_addr=np.array(ex_hot, np.int64),
        ex_cold_addr=np.array(ex_cold, np.int64),
        merch=np.array(merch, np.int64), merch_proc=np.array(merch_proc, np.int64),
        procs=np.array(procs, np.int64), gamb=np.array(gamb, np.int64), gamb_addr=gamb_addr,
        traders=np.array(traders, np.int64), mpools=np.array(mpools, np.int64),
        mpool_cdf=_cdf([s for _, s in P.POOLS]), mpool_addr=np.array(mpool_addr, np.int64),
        miners=np.array(miners if len(miners) else users[:1], np.int64),
        bet_addr=np.full(256, -1, np.int64), bet_val=np.zeros(256, np.int64),
        state=np.zeros(4, np.int64),
    )
    return pop, alloc

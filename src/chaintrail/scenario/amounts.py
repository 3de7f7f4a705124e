"""Payment amounts and fee rates of the background economy (numba helpers).

Amounts are lognormal in US dollars (``params.AMOUNT_USD``) and then either
rounded in BTC (one or two significant digits), rounded in dollars (a 1-2-5
series amount at the current price, so odd in sats) or left exact, in the
shares ``params.ROUND_*``; Nick (2015) and Möser & Böhme (2017) found both kinds
of round payment common.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.scenario import params as P

_A = P.AMOUNT_USD
_ORDER = ("user", "invoice", "merchant", "exchange", "gambling", "trader", "withdrawal",
          "pool_payout", "trader_sell")
AMT_MED = np.array([_A[k][0] for k in _ORDER])
AMT_SIG = np.array([_A[k][1] for k in _ORDER])
AM_USER, AM_INVOICE, AM_MERCHANT, AM_EXCHANGE, AM_GAMBLING, AM_TRADER, AM_WITHDRAW, AM_POOL, AM_SELL = range(9)
MIN_PAYMENT = 5000


@nb.njit(cache=True)
def pick(cdf, rng):
    """Index drawn from a cumulative distribution."""
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
    """A payment amount in sats (``spu`` = sats per USD)."""
    usd = AMT_MED[which] * np.exp(AMT_SIG[which] * rng.normal())
    r = rng.random()
    if r < p_btc:
        v = round_btc(np.int64(usd * spu), rng)
    elif r < p_btc + p_fiat:
        v = np.int64(round_usd(usd) * spu)
    else:
        v = np.int64(usd * spu)
    return max(v, np.int64(MIN_PAYMENT))


@nb.njit(cache=True)
def tx_feerate(rng, med):
    """A wallet's fee rate (sat/vB) around the block's median."""
    return max(1.0, med * np.exp(P.FEERATE_TX_SIGMA * rng.normal()))

"""Round payment: when exactly one output is not a round number of bitcoin, it is the change.

People pay round amounts (a power-of-ten multiple of sats: >= 4 trailing zeros,
i.e. 0.0001 BTC steps); change is whatever is left (Androulaki et al. 2013;
BlockSci ``ChangeType::PowerOfTen``).
"""

import numba as nb
import numpy as np

from chaintrail.analysis.heuristics._common import NONE, eligible

NAME = "round_number"
VERSION = "round_number/1"  # bump when the rule changes (error_rates.json records it)
CONFIDENCE = 0.6
ROUND_ZEROS = 4


@nb.njit(cache=True)
def _zeros(v):
    z = 0
    while v > 0 and v % 10 == 0 and z < 12:
        v //= 10
        z += 1
    return z


@nb.njit(cache=True)
def run(tx_first_out, out_addr, out_value, tx_is_cb, tx_skip, min_zeros, cand):
    for t in range(cand.shape[0]):
        cand[t] = -1
        if not eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
            continue
        hit = -1
        odd = 0
        for j in range(tx_first_out[t], tx_first_out[t + 1]):
            if out_addr[j] == NONE:
                continue
            if _zeros(out_value[j]) < min_zeros:
                hit = j
                odd += 1
        if odd == 1:
            cand[t] = hit


def detect(ctx):
    cand = np.empty(len(ctx.tx_is_cb), np.int64)
    run(ctx.tx_first_out, ctx.out_addr, ctx.out_value, ctx.tx_is_cb, ctx.tx_skip, ROUND_ZEROS, cand)
    return cand

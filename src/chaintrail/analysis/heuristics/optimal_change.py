"""Optimal change: an output smaller than every input is the change.

If the payment were smaller than some input, coin selection would not have
needed that input (Nick 2015, "Data-driven de-anonymization in Bitcoin";
BlockSci ``ChangeType::OptimalChange``). Needs every input value.
"""

import numba as nb
import numpy as np

from chaintrail.analysis.heuristics._common import NONE, eligible

NAME = "optimal_change"
VERSION = "optimal_change/1"  # bump when the rule changes (error_rates.json records it)
CONFIDENCE = 0.7


@nb.njit(cache=True)
def run(in_value, tx_first_in, tx_first_out, out_addr, out_value, tx_is_cb, tx_skip, cand):
    for t in range(cand.shape[0]):
        cand[t] = -1
        if not eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
            continue
        lo = np.int64(1) << 62
        ok = True
        for i in range(tx_first_in[t], tx_first_in[t + 1]):
            if in_value[i] < 0:
                ok = False
                break
            lo = min(lo, in_value[i])
        if not ok:
            continue
        hit = -1
        hits = 0
        for j in range(tx_first_out[t], tx_first_out[t + 1]):
            if out_addr[j] != NONE and out_value[j] < lo:
                hit = j
                hits += 1
        if hits == 1:
            cand[t] = hit


def detect(ctx):
    cand = np.empty(len(ctx.tx_is_cb), np.int64)
    run(ctx.in_value, ctx.tx_first_in, ctx.tx_first_out, ctx.out_addr, ctx.out_value, ctx.tx_is_cb, ctx.tx_skip, cand)
    return cand

"""Peel-chain continuation: in a peel step the output that carries the chain on is the change.

A peel step (<= 2 inputs, 2 outputs, one >= 4x the other) whose larger output
is spent by another peel step: that larger output is the coin moving on.
"""

import numba as nb
import numpy as np

from chaintrail.analysis.heuristics._common import NONE, eligible, tx_of_input

NAME = "peel_continuation"
VERSION = "peel_continuation/1"  # bump when the rule changes (error_rates.json records it)
CONFIDENCE = 0.9
RATIO = 4


@nb.njit(cache=True)
def _peel_shape(t, tx_first_in, tx_first_out, out_value):
    if tx_first_in[t + 1] - tx_first_in[t] > 2 or tx_first_out[t + 1] - tx_first_out[t] != 2:
        return -1
    o = tx_first_out[t]
    a, b = out_value[o], out_value[o + 1]
    if a >= RATIO * b:
        return o
    if b >= RATIO * a:
        return o + 1
    return -1


@nb.njit(cache=True)
def run(tx_first_in, tx_first_out, out_addr, out_value, out_spent, tx_is_cb, tx_skip, cand):
    for t in range(cand.shape[0]):
        cand[t] = -1
        if not eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
            continue
        big = _peel_shape(t, tx_first_in, tx_first_out, out_value)
        if big < 0 or out_spent[big] == NONE:
            continue
        u = tx_of_input(tx_first_in, np.int64(out_spent[big]))
        if _peel_shape(u, tx_first_in, tx_first_out, out_value) >= 0:
            cand[t] = big


def detect(ctx):
    cand = np.empty(len(ctx.tx_is_cb), np.int64)
    run(ctx.tx_first_in, ctx.tx_first_out, ctx.out_addr, ctx.out_value, ctx.out_spent, ctx.tx_is_cb, ctx.tx_skip, cand)
    return cand

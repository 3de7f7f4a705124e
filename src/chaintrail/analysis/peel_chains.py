"""Peel chains as chains: a coin that sheds a small payment at each hop and moves on.

A peel step has at most two inputs and exactly two outputs, one at least
``ratio`` times the other; the step links to the tx spending its larger output
when that tx is a peel step too. Runs of ``min_len`` or more linked steps are
chains; each tx in one gets the chain id (its first tx) and its position.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.analysis._ids import owner_of

NONE = np.uint32(0xFFFFFFFF)
VERSION = "peel-chain/1"  # bump when the rule changes (error_rates.json records it)


@nb.njit(cache=True)
def peel_chains(tx_first_in, tx_first_out, out_value, out_spent, tx_is_cb, ratio, min_len, chain, pos):
    n = tx_first_in.shape[0] - 1
    shape = np.zeros(n, np.bool_)
    nxt = np.full(n, -1, np.int64)
    has_prev = np.zeros(n, np.bool_)
    for t in range(n):
        if tx_is_cb[t]:
            continue
        n_in = tx_first_in[t + 1] - tx_first_in[t]
        o0 = tx_first_out[t]
        if n_in <= 2 and tx_first_out[t + 1] - o0 == 2:
            a, b = out_value[o0], out_value[o0 + 1]
            if a >= ratio * b or b >= ratio * a:
                shape[t] = True
    for t in range(n):
        if not shape[t]:
            continue
        o0 = tx_first_out[t]
        big = o0 if out_value[o0] >= out_value[o0 + 1] else o0 + 1
        s = out_spent[big]
        if s == NONE:
            continue
        u = owner_of(tx_first_in, np.int64(s))
        if shape[u]:
            nxt[t] = u
            has_prev[u] = True
    for t in range(n):
        chain[t] = -1
        pos[t] = -1
    for t in range(n):
        if not shape[t] or has_prev[t]:
            continue
        length = 0
        u = t
        while u >= 0:
            length += 1
            u = nxt[u]
        if length >= min_len:
            u = t
            k = 0
            while u >= 0:
                chain[u] = t
                pos[u] = k
                k += 1
                u = nxt[u]

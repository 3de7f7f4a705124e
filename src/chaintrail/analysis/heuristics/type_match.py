"""Address type: the one output whose script type matches all the inputs' is the change.

Wallets make change of their own type (Meiklejohn et al. 2013; BlockSci
``ChangeType::ClientChangeAddressBehavior``); a payment goes wherever the payee asked.
"""

import numba as nb
import numpy as np

from chaintrail.analysis.heuristics._common import NONE, eligible

NAME = "type_match"
VERSION = "type_match/1"  # bump when the rule changes (error_rates.json records it)
CONFIDENCE = 0.75


@nb.njit(cache=True)
def run(in_type, tx_first_in, tx_first_out, out_addr, out_type, tx_is_cb, tx_skip, cand):
    for t in range(cand.shape[0]):
        cand[t] = -1
        if not eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
            continue
        ty = 255
        same = True
        for i in range(tx_first_in[t], tx_first_in[t + 1]):
            it = in_type[i]
            if it == 255:
                same = False
                break
            it = 2 if it == 1 else it  # P2PK spends behave like P2PKH wallets
            if ty == 255:
                ty = it
            elif ty != it:
                same = False
                break
        if not same or ty == 255:
            continue
        hit = -1
        hits = 0
        for j in range(tx_first_out[t], tx_first_out[t + 1]):
            if out_addr[j] == NONE:
                continue
            ot = 2 if out_type[j] == 1 else out_type[j]
            if ot == ty:
                hit = j
                hits += 1
        if hits == 1:
            cand[t] = hit


def detect(ctx):
    cand = np.empty(len(ctx.tx_is_cb), np.int64)
    run(ctx.in_type, ctx.tx_first_in, ctx.tx_first_out, ctx.out_addr, ctx.out_type, ctx.tx_is_cb, ctx.tx_skip, cand)
    return cand

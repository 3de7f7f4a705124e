"""Address reuse: an output paying one of the tx's own input addresses is the change.

BlockSci's ``ChangeType::AddressReuse`` / GraphSense's self-change rule. Wallets
that do not rotate change addresses send change back to the spending address.
"""

import numba as nb
import numpy as np

from chaintrail.analysis.heuristics._common import NONE, eligible

NAME = "address_reuse"
VERSION = "address_reuse/1"  # bump when the rule changes (error_rates.json records it)
CONFIDENCE = 0.95


@nb.njit(cache=True)
def run(ctx_in_addr, tx_first_in, tx_first_out, out_addr, tx_is_cb, tx_skip, cand):
    for t in range(cand.shape[0]):
        cand[t] = -1
        if not eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
            continue
        hit = -1
        hits = 0
        for j in range(tx_first_out[t], tx_first_out[t + 1]):
            a = out_addr[j]
            if a == NONE:
                continue
            for i in range(tx_first_in[t], tx_first_in[t + 1]):
                if ctx_in_addr[i] == a:
                    hit = j
                    hits += 1
                    break
        if hits == 1:
            cand[t] = hit


def detect(ctx):
    cand = np.empty(len(ctx.tx_is_cb), np.int64)
    run(ctx.in_addr, ctx.tx_first_in, ctx.tx_first_out, ctx.out_addr, ctx.tx_is_cb, ctx.tx_skip, cand)
    return cand

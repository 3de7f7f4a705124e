"""Fresh one-time change: the only output to a never-seen address is the change.

Wallets draw change from fresh addresses while payees have often been paid
before (Meiklejohn et al. 2013's "one-time change"; BlockSci ``ChangeType::Legacy``).
"""

import numba as nb
import numpy as np

from chaintrail.analysis.heuristics._common import NONE, eligible

NAME = "fresh_change"
VERSION = "fresh_change/1"  # bump when the rule changes (error_rates.json records it)
CONFIDENCE = 0.8


@nb.njit(cache=True)
def run(in_addr, tx_first_in, tx_first_out, out_addr, addr_first_tx, tx_is_cb, tx_skip, cand):
    for t in range(cand.shape[0]):
        cand[t] = -1
        if not eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
            continue
        hit = -1
        fresh = 0
        seen = 0
        for j in range(tx_first_out[t], tx_first_out[t + 1]):
            a = out_addr[j]
            if a == NONE:
                continue
            own = False
            for i in range(tx_first_in[t], tx_first_in[t + 1]):
                if in_addr[i] == a:
                    own = True
            if addr_first_tx[a] == t and not own:
                hit = j
                fresh += 1
            else:
                seen += 1
        if fresh == 1 and seen >= 1:
            cand[t] = hit


def detect(ctx):
    cand = np.empty(len(ctx.tx_is_cb), np.int64)
    run(ctx.in_addr, ctx.tx_first_in, ctx.tx_first_out, ctx.out_addr, ctx.addr_first_tx, ctx.tx_is_cb, ctx.tx_skip, cand)
    return cand

"""Small numba helpers shared by the heuristics."""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.analysis._ids import owner_of

NONE = np.uint32(0xFFFFFFFF)


@nb.njit(cache=True, inline="always")
def eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
    """A tx can have a change output: not coinbase, not multi-owner, >= 2 outputs with an address."""
    if tx_is_cb[t] or tx_skip[t]:
        return False
    n = 0
    for j in range(tx_first_out[t], tx_first_out[t + 1]):
        if out_addr[j] != NONE:
            n += 1
    return n >= 2


tx_of_input = owner_of  # the tx holding an input (shared binary search)

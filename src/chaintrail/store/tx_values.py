"""A transaction's value sums over the index columns, where an input whose spent value is unknown holds -1.

Shared by ingest (a tx's fee) and the taint kernel (what a tx takes in and hands on), so both read "unknown"
the same way.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True, inline="always")
def value_sums(in_value, out_value, a0, a1, o0, o1):
    """``(known input total, any input unknown, output total)`` of inputs ``a0:a1`` and outputs ``o0:o1``."""
    vin, unknown = np.int64(0), False
    for i in range(a0, a1):
        v = in_value[i]
        if v < 0:
            unknown = True
        else:
            vin += v
    vout = np.int64(0)
    for j in range(o0, o1):
        vout += out_value[j]
    return vin, unknown, vout

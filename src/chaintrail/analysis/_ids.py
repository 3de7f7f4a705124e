"""Dense-id lookups shared by the analysis kernels."""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, inline="always")
def owner_of(first, i):
    """The tx holding input (or output) ``i``, given its first-id array with a trailing sentinel."""
    lo, hi = 0, first.shape[0] - 2
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if first[mid] <= i:
            lo = mid
        else:
            hi = mid - 1
    return lo

"""``numpy.searchsorted`` over the store's narrow sorted arrays, in O(log n) whatever the query's type.

numpy first casts a sorted array and the values searched to a common dtype. A uint32 array (the
read model's keys, the index's ``tx_first_out``) searched for a Python int or an int64 is therefore
copied whole to int64 on every call: 3.7 ms per lookup on a 1.3M-row array, growing with the chain,
where the search itself takes a microsecond. ``searchsorted`` casts the values to the array's dtype
instead, placing values outside its range at either end as numpy would.
"""

from __future__ import annotations

import numpy as np

_RANGE = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max)) for t in
          (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)}


def searchsorted(arr: np.ndarray, values, side: str = "left"):
    """``np.searchsorted(arr, values, side)`` (an int for a scalar) without converting ``arr``."""
    dt = arr.dtype
    lim = _RANGE.get(dt)
    if lim is None:
        return np.searchsorted(arr, values, side=side)
    if isinstance(values, (int, np.integer)):
        v = int(values)
        if v < lim[0]:
            return 0
        if v > lim[1]:
            return len(arr)
        return int(arr.searchsorted(dt.type(v), side=side))      # the method: numpy's wrapper costs ~1 us
    q = np.asarray(values)
    if q.dtype == dt:
        return arr.searchsorted(q, side=side)
    if q.dtype.kind in "iu" and q.size and lim[0] <= q.min() and q.max() <= lim[1]:
        return arr.searchsorted(q.astype(dt), side=side)     # all in range (the usual case): cast and search
    q = q.astype(np.int64)
    below, above = q < lim[0], q > lim[1]
    got = np.searchsorted(arr, np.clip(q, lim[0], min(lim[1], 2**63 - 1)).astype(dt), side=side)
    if below.any() or above.any():
        got = np.where(below, 0, np.where(above, len(arr), got))
    return got

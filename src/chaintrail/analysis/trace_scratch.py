"""The trace kernel's per-output and per-tx scratch, resident only where traces touched it.

Each array is an anonymous private mapping whose untouched state is all zero bytes (the kernel's
encodings: status 0 = untouched, pred stored + 1), so the kernel asks nothing of a page it has not
written. After a trace the touched entries are zeroed again (cheap: as many stores as the trace made);
once the pages traces have dirtied since the last release could exceed ``budget`` bytes,
``madvise(MADV_DONTNEED)`` hands every page back and the mappings read as zeros again. A long-lived
engine's scratch thus holds at most ``budget`` plus one trace's pages, whatever the chain's length,
and small traces, which re-touch resident pages, never fault.
"""

from __future__ import annotations

import mmap

import numpy as np

PAGE = mmap.PAGESIZE
BUDGET = 64 << 20        # bytes of dirtied scratch pages kept between traces before they are handed back

_PER_OUTPUT = (("taint", np.int64), ("hops", np.int32), ("pred", np.uint32), ("status", np.uint8),
               ("iv_off", np.int64), ("iv_cnt", np.int32))
_INTERVALS = ("iv_off", "iv_cnt")     # written only by FIFO/LIFO traces


def _zeroed(n: int, dtype) -> tuple[mmap.mmap | None, np.ndarray]:
    """``n`` zeros in an anonymous private mapping (no page resident until written)."""
    size = n * np.dtype(dtype).itemsize
    if size == 0:
        return None, np.zeros(0, dtype)
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return m, np.frombuffer(m, dtype, n)


def _pages(sorted_ids: np.ndarray, itemsize: int) -> int:
    """Distinct pages of an array of ``itemsize`` holding the (sorted) entries ``sorted_ids``."""
    if not len(sorted_ids):
        return 0
    p = (sorted_ids * itemsize) // PAGE
    return int(np.count_nonzero(p[1:] != p[:-1])) + 1


class Scratch:
    """Per-output arrays ``taint hops pred status iv_off iv_cnt`` and the queue bitmaps ``qbits0 qbits1``."""

    def __init__(self, n_out: int, n_tx: int, budget: int = BUDGET):
        self.budget = budget
        self.dirty = 0                   # bytes of pages possibly written since the last release
        self.releases = 0
        self._maps: list[mmap.mmap] = []
        for name, dt in _PER_OUTPUT:
            setattr(self, name, self._array(n_out, dt))
        self.qbits0 = self._array(n_tx // 64 + 2, np.uint64)          # a bit per tx
        self.qbits1 = self._array(len(self.qbits0) // 64 + 2, np.uint64)   # a bit per word of those
        self.size = sum(len(m) for m in self._maps)     # no more can be resident: a small chain never releases

    def _array(self, n: int, dtype) -> np.ndarray:
        m, a = _zeroed(n, dtype)
        if m is not None:
            self._maps.append(m)
        return a

    def clean(self, touched: np.ndarray, popped: np.ndarray, intervals: bool) -> None:
        """Zero what a trace wrote: ``touched`` outputs (the queue bits are zero after every trace), or
        hand every page back once the dirtied pages could pass the budget."""
        t = np.sort(touched)
        d = _pages(t, 8) + _pages(t, 4) * 2 + _pages(t, 1) + _pages(np.sort(popped) >> 6, 8) * 2
        if intervals:
            d += _pages(t, 8) + _pages(t, 4)
        self.dirty = min(self.dirty + d * PAGE, self.size)    # (pages dirtied again count again)
        if self.dirty > self.budget:
            self.release()
            return
        self.taint[touched] = 0
        self.hops[touched] = 0
        self.pred[touched] = 0
        self.status[touched] = 0
        if intervals:
            self.iv_off[touched] = 0
            self.iv_cnt[touched] = 0

    def release(self) -> None:
        """Give every page back to the OS (they read as zeros again)."""
        for m in self._maps:
            m.madvise(mmap.MADV_DONTNEED)
        self.dirty = 0
        self.releases += 1

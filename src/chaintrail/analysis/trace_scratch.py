"""The trace kernel's per-output and per-tx scratch, resident only where traces touched it.

Each array is an anonymous private mapping whose untouched state is all zero bytes (the kernel's
encodings: status 0 = untouched, pred stored + 1), so the kernel asks nothing of a page it has not
written. After a trace the touched entries are zeroed again (cheap: as many stores as the trace made);
once the pages traces have dirtied since the last release could exceed ``budget`` bytes,
``madvise(MADV_DONTNEED)`` hands every page back and the mappings read as zeros again. A long-lived
engine's scratch thus holds at most ``budget`` plus one trace's pages, whatever the chain's length,
and small traces, which re-touch resident pages, never fault.

Scratch of at most ``huge_max`` bytes in all (chains up to ~35M outputs) is kept in huge pages instead and
never handed back: 4 KiB pages cost a TLB miss per scattered access, measured 1.25-1.55x the kernel time
of 3- to 10-hop traces on a 1M-tx chain, and with huge pages as fast as numpy's own arrays (which get
them too). Resident scratch is thus at most ``max(huge_max, budget + one trace)``, whatever the chain.
"""

from __future__ import annotations

import mmap

import numba as nb
import numpy as np

PAGE = mmap.PAGESIZE
BUDGET = 64 << 20        # bytes of dirtied scratch pages kept between traces before they are handed back
HUGE_MAX = 1 << 30       # scratch up to this size in all: huge pages, kept (see above)

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


SMALL = 64              # a trace touching at most this many outputs is counted a page per entry (no sort)


@nb.njit(cache=True)
def _dirty_pages(touched, popped, intervals, page):
    """Distinct scratch pages a trace wrote: taint (8 B), hops and pred (4 B), status (1 B) per touched output,
    FIFO/LIFO's intervals (8 + 4 B), and the queue bits (2 words: a bit per tx, a bit per word)."""
    t = np.sort(touched)
    p8 = p4 = p1 = 0
    l8 = l4 = l1 = -1
    for k in range(t.shape[0]):
        o = t[k]
        if o * 8 // page != l8:
            l8 = o * 8 // page
            p8 += 1
        if o * 4 // page != l4:
            l4 = o * 4 // page
            p4 += 1
        if o // page != l1:
            l1 = o // page
            p1 += 1
    q = np.sort(popped)
    pq, lq = 0, -1
    for k in range(q.shape[0]):
        w = q[k] // 8 // page               # the byte of the tx's bit, its page
        if w != lq:
            lq = w
            pq += 1
    d = p8 + 2 * p4 + p1 + 2 * pq
    if intervals:
        d += p8 + p4
    return d


class Scratch:
    """Per-output arrays ``taint hops pred status iv_off iv_cnt`` and the queue bitmaps ``qbits0 qbits1``."""

    def __init__(self, n_out: int, n_tx: int, budget: int = BUDGET, huge_max: int = HUGE_MAX):
        self.budget = budget
        self.dirty = 0                   # bytes of pages possibly written since the last release
        self.releases = 0
        self._maps: list[mmap.mmap] = []
        for name, dt in _PER_OUTPUT:
            setattr(self, name, self._array(n_out, dt))
        self.qbits0 = self._array(n_tx // 64 + 2, np.uint64)          # a bit per tx
        self.qbits1 = self._array(len(self.qbits0) // 64 + 2, np.uint64)   # a bit per word of those
        self.size = sum(len(m) for m in self._maps)     # no more can be resident: a small chain never releases
        self.huge = self.size <= huge_max and hasattr(mmap, "MADV_HUGEPAGE")
        if self.huge:
            # Small enough to keep whole: huge pages (fewer TLB misses per edge), never handed back. Not
            # on a larger chain, where only touched pages should be resident (a write faults in 2 MiB).
            self.budget = max(budget, self.size)
            for m in self._maps:
                m.madvise(mmap.MADV_HUGEPAGE)

    def _array(self, n: int, dtype) -> np.ndarray:
        m, a = _zeroed(n, dtype)
        if m is not None:
            self._maps.append(m)
        return a

    def clean(self, touched: np.ndarray, popped: np.ndarray, intervals: bool) -> None:
        """Zero what a trace wrote: ``touched`` outputs (the queue bits are zero after every trace), or
        hand every page back once the dirtied pages could pass the budget."""
        n = len(touched)
        if n <= SMALL:                   # a page per entry and array: an upper bound, without a sort
            d = n * (6 if intervals else 4) + 2 * len(popped)
        else:
            d = _dirty_pages(touched, popped, intervals, PAGE)
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

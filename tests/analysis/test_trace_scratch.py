"""analysis/trace_scratch: the kernel's scratch is resident only where written, and handed back past a budget."""

from __future__ import annotations

import numpy as np

from chaintrail.analysis.trace_scratch import PAGE, Scratch


def _anon_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon")


def test_untouched_scratch_is_not_resident_and_released_pages_read_zero():
    warm = Scratch(1 << 12, 1 << 8)                 # load the page counter (numba) before measuring
    warm.clean(np.arange(1 << 10, dtype=np.int64), np.arange(8, dtype=np.int64), intervals=False)
    n = 8 << 20                                  # 8M outputs: 64 MiB of taint alone
    before = _anon_kb()
    sc = Scratch(n, n // 4, budget=32 << 20, huge_max=0)
    assert _anon_kb() - before < 4096            # nothing faulted in by building it
    touched = np.arange(0, n, PAGE // 8, dtype=np.int64)   # one entry per page of taint: 2048 pages
    sc.taint[touched] = 7
    sc.status[touched] = 1
    assert _anon_kb() - before > 60 << 10        # 64 MiB of taint pages now resident
    sc.clean(touched[:10], np.zeros(0, np.int64), intervals=False)     # a small trace: zeroed in place
    assert sc.releases == 0 and not sc.taint[touched[:10]].any() and sc.taint[touched[10]] == 7
    sc.clean(touched, np.zeros(0, np.int64), intervals=False)          # 2048 pages > 32 MiB: handed back
    assert sc.releases == 1 and sc.dirty == 0
    assert _anon_kb() - before < 8 << 10
    assert not sc.taint.any() and not sc.status.any()


def test_scratch_smaller_than_the_budget_is_never_released():
    sc = Scratch(1 << 16, 1 << 10)                  # ~2 MiB in all, budget 64 MiB
    for k in range(200):
        o = np.arange(k % 7, 1 << 16, 97, dtype=np.int64)    # every page, every time
        sc.taint[o] = 1
        sc.clean(o, np.arange(1 << 10, dtype=np.int64), intervals=True)
    assert sc.releases == 0 and sc.dirty <= sc.size and not sc.taint.any()


def test_small_traces_keep_their_pages_until_the_budget_is_passed():
    sc = Scratch(1 << 16, 1 << 10, budget=64 * PAGE, huge_max=0)
    for k in range(40):
        o = np.array([k * 512], np.int64)          # a page of taint each; hops/pred/status share pages
        sc.taint[o] = 1
        sc.clean(o, np.array([k], np.int64), intervals=False)
    assert sc.releases >= 1 and sc.dirty <= 64 * PAGE
    assert not sc.taint.any()

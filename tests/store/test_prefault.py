"""Prefaulting an array from a helper thread keeps its contents and leaves no page to fault in later."""

import resource

import numpy as np

from chaintrail.store.prefault import prefault, prefault_async


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def test_contents_are_kept_and_later_writes_fault_nothing():
    a = np.zeros(16 << 20, np.uint8)           # fresh pages, none touched yet
    a[::4096] = 7                               # ... but for these: prefaulting must not clear them
    a[:] = 0
    b = np.zeros(16 << 20, np.uint8)
    b[123_457] = 5
    done = prefault(b)
    assert b[123_457] == 5 and int(b.sum()) == 5
    if done == 0:                               # a kernel before 5.14: nothing to check beyond the contents
        return
    assert done >= b.nbytes - 2 * 4096
    before = _faults()
    b[::4096] = 1                               # one write per page
    assert _faults() - before < 4               # (cold, 16 MB faults 8 times in huge pages, 4096 in small ones)


def test_async_prefault_runs_beside_writes():
    t = np.zeros(1 << 22, np.int64)
    thread = prefault_async([t])
    idx = np.random.default_rng(1).integers(0, len(t), 10_000)
    t[idx] = np.arange(1, 10_001)
    thread.join()
    got = np.zeros(len(t), np.int64)
    got[idx] = np.arange(1, 10_001)
    assert np.array_equal(t, got)

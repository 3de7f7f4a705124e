"""Fault a fresh array's pages in from a helper thread, so that their zeroing runs beside the work that fills it.

A writer's hash tables are reserved whole at an ingest's first slice (768 MB on the 10M-tx chain) and, their
slots being random, that slice's few thousand inserts touch nearly every page: the mapping thread then spent
~2.5 s zeroing pages (a fault per 2 MB huge page, slow on a VM) while the parse thread waited on it and the commit
thread had nothing yet. A thread that asks the kernel to fault the pages in (madvise MADV_POPULATE_WRITE, Linux
5.14+; it allocates the pages without writing to them, so it is safe beside the thread filling the table) shares
that zeroing with the idle core.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

MADV_POPULATE_WRITE = 23     # linux/mman.h
_PAGE = 4096
_CHUNK = 64 << 20


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


_LIBC = _libc()


def prefault(arr: np.ndarray) -> int:
    """Fault in the whole pages of ``arr`` (its contents unchanged); the bytes done, 0 where unsupported."""
    if _LIBC is None or arr.nbytes < 2 * _PAGE:
        return 0
    lo = -(-arr.ctypes.data // _PAGE) * _PAGE          # whole pages inside the array only
    hi = (arr.ctypes.data + arr.nbytes) // _PAGE * _PAGE
    done = 0
    for at in range(lo, hi, _CHUNK):
        n = min(_CHUNK, hi - at)
        if _LIBC.madvise(at, n, MADV_POPULATE_WRITE) != 0:
            break                                      # EINVAL: a kernel before 5.14
        done += n
    return done


def prefault_async(arrays: list[np.ndarray]) -> threading.Thread:
    """``prefault`` each array in a daemon thread (which holds them until it is done)."""
    thread = threading.Thread(target=lambda: [prefault(a) for a in arrays], name="chaintrail-prefault", daemon=True)
    thread.start()
    return thread

"""Address strings through the read model: addr_num -> string and string -> addr_num, O(log n) each.

Each run of the read model holds its addresses' strings (``addr_blob`` cut by ``addr_off``) and their
order by string (``addr_sort``); a lookup is a binary search per run. Shared by the workbench's ChainView
and the trace engine's ModelLookups, so both read the same mapped files the same way.
"""

from __future__ import annotations

import bisect

import numba as nb
import numpy as np

from chaintrail.chains.address_case import normalize_address
from chaintrail.store.readmodel import ReadModel
from chaintrail.store.readmodel_runs import ADDR_WIDTH

LOOKUP_BATCH = 2048      # strings searched at once by nums_exact (~2 MB of scratch each)


def lower_bound(n: int, key: bytes, at) -> int:
    """First i in [0, n) with at(i) >= key (``at(i)`` ascending)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if at(mid) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(cache=True)
def lower_bound_name(order, off, blob, a0, key) -> int:
    """First i with the string of ``order[i]`` >= ``key`` (bytes order), ``order`` holding addr_nums from ``a0``
    sorted by string: ``lower_bound`` compiled, one call instead of a Python call per step (~100 us a lookup)."""
    lo, hi = 0, len(order)
    while lo < hi:
        mid = (lo + hi) >> 1
        j = np.int64(order[mid]) - a0
        s, e = off[j], off[j + 1]
        n = min(e - s, len(key))
        less = e - s < len(key)          # a proper prefix sorts first
        for k in range(n):
            if blob[s + k] != key[k]:
                less = blob[s + k] < key[k]
                break
        if less:
            lo = mid + 1
        else:
            hi = mid
    return lo


class ModelAddresses:
    """The read model's address strings (mapped; nothing O(chain) copied)."""

    def __init__(self, model: ReadModel):
        self._runs = [a for _, a in model.runs]
        self._a0_list = [int(m["a"][0]) for m, _ in model.runs]   # each run's first addr_num

    def name_bytes(self, a: int) -> bytes:
        """The string of addr_num ``a`` (b"" for an address with none)."""
        k = bisect.bisect_right(self._a0_list, a) - 1
        return self._local_name(self._runs[k], a - self._a0_list[k])

    @staticmethod
    def _local_name(run: dict, i: int) -> bytes:
        off = run["addr_off"]
        return run["addr_blob"][int(off[i]):int(off[i + 1])].tobytes()

    def names(self, nums) -> list[str | None]:
        """The string of each addr_num (None for -1, an output with no address, or an empty string)."""
        return [self.name_bytes(a).decode("utf-8", "replace") or None if a >= 0 else None
                for a in np.asarray(nums, np.int64).tolist()]

    def _lower(self, k: int, key: bytes) -> tuple[int, callable]:
        """Where ``key`` would sort among run ``k``'s strings, and the string at each sorted position."""
        run, a0 = self._runs[k], self._a0_list[k]
        order = run["addr_sort"]
        at = lambda i: self._local_name(run, int(order[i]) - a0)  # noqa: E731
        lo = lower_bound_name(np.asarray(order), np.asarray(run["addr_off"]), np.asarray(run["addr_blob"]), a0,
                              np.frombuffer(key, np.uint8))
        return int(lo), at

    def num(self, address: str) -> int | None:
        """The addr_num of an exact address string (bech32 in either case), or None."""
        for cand in dict.fromkeys((address, address.lower())):
            key = cand.encode("utf-8", "replace")
            if not key or len(key) > ADDR_WIDTH:
                continue
            for k, run in enumerate(self._runs):
                i, at = self._lower(k, key)
                if i < len(run["addr_sort"]) and at(i) == key:
                    return int(run["addr_sort"][i])
        return None

    def nums(self, addresses) -> np.ndarray:
        """addr_nums of many address strings (-1 where absent): as given, then in their one spelling for the
        misses that have another (bech32 in any case)."""
        names = ["" if x is None else str(x) for x in addresses]
        out = self.nums_exact([x.encode("utf-8", "replace") for x in names])
        miss = [i for i in np.flatnonzero(out < 0).tolist() if normalize_address(names[i]) != names[i]]
        if miss:
            out[miss] = self.nums_exact([normalize_address(names[i]).encode("utf-8", "replace") for i in miss])
        return out

    def with_prefix(self, prefix: str, limit: int) -> list[int]:
        """addr_nums whose address starts with ``prefix`` (sorted by address), at most ``limit``."""
        key = prefix.encode("utf-8", "replace")
        if not key or len(key) > ADDR_WIDTH:
            return []
        hits: list[tuple[bytes, int]] = []
        for k, run in enumerate(self._runs):
            lo, at = self._lower(k, key)
            for i in range(lo, min(lo + limit, len(run["addr_sort"]))):
                s = at(i)
                if not s.startswith(key):
                    break
                hits.append((s, int(run["addr_sort"][i])))
        return [a for _, a in sorted(hits)[:limit]]

    def _rows(self, run: dict, local: np.ndarray) -> np.ndarray:
        """The run's address strings ``local`` (run-relative) as zero-padded rows of ADDR_WIDTH bytes."""
        off, blob = run["addr_off"], run["addr_blob"]
        start = np.asarray(off[local], np.int64)
        length = np.minimum(np.asarray(off[local + 1], np.int64) - start, ADDR_WIDTH)
        col = np.arange(ADDR_WIDTH)
        inside = col[None, :] < length[:, None]
        if not len(blob):
            return np.zeros((len(local), ADDR_WIDTH), np.uint8)
        pos = np.where(inside, start[:, None] + col[None, :], 0)
        return np.where(inside, np.asarray(blob[pos.ravel()]).reshape(pos.shape), 0).astype(np.uint8)

    def nums_exact(self, keys: list[bytes]) -> np.ndarray:
        """addr_nums of many exact address strings (bytes) at once, -1 where absent: one binary search per
        run, vectorised over the strings, so O(k log n) for k strings and nothing O(chain)."""
        if len(keys) > LOOKUP_BATCH:       # the search holds keys x ADDR_WIDTH int64 scratch: bounded batches
            return np.concatenate([self.nums_exact(keys[i:i + LOOKUP_BATCH])
                                   for i in range(0, len(keys), LOOKUP_BATCH)])
        k = len(keys)
        out = np.full(k, -1, np.int64)
        ok = np.array([0 < len(b) <= ADDR_WIDTH for b in keys], np.bool_)
        if not ok.any():
            return out
        want = np.frombuffer(b"".join(b.ljust(ADDR_WIDTH, b"\0") if 0 < len(b) <= ADDR_WIDTH else bytes(ADDR_WIDTH)
                                      for b in keys), np.uint8).reshape(k, ADDR_WIDTH)
        lens = np.array([len(b) for b in keys], np.int64)
        for run, a0 in zip(self._runs, self._a0_list):
            order = run["addr_sort"]
            m = len(order)
            todo = np.flatnonzero(ok & (out < 0))
            if not m or not len(todo):
                continue
            lo, hi = np.zeros(len(todo), np.int64), np.full(len(todo), m, np.int64)
            while True:     # lower bound of each key among the run's strings (zero padding keeps byte order)
                act = np.flatnonzero(lo < hi)
                if not len(act):
                    break
                mid = (lo[act] + hi[act]) // 2
                got = self._rows(run, np.asarray(order[mid], np.int64) - a0)
                w = want[todo[act]]
                diff = got != w
                first = diff.argmax(axis=1)
                less = diff.any(axis=1) & (got[np.arange(len(act)), first] < w[np.arange(len(act)), first])
                lo[act] = np.where(less, mid + 1, lo[act])
                hi[act] = np.where(less, hi[act], mid)
            inr = lo < m
            cand = np.asarray(order[np.minimum(lo, m - 1)], np.int64)
            off = run["addr_off"]
            same = inr & (np.asarray(off[cand - a0 + 1], np.int64) - np.asarray(off[cand - a0], np.int64) == lens[todo])
            same &= (self._rows(run, cand - a0) == want[todo]).all(axis=1)
            out[todo[same]] = cand[same]
        return out

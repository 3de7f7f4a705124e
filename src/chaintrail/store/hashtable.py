"""Open-addressing hash tables over fixed-width byte keys (txids, address keys).

The keys live in a dense (n, width) uint8 array indexed by their dense id; the
table only stores ids (below 2**32, as everywhere in the store) beside a tag of
their hash. It is derived data: rebuilt from the keys on open, so it
is never persisted and can never disagree with the store. Inserting in id order
into a table whose capacity depends only on the key count makes the layout a
pure function of the keys.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.store.prefetch import prefetch

EMPTY = -1                        # a query without an id
_FREE = np.int64(0)               # a free slot: the table starts as zeros, whose pages are mapped as they are used
_USED = np.int64(-(1 << 63))      # set in every entry, so that no entry is zero
_AHEAD = 16   # queries whose table slot is prefetched ahead of the probe
_RING = 64    # hashes of the queries in flight (a power of two above 2 * _AHEAD)


def capacity_for(n: int) -> int:
    """Smallest power of two keeping the load factor at or below one half."""
    cap = 1024
    while cap < 2 * n:
        cap *= 2
    return cap


_MUL = np.uint64(0x9E3779B97F4A7C15)
_LOW = np.int64(0xFFFFFFFF)


@nb.njit(cache=True, inline="always")
def _word(keys, row, at):
    w = np.uint64(0)
    for k in range(8):
        w |= np.uint64(keys[row, at + k]) << np.uint64(8 * k)
    return w


@nb.njit(cache=True, inline="always")
def _hash(keys, row):
    # Keys are hashes or hash-derived payloads, so 16 of their bytes are already uniform: skip an odd
    # width's leading kind byte (address keys), mix the kind in, and fold two words together.
    off = keys.shape[1] & 1
    h = _word(keys, row, off) * _MUL
    if keys.shape[1] >= off + 16:
        h ^= _word(keys, row, off + 8)
    if off:
        h ^= np.uint64(keys[row, 0]) * np.uint64(0xBF58476D1CE4E5B9)
    h *= _MUL
    return h ^ (h >> np.uint64(29))


@nb.njit(cache=True, inline="always")
def _entry(h, i):
    """A table slot: the hash's top 31 bits as a tag beside the id, so most mismatches skip the key row."""
    return _USED | (np.int64(h >> np.uint64(33)) << np.int64(32)) | np.int64(i)


@nb.njit(cache=True, inline="always")
def _equal(a, ra, b, rb):
    # Eight bytes at a time (the byte-wise ``_word`` compiles to one load), then the odd tail.
    w = a.shape[1]
    for k in range(0, w - 7, 8):
        if _word(a, ra, k) != _word(b, rb, k):
            return False
    for k in range(w - w % 8, w):
        if a[ra, k] != b[rb, k]:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def insert_range(table, keys, start, stop):
    """Insert ids start..stop-1; a later id with an equal key replaces the earlier one."""
    mask = np.uint64(table.shape[0] - 1)
    for i in range(start, stop):
        if i + _AHEAD < stop:
            prefetch(table, _hash(keys, i + _AHEAD) & mask)
        h = _hash(keys, i)
        e = _entry(h, i)
        s = h & mask
        while True:
            cur = table[s]
            if cur == _FREE:
                table[s] = e
                break
            if (cur >> 32) == (e >> 32) and _equal(keys, cur & _LOW, keys, i):
                table[s] = e
                break
            s = (s + np.uint64(1)) & mask


@nb.njit(cache=True, inline="always")
def _ahead(table, flat, width, queries, ring, mask, j, nq):
    """Two-stage prefetch for query ``j``'s successors: the slot of query j + 2*_AHEAD (its hash kept in
    ``ring``), and the key row that query j + _AHEAD's slot names (the slot is in cache by then), so a hit's
    key comparison does not wait on memory either."""
    if j + 2 * _AHEAD < nq:
        h = _hash(queries, j + 2 * _AHEAD)
        ring[(j + 2 * _AHEAD) & (_RING - 1)] = h
        prefetch(table, h & mask)
    if j + _AHEAD < nq:
        cur = table[ring[(j + _AHEAD) & (_RING - 1)] & mask]
        if cur != _FREE:
            prefetch(flat, (cur & _LOW) * width)


@nb.njit(cache=True, nogil=True)
def lookup(table, keys, queries, out):
    """out[j] = id of queries[j] in keys, or -1."""
    mask = np.uint64(table.shape[0] - 1)
    nq = queries.shape[0]
    ring = np.empty(_RING, np.uint64)
    flat = keys.reshape(-1)
    for j in range(min(nq, 2 * _AHEAD)):
        ring[j & (_RING - 1)] = _hash(queries, j)
    for j in range(nq):
        _ahead(table, flat, keys.shape[1], queries, ring, mask, j, nq)
        h = ring[j & (_RING - 1)]
        tag = _entry(h, 0) >> 32
        s = h & mask
        out[j] = EMPTY
        while True:
            cur = table[s]
            if cur == _FREE:
                break
            if (cur >> 32) == tag and _equal(keys, cur & _LOW, queries, j):
                out[j] = cur & _LOW
                break
            s = (s + np.uint64(1)) & mask


@nb.njit(cache=True, nogil=True)
def intern(table, keys, n, queries, valid, out):
    """Map each valid query row to an id, appending unseen keys at keys[n:].

    Returns the new key count. ``keys`` must have room for every query.
    """
    mask = np.uint64(table.shape[0] - 1)
    nq = queries.shape[0]
    ring = np.empty(_RING, np.uint64)
    flat = keys.reshape(-1)
    for j in range(min(nq, 2 * _AHEAD)):
        ring[j & (_RING - 1)] = _hash(queries, j)
    for j in range(nq):
        _ahead(table, flat, keys.shape[1], queries, ring, mask, j, nq)
        if not valid[j]:
            out[j] = EMPTY
            continue
        h = ring[j & (_RING - 1)]
        tag = _entry(h, 0) >> 32
        s = h & mask
        while True:
            cur = table[s]
            if cur == _FREE:
                for k in range(keys.shape[1]):   # (a slice assignment cost ~26 ns a row)
                    keys[n, k] = queries[j, k]
                table[s] = _entry(h, n)
                out[j] = n
                n += 1
                break
            if (cur >> 32) == tag and _equal(keys, cur & _LOW, queries, j):
                out[j] = cur & _LOW
                break
            s = (s + np.uint64(1)) & mask
    return n


class KeyTable:
    """Dense keys plus the hash table over them, growing by doubling."""

    def __init__(self, width: int, keys: np.ndarray | None = None):
        if width < 8:
            raise ValueError("keys must be at least 8 bytes wide")
        self.width = width
        n = 0 if keys is None else int(keys.shape[0])
        self._keys = np.zeros((max(1024, 2 * n), width), np.uint8)
        if n:
            self._keys[:n] = keys
        self.n = n
        self._table = np.zeros(capacity_for(n), np.int64)
        insert_range(self._table, self._keys, 0, n)

    @property
    def keys(self) -> np.ndarray:
        return self._keys[: self.n]

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > self._keys.shape[0]:
            grown = np.zeros((max(need, 2 * self._keys.shape[0]), self.width), np.uint8)
            grown[: self.n] = self._keys[: self.n]
            self._keys = grown
        if capacity_for(need) > self._table.shape[0]:
            self._table = np.zeros(capacity_for(need), np.int64)
            insert_range(self._table, self._keys, 0, self.n)

    def reserve(self, n: int) -> None:
        """Make room for ``n`` keys in all, so that reaching them rehashes nothing (a pre-sized ingest)."""
        self._reserve(max(0, n - self.n))

    def append(self, rows: np.ndarray) -> None:
        """Add keys with ids n.. (duplicates allowed: lookups then find the newest)."""
        self._reserve(rows.shape[0])
        start = self.n
        self._keys[start:start + rows.shape[0]] = rows
        self.n += rows.shape[0]
        insert_range(self._table, self._keys, start, self.n)

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        out = np.empty(queries.shape[0], np.int64)
        lookup(self._table, self._keys, np.ascontiguousarray(queries), out)
        return out

    def intern(self, queries: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Ids for each valid query, appending the unseen ones in query order."""
        self._reserve(queries.shape[0])
        out = np.empty(queries.shape[0], np.int64)
        self.n = intern(self._table, self._keys, self.n, np.ascontiguousarray(queries), valid, out)
        return out

    def truncate(self, n: int) -> None:
        """Forget ids >= n (a chain rollback) and rebuild the table."""
        self.n = n
        self._table = np.zeros(capacity_for(n), np.int64)
        insert_range(self._table, self._keys, 0, n)


@nb.njit(cache=True)
def scan_keys(words, queries):
    """Row of the last key equal to each query (keys and queries as uint64 words), or -1: one linear
    pass for all queries, for the few lookups that do not pay for building a table (same answers
    as a table: last wins). A 64K-bit filter on the first word leaves almost every row at one load."""
    k, m = queries.shape[0], words.shape[1]
    out = np.full(k, -1, np.int64)
    if k == 0:
        return out
    order = np.argsort(queries[:, 0])
    q0 = queries[order, 0].copy()
    maybe = np.zeros(1 << 16, np.bool_)
    for j in range(k):
        maybe[q0[j] & np.uint64(0xFFFF)] = True
    for i in range(words.shape[0]):
        w = words[i, 0]
        if not maybe[w & np.uint64(0xFFFF)]:
            continue
        j = np.searchsorted(q0, w)
        while j < k and q0[j] == w:
            qi = order[j]
            same = True
            for c in range(1, m):
                if words[i, c] != queries[qi, c]:
                    same = False
                    break
            if same:
                out[qi] = i
            j += 1
    return out

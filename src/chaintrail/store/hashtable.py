"""Open-addressing hash tables over fixed-width byte keys (txids, address keys).

The keys live in a dense (n, width) uint8 array indexed by their dense id; the
table only stores ids. It is derived data: rebuilt from the keys on open, so it
is never persisted and can never disagree with the store. Inserting in id order
into a table whose capacity depends only on the key count makes the layout a
pure function of the keys.
"""

from __future__ import annotations

import numba as nb
import numpy as np

EMPTY = -1


def capacity_for(n: int) -> int:
    """Smallest power of two keeping the load factor at or below one half."""
    cap = 1024
    while cap < 2 * n:
        cap *= 2
    return cap


@nb.njit(cache=True, inline="always")
def _hash(keys, row):
    # Keys are hashes or hash-derived payloads, so their leading bytes are already
    # uniform; FNV-style folding of 16 bytes just mixes in a kind byte when present.
    h = np.uint64(0xCBF29CE484222325)
    for k in range(min(keys.shape[1], 16)):
        h = (h ^ np.uint64(keys[row, k])) * np.uint64(0x100000001B3)
    return h


@nb.njit(cache=True, inline="always")
def _equal(a, ra, b, rb):
    for k in range(a.shape[1]):
        if a[ra, k] != b[rb, k]:
            return False
    return True


@nb.njit(cache=True)
def insert_range(table, keys, start, stop):
    """Insert ids start..stop-1; a later id with an equal key replaces the earlier one."""
    mask = np.uint64(table.shape[0] - 1)
    for i in range(start, stop):
        s = _hash(keys, i) & mask
        while True:
            cur = table[s]
            if cur == EMPTY:
                table[s] = i
                break
            if _equal(keys, cur, keys, i):
                table[s] = i
                break
            s = (s + np.uint64(1)) & mask


@nb.njit(cache=True)
def lookup(table, keys, queries, out):
    """out[j] = id of queries[j] in keys, or -1."""
    mask = np.uint64(table.shape[0] - 1)
    for j in range(queries.shape[0]):
        s = _hash(queries, j) & mask
        out[j] = EMPTY
        while True:
            cur = table[s]
            if cur == EMPTY:
                break
            if _equal(keys, cur, queries, j):
                out[j] = cur
                break
            s = (s + np.uint64(1)) & mask


@nb.njit(cache=True)
def intern(table, keys, n, queries, valid, out):
    """Map each valid query row to an id, appending unseen keys at keys[n:].

    Returns the new key count. ``keys`` must have room for every query.
    """
    mask = np.uint64(table.shape[0] - 1)
    for j in range(queries.shape[0]):
        if not valid[j]:
            out[j] = EMPTY
            continue
        s = _hash(queries, j) & mask
        while True:
            cur = table[s]
            if cur == EMPTY:
                keys[n, :] = queries[j, :]
                table[s] = n
                out[j] = n
                n += 1
                break
            if _equal(keys, cur, queries, j):
                out[j] = cur
                break
            s = (s + np.uint64(1)) & mask
    return n


class KeyTable:
    """Dense keys plus the hash table over them, growing by doubling."""

    def __init__(self, width: int, keys: np.ndarray | None = None):
        self.width = width
        n = 0 if keys is None else int(keys.shape[0])
        self._keys = np.zeros((max(1024, 2 * n), width), np.uint8)
        if n:
            self._keys[:n] = keys
        self.n = n
        self._table = np.full(capacity_for(n), EMPTY, np.int64)
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
            self._table = np.full(capacity_for(need), EMPTY, np.int64)
            insert_range(self._table, self._keys, 0, self.n)

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
        self._table = np.full(capacity_for(n), EMPTY, np.int64)
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

"""scan_keys (the few-lookups path) answers as the hash table does: last equal key wins, -1 if absent."""

from __future__ import annotations

import numpy as np

from chaintrail.store.hashtable import KeyTable, scan_keys


def test_scan_agrees_with_the_table():
    rng = np.random.default_rng(2)
    keys = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    keys[4000] = keys[17]                        # a repeated key: the later row wins
    keys[100] = keys[200]
    keys[100, 31] ^= 1                           # same first word as row 200, differs at the end
    absent = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    q = np.concatenate([keys[[17, 3, 4999, 200, 100, 3]], absent])
    got = scan_keys(keys.view(np.uint64), q.view(np.uint64))
    assert got.tolist() == KeyTable(32, keys).lookup(q).tolist() == [4000, 3, 4999, 200, 100, 3, -1, -1, -1]
    assert scan_keys(keys.view(np.uint64), q[:0].view(np.uint64)).tolist() == []

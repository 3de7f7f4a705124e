"""The writer's key tables: room reserved ahead (a pre-sized ingest) changes no id and rehashes nothing."""

from __future__ import annotations

import numpy as np

from chaintrail.store.hashtable import KeyTable
from chaintrail.store.writer_state import WriterState


def _chunks(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    keys = rng.integers(0, 256, (n, 33), dtype=np.uint8)
    keys[:, 0] = rng.integers(1, 8, n)
    out = []
    for s in range(0, n, 700):   # each chunk: its new keys and repeats of older ones
        old = keys[rng.integers(0, max(s, 1), 300)] if s else keys[:0]
        out.append(np.concatenate([keys[s:s + 700], old]))
    return out


def test_reserved_table_gives_the_same_ids_without_rehashing():
    chunks = _chunks(np.random.default_rng(7), 9000)
    plain, ahead = KeyTable(33), KeyTable(33)
    ahead.reserve(9000 + 1000)   # (an intern needs room for all its queries, new or not)
    table, keys = ahead._table, ahead._keys
    for q in chunks:
        valid = np.ones(len(q), np.bool_)
        assert plain.intern(q, valid).tolist() == ahead.intern(q, valid).tolist()
    assert plain.n == ahead.n == 9000
    assert ahead._table is table and ahead._keys is keys          # no rehash, no copy
    assert plain._table is not None and len(plain._table) == len(table)
    probe = np.concatenate([chunks[3][:50], np.zeros((5, 33), np.uint8)])
    assert ahead.lookup(probe).tolist() == plain.lookup(probe).tolist()
    assert ahead.lookup(probe)[-5:].tolist() == [-1] * 5


def test_expect_makes_room_for_a_batch_of_blocks(tmp_path):
    s = WriterState(tmp_path, {"blocks": 0, "txs": 0, "inputs": 0, "outputs": 0, "addresses": 0})
    s.expect(40 << 20)
    assert len(s.txids._keys) >= (40 << 20) // 250 and len(s.addrs._keys) >= (40 << 20) // 160
    assert len(s.out_value._a) >= (40 << 20) // 150
    table = s.addrs._table
    keys = np.zeros((1000, 33), np.uint8)
    keys[:, 1:3] = (np.arange(1000) // 4).astype("<u2").view(np.uint8).reshape(1000, 2)   # 250 distinct
    s.addrs.intern(keys, np.ones(1000, np.bool_))
    assert s.addrs._table is table and s.addrs.n == 250
    s.expect(0)
    assert s.addrs._table is table                                 # nothing to add: nothing moves



def test_keys_differing_in_any_one_byte_are_told_apart():
    # A probe whose slot's tag matches compares whole keys (``_equal``, eight bytes at a time then the odd
    # tail): keys that differ in one byte anywhere must not match, and a KeyTable must give each its own id.
    from chaintrail.store import hashtable as H

    for width in (8, 32, 33):
        base = np.arange(1, width + 1, dtype=np.uint8).reshape(1, width)
        keys = np.repeat(base, width + 1, axis=0)
        for k in range(width):
            keys[k + 1, k] ^= 0x80
        assert H._equal(keys, 0, keys.copy(), 0)
        for j in range(1, len(keys)):
            assert not H._equal(keys, 0, keys, j), (width, j)
        kt = KeyTable(width)
        ids = kt.intern(keys, np.ones(len(keys), np.bool_))
        assert ids.tolist() == list(range(len(keys)))
        assert kt.lookup(keys).tolist() == list(range(len(keys)))

"""Watch evaluation on hand-made flows: entities that grow, tag categories, exposure, thresholds, and 10,000
watches answered by array lookups. Plus the refusals of malformed watches."""

from __future__ import annotations

import time

import numpy as np
import pytest

from chaintrail.errors import UsageError
from chaintrail.monitor.entity_state import EntityState
from chaintrail.monitor.evaluate import WatchIndex
from chaintrail.monitor.flows import NO, Flows
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.tags import taxonomy as tx

NAMES = [f"0x{i:040x}" for i in range(20)]


def flows(rows, multi=()) -> Flows:
    """rows: (tx, src, dst, amount); both sides count (the Ethereum shape)."""
    a = np.array(rows, dtype=object).reshape(-1, 4)
    n = len(a)
    return Flows(0, [100], ["0xblock"], np.zeros(n, np.int64), a[:, 0].astype(np.int64), a[:, 1].astype(np.int64),
                 a[:, 2].astype(np.int64), np.full(n, NO, np.int64),
                 np.array([int(x) & ((1 << 64) - 1) for x in a[:, 3]], np.uint64),
                 np.array([int(x) >> 64 for x in a[:, 3]], np.uint64), np.ones(n, np.bool_), np.ones(n, np.bool_),
                 [np.array(m, np.int64) for m in multi])


def watch(i: int, kind: str, target: str, **params) -> dict:
    s = check_spec("eth", kind, target, params)
    return {"id": i, "case_id": 1, "kind": s.kind, "target": s.target, "params": s.params}


def resolve(names):
    return [NAMES.index(n) if n in NAMES else -1 for n in names]


def fired(idx, f, ent):
    return sorted((h.watch["id"], h.tx, h.direction, h.amount) for h in idx.evaluate(f, ent))


def test_address_direction_threshold_and_u128_amounts():
    ent = EntityState(np.arange(20), np.zeros(20, np.uint16), set())
    idx = WatchIndex([watch(1, "address", NAMES[3], direction="out"), watch(2, "address", NAMES[3]),
                      watch(3, "address", NAMES[4], min_amount=10**30)], resolve, ent)
    big = 7 * 10**30                      # needs the high 64 bits
    f = flows([(0, 3, 5, 10), (0, 3, 6, 5), (1, 7, 3, 2), (2, 8, 4, big), (3, 8, 4, 10**29)])
    assert fired(idx, f, ent) == [(1, 0, "out", 15), (2, 0, "out", 15), (2, 1, "in", 2), (3, 2, "in", big)]


def test_entity_watch_follows_a_merge_and_ignores_internal_moves():
    ent = EntityState(np.arange(20), np.zeros(20, np.uint16), set())
    idx = WatchIndex([watch(1, "entity", NAMES[2]), watch(2, "entity", "cluster:9")], resolve, ent)
    assert fired(idx, flows([(0, 5, 6, 1)]), ent) == []
    idx.merged(ent.join([np.array([2, 5]), np.array([9, 12])]))    # 5 joins 2's entity; 12 joins 9's
    f = flows([(1, 5, 6, 4), (2, 6, 5, 3), (3, 2, 5, 9), (4, 12, 1, 8)])
    assert fired(idx, f, ent) == [(1, 1, "out", 4), (1, 2, "in", 3), (1, 3, "out", 9), (2, 4, "out", 8)]
    # 5 -> 2 inside the entity: paid out (out), not received from outside (no 'in')


def test_category_watch_ransomware_into_exchange():
    bits = np.zeros(20, np.uint16)
    bits[1] = tx.BIT["ransomware"]
    bits[10] = tx.BIT["exchange"]
    ent = EntityState(np.arange(20), bits, set())
    ent.join([np.array([1, 2])])                                   # 2 is the ransomware entity's too
    idx = WatchIndex([watch(1, "category", "ransomware", to_category="exchange"),
                      watch(2, "category", "ransomware")], resolve, ent)
    f = flows([(0, 2, 10, 50), (1, 2, 7, 20), (2, 7, 10, 30), (3, 1, 2, 5)])
    assert fired(idx, f, ent) == [(1, 0, "out", 50), (2, 0, "out", 50), (2, 1, "out", 20)]


def test_exposure_threshold_counts_payments_from_the_sanctioned():
    bits = np.zeros(20, np.uint16)
    bits[0] = tx.BIT["sanctioned"]
    ent = EntityState(np.arange(20), bits, set())
    idx = WatchIndex([watch(1, "exposure", NAMES[9], min_amount=100, max_hops=2)], resolve, ent)
    ent.replay(flows([(0, 0, 1, 5), (1, 1, 2, 5), (2, 2, 3, 5)]))  # hops: 1 -> 1, 2 -> 2, 3 -> 3
    assert [int(ent.hops["sanctioned"][i]) for i in (0, 1, 2, 3, 4)] == [0, 1, 2, 3, 255]
    f = flows([(5, 2, 9, 100), (6, 3, 9, 500), (7, 1, 9, 99), (8, 4, 9, 1000)])
    hits = idx.evaluate(f, ent)
    assert [(h.tx, h.amount) for h in hits] == [(5, 100)]          # 3 is too far, 99 too small, 4 not exposed
    assert "2 payments away" in hits[0].reason


def test_ten_thousand_watches_cost_array_lookups():
    n = 60_000
    ent = EntityState(np.arange(n), np.zeros(n, np.uint16), set())
    rng = np.random.default_rng(5)
    targets = rng.choice(n, 10_000, replace=False)
    ws = [{"id": i, "case_id": 1, "kind": "address", "target": f"a{t}", "params": {"direction": "any",
                                                                                   "min_amount": "0"}}
          for i, t in enumerate(targets.tolist())]
    idx = WatchIndex(ws, lambda names: [int(x[1:]) for x in names], ent)
    src, dst = rng.integers(0, n, 20_000), rng.integers(0, n, 20_000)
    f = flows(np.column_stack([np.arange(20_000), src, dst, np.ones(20_000, np.int64)]).tolist())
    t0 = time.perf_counter()
    hits = idx.evaluate(f, ent)
    took = time.perf_counter() - t0
    watched = set(targets.tolist())
    want = sum(int(s in watched) + int(d in watched) for s, d in zip(src.tolist(), dst.tolist()))
    assert len(hits) == want
    assert took < 5.0, took         # generous: a per-watch loop over 20,000 flows would take minutes


@pytest.mark.parametrize("args, why", [
    (("eth", "address", "0x12"), "is not an Ethereum address"),
    (("btc", "address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyU"), "invalid mainnet address"),
    (("eth", "category", "ransom"), "is not a screening category"),
    (("eth", "address", "0x" + "1" * 40, {"max_hops": 3}), "takes direction, min_amount"),
    (("eth", "address", "0x" + "1" * 40, {"min_amount": "-5"}), "whole number"),
    (("eth", "address", "0x" + "1" * 40, {"direction": "sideways"}), "direction must be"),
    (("eth", "exposure", "0x" + "1" * 40, {"max_hops": 0}), "max_hops must be between"),
    (("doge", "address", "D"), "chain must be"),
    (("eth", "colour", "x"), "kind must be"),
    (("eth", "address", "0x" + "1" * 40, {}, {"webhook": "ftp://x"}), "not an http(s) URL"),
    (("eth", "address", "0x" + "1" * 40, {}, {"email": ["nobody"]}), "is not an address"),
])
def test_malformed_watch_is_refused_with_the_reason(args, why):
    with pytest.raises(UsageError, match="watch refused") as e:
        check_spec(*args)
    assert why in str(e.value)

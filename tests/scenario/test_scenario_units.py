"""Small pieces of the generator: exact haircut allocation, the fast merkle root, amounts, denominations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.chains.bitcoin.serialize import merkle_root, sha256d
from chaintrail.scenario.amounts import round_btc, round_usd
from chaintrail.scenario.blocks import fast_merkle_root, subsidy
from chaintrail.scenario.services.chipmixer import CHIPS
from chaintrail.scenario.services.coinjoin import WW2_DENOMS
from chaintrail.scenario.taint import allocate


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 10**10), min_size=1, max_size=12), st.floats(0, 1))
def test_allocate_is_exact_bounded_and_proportional(weights, frac):
    total = sum(weights)
    taint = int(total * frac)
    parts = allocate(taint, weights)
    assert sum(parts) == taint
    for p, w in zip(parts, weights):
        assert 0 <= p <= w
        if total:
            assert abs(p - taint * w / total) < 1
    if taint == total:
        assert parts == weights


def test_allocate_breaks_ties_to_the_lower_index_fee_last():
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(5, [3, 3, 4]) == [2, 1, 2]    # remainders 0.5, 0.5, 0.0: vout 0 first


def test_fast_merkle_root_equals_reference():
    for n in (1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 65):
        h = [sha256d(n.to_bytes(2, "little") + bytes([i])) for i in range(n)]
        assert fast_merkle_root(h) == merkle_root(h)


def test_regtest_subsidy_halves_every_150_blocks():
    assert subsidy(1) == subsidy(149) == 50 * 10**8
    assert subsidy(150) == 25 * 10**8
    assert subsidy(300) == 1_250_000_000
    assert subsidy(150 * 64) == 0
    total = sum(subsidy(h) for h in range(150 * 64))
    assert total == 150 * sum((50 * 10**8) >> k for k in range(64))
    assert 14_999 * 10**8 < total < 15_000 * 10**8


def test_round_amounts():
    rng = np.random.default_rng(1)
    for v in (123_456, 9_999_999, 250_000_001):
        r = round_btc(v, rng)
        digits = str(r).rstrip("0")
        assert len(digits) <= 2 and abs(r - v) <= 0.5 * v
    assert round_usd(47.0) == 50.0 and round_usd(180.0) == 200.0 and round_usd(1.2) == 1.0


def test_denominations_follow_the_published_sets():
    assert CHIPS[0] == 100_000 and CHIPS[-1] == 819_200_000 and len(CHIPS) == 14
    assert min(WW2_DENOMS) == 5000 and WW2_DENOMS == sorted(WW2_DENOMS, reverse=True)
    for d in (5000, 6561, 8192, 10_000, 13_122, 20_000, 50_000, 100_000, 1_048_576):
        assert d in WW2_DENOMS
    assert 7000 not in WW2_DENOMS

"""Tracing kernel: hand-computed cases for each model, and properties on random transaction DAGs.

Every expected number in the hand cases is worked out in the comment beside it.
The property tests check, on random valid DAGs, the accounting identity for every
model and direction, per-output bounds and statuses, that the wrapper's reset
restores the scratch arrays, an independent pure-Python reference (exact for
poison/FIFO/LIFO/TIHO, within the rounding bound for haircut), and round trips.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
from dag import FAR, NONE, UNTOUCHED, Chain, Ext, Tx, build, random_chain, run, scratch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chaintrail.analysis import taint_kernels as K
from chaintrail.analysis.trace_scratch import Scratch

HAIRCUT, POISON, FIFO, LIFO, TIHO = K.HAIRCUT, K.POISON, K.FIFO, K.LIFO, K.TIHO
ALL_MODELS = (HAIRCUT, POISON, FIFO, LIFO, TIHO)
STOPPED = (K.STOPPED_HOPS, K.STOPPED_TIME, K.STOPPED_MIXER)
TERMINAL = (K.ENDPOINT, K.UNSPENT, K.BELOW) + STOPPED


def seeded(r) -> int:
    """What the sources put in: per distinct output, the sum of its amounts capped at its value."""
    per: dict[int, int] = {}
    for o, a in zip(r.src_out.tolist(), r.src_amt.tolist()):
        per[o] = per.get(o, 0) + a
    return sum(min(a, int(r.chain.out_value[o])) for o, a in per.items())


def assert_identity(r, overlap: int | None = 0) -> None:
    """The accounting identity; ``overlap``: sats of a source output that came from another source (None: unknown)."""
    src, absorbed = int(r.totals[K.T_SOURCE]), int(r.totals[K.T_ABSORBED])
    fees, edges = int(r.totals[K.T_FEES]), int(r.edge_amt.sum())
    if overlap is None:
        assert 0 <= src <= seeded(r)
    else:
        assert src == seeded(r) - overlap
    if r.forward:
        # source + absorbed == endpoints + unspent + below + stopped + fees
        assert edges == 0 and len(r.edge_in) == 0
        assert src + absorbed == r.with_status(*TERMINAL) + fees
    else:
        # source + absorbed == endpoints (coinbase + tagged) + unknown-source edges + below + stopped
        assert fees == 0 and r.with_status(K.UNSPENT) == 0
        assert src + absorbed == r.with_status(K.ENDPOINT, K.BELOW, *STOPPED) + edges


# -- one tx, two inputs (one tainted), three outputs -----------------------------------------------------------

def two_in_three_out(tainted_first: bool) -> Chain:
    # t0 pays A = 6 (the tainted source), t1 pays B = 5 (clean); t2 spends both into 3, 4, 2: fee 11 - 9 = 2.
    a, b = (0, 0), (1, 0)
    return build([Tx(outs=[(6, 0)], cb=True), Tx(outs=[(5, 1)], cb=True),
                  Tx(ins=[a, b] if tainted_first else [b, a], outs=[(3, 2), (4, 3), (2, 4)]),
                  # t3 spends t2's output 1 (value 4) into 1, 3: shows FIFO intervals carry over a hop.
                  Tx(ins=[(2, 1)], outs=[(1, 5), (3, 6)])])


TWO_IN = [
    # model, tainted input first?, shares of t2's outputs, fee share, absorbed
    # Haircut, V = 11: 6*3/11 = 1.64, 6*4/11 = 2.18, 6*2/11 = 1.09, fee 6*2/11 = 1.09; floors 1+2+1+1 = 5,
    # the last sat goes to the largest fraction (.64, output 0). Input order does not matter.
    (HAIRCUT, True, (2, 2, 1), 1, 0),
    (HAIRCUT, False, (2, 2, 1), 1, 0),
    # Poison: every output and the fee whole; absorbed = 11 - 6 clean sats swept in.
    (POISON, True, (3, 4, 2), 2, 5),
    (POISON, False, (3, 4, 2), 2, 5),
    # FIFO, A first: line A=[0,6) B=[6,11); out0=[0,3) out1=[3,7) out2=[7,9) fee=[9,11) -> 3, 3, 0, fee 0.
    (FIFO, True, (3, 3, 0), 0, 0),
    # FIFO, A second: B=[0,5) A=[5,11) -> out0 0, out1 [5,7) = 2, out2 [7,9) = 2, fee [9,11) = 2.
    (FIFO, False, (0, 2, 2), 2, 0),
    # LIFO lays the inputs reversed: A first in vin order sits second on the line, and vice versa.
    (LIFO, True, (0, 2, 2), 2, 0),
    (LIFO, False, (3, 3, 0), 0, 0),
    # TIHO: the largest output first: out1 (4) takes 4, out0 (3) the remaining 2, out2 and the fee nothing.
    (TIHO, True, (2, 4, 0), 0, 0),
    (TIHO, False, (2, 4, 0), 0, 0),
]


@pytest.mark.parametrize("model,first,shares,fee,absorbed", TWO_IN)
def test_two_inputs_three_outputs(model, first, shares, fee, absorbed):
    c = two_in_three_out(first)
    src = c.out(0, 0)
    r = run(c, [src], model=model, max_hops=1)
    assert tuple(r.share(2, v) for v in range(3)) == shares
    assert int(r.totals[K.T_FEES]) == fee and int(r.totals[K.T_ABSORBED]) == absorbed
    assert r.with_status(K.UNSPENT) + r.with_status(K.STOPPED_HOPS) == sum(shares)
    for v in range(3):
        o = c.out(2, v)
        if shares[v]:
            # Unspent wins over the hop limit; output 1 is spent, so it stops at max_hops = 1.
            assert r.status[o] == (K.STOPPED_HOPS if v == 1 else K.UNSPENT)
            assert r.hops[o] == 1 and r.pred_id[o] == src
        else:
            assert r.status[o] == UNTOUCHED and r.taint[o] == 0
    assert r.status[c.out(1, 0)] == UNTOUCHED  # the clean input is never touched
    assert_identity(r)


@pytest.mark.parametrize("first,intervals", [
    (True, {0: [(0, 3)], 1: [(0, 3)]}),       # out1 = [3,7) holds line [3,6): its first 3 sats
    (False, {1: [(2, 4)], 2: [(0, 2)]}),      # out1 = [3,7) holds line [5,7): local [2,4)
])
def test_fifo_intervals_carry_to_the_next_hop(first, intervals):
    c = two_in_three_out(first)
    r = run(c, [c.out(0, 0)], model=FIFO)
    for v, iv in intervals.items():
        assert r.intervals(c.out(2, v)) == iv
    # t3 splits t2:1 (value 4) into out0 = [0,1), out1 = [1,4).
    # A first: taint [0,3) -> out0 gets 1, out1 gets [1,3) = 2.  A second: taint [2,4) -> out0 0, out1 2.
    assert (r.share(3, 0), r.share(3, 1)) == ((1, 2) if first else (0, 2))
    assert r.intervals(c.out(3, 1)) == ([(0, 2)] if first else [(1, 3)])
    # Haircut on the same hop, A second: t2:1 carries 2; 2*1/4 = .5, 2*3/4 = 1.5 -> floors 0+1, the last sat
    # goes to the tie at .5 with the lowest index (out0) -> (1, 1), where FIFO said (0, 2).
    h = run(c, [c.out(0, 0)], model=HAIRCUT)
    if not first:
        assert h.share(2, 1) == 2 and (h.share(3, 0), h.share(3, 1)) == (1, 1)
    assert_identity(r)
    assert_identity(h)


def test_haircut_rounding_remainder():
    # t0 pays X = 5, t1 pays Y = 5; t2 spends [X, Y] into 3, 3, 3: fee 1.
    c = build([Tx(outs=[(5, 0)], cb=True), Tx(outs=[(5, 1)], cb=True),
               Tx(ins=[(0, 0), (1, 0)], outs=[(3, 2), (3, 3), (3, 4)])])
    x, y = c.out(0, 0), c.out(1, 0)
    cases = [
        # T = 10 (both inputs): 10*3/10 = 3, 3, 3, fee 10*1/10 = 1, nothing left over.
        ([x, y], [5, 5], (3, 3, 3), 1),
        # T = 5: 1.5, 1.5, 1.5, fee .5 -> floors 1+1+1+0 = 3; 2 sats left and every fraction ties at .5,
        # so the lowest indexes get them: out0, out1.
        ([x], [5], (2, 2, 1), 0),
        # T = 7 (X and 2 sats of Y): 2.1, 2.1, 2.1, fee .7 -> floors 2+2+2+0 = 6; the 1 left goes to the fee (.7).
        ([x, y], [5, 2], (2, 2, 2), 1),
        # An amount above the output's value is capped at it: X asks 9, has 5 -> as T = 5.
        ([x], [9], (2, 2, 1), 0),
    ]
    for srcs, amts, shares, fee in cases:
        r = run(c, srcs, amts)
        assert tuple(r.share(2, v) for v in range(3)) == shares, (srcs, amts)
        assert int(r.totals[K.T_FEES]) == fee
        assert sum(shares) + fee == seeded(r)
        assert_identity(r)


def test_haircut_split_direct():
    shares = np.empty(4, np.int64)
    K.haircut_split(5, np.array([3, 3, 3, 1], np.int64), shares)
    assert shares.tolist() == [2, 2, 1, 0]
    # 100 over 100, 100, 100: 33.33 each -> 33+33+33, the last sat to the lowest index.
    K.haircut_split(100, np.array([100, 100, 100], np.int64), shares[:3])
    assert shares[:3].tolist() == [34, 33, 33]
    # Near 21M BTC the products pass 2**53: the sum must still be exact and no share above its value.
    vals = np.array([2_099_999_997_690_000, 3, 7, 1_234_567_890_123], np.int64)
    T = 2_000_000_000_000_001
    K.haircut_split(T, vals, shares)
    assert int(shares.sum()) == T and (shares <= vals).all() and (shares >= 0).all()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=80), st.data())
def test_haircut_split_follows_its_documented_rule(values, data):
    """Both paths (no allocation for <= 62 parts, argsort beyond) follow the module's rule: floor of
    T*(v/V) in IEEE double, the sats left over to the largest fractional parts, ties to the lowest index."""
    V = sum(values)
    assume(V > 0)
    T = data.draw(st.integers(0, V))
    shares = np.empty(len(values), np.int64)
    K.haircut_split(T, np.array(values, np.int64), shares)
    exact = [float(T) * (float(v) / float(V)) for v in values]
    want = [min(max(int(np.floor(x)), 0), v) for x, v in zip(exact, values)]
    left = T - sum(want)
    frac = [x - w for x, w in zip(exact, want)]
    for k in sorted(range(len(values)), key=lambda k: (-frac[k], k)):
        if left > 0 and want[k] < values[k]:
            want[k] += 1
            left -= 1
    for k in sorted(range(len(values)), key=lambda k: (frac[k], k)):   # rounding overshot (rare)
        if left < 0 and want[k] > 0:
            want[k] -= 1
            left += 1
    assert shares.tolist() == want and sum(want) == T


# -- a 3-hop peel chain ---------------------------------------------------------------------------------------

def peel() -> Chain:
    # t0 mints 100000; each hop pays a little out and sends the change on, fee 100 each:
    # t1: 1000 + 98900, t2: 2000 + 96800, t3: 3000 + 93700.
    return build([Tx(outs=[(100_000, 0)], cb=True, time=100),
                  Tx(ins=[(0, 0)], outs=[(1000, 1), (98_900, 2)], time=200),
                  Tx(ins=[(1, 1)], outs=[(2000, 3), (96_800, 4)], time=300),
                  Tx(ins=[(2, 1)], outs=[(3000, 5), (93_700, 6)], time=400)])


@pytest.mark.parametrize("model", ALL_MODELS)
def test_peel_chain_full_taint_is_model_independent(model):
    c = peel()
    r = run(c, [c.out(0, 0)], model=model)
    # One input, all of it tainted: every model hands every output over whole.
    assert [r.share(1, 0), r.share(2, 0), r.share(3, 0), r.share(3, 1)] == [1000, 2000, 3000, 93_700]
    assert [r.hops[c.out(t, 0)] for t in (1, 2, 3)] == [1, 2, 3]
    assert r.with_status(K.UNSPENT) == 99_700 and int(r.totals[K.T_FEES]) == 300   # 99700 + 300 = 100000
    assert int(r.totals[K.T_ABSORBED]) == 0 and int(r.totals[K.T_TXS]) == 3
    # Best path of the last payment: t3:0 <- t2:1 <- t1:1 <- t0:0.
    assert [int(r.pred_id[c.out(3, 0)]), int(r.pred_id[c.out(2, 1)]), int(r.pred_id[c.out(1, 1)])] == \
        [c.out(2, 1), c.out(1, 1), c.out(0, 0)]
    assert r.pred_id[c.out(0, 0)] == NONE
    assert_identity(r)


PEEL_HALF = [
    # Haircut, 50000 of 100000: t1 1000/2 = 500, 98900/2 = 49450, fee 50; t2: 49450 of 98900 is half again:
    # 1000, 48400, 50; t3: 1500, 46850, 50. Unspent 500+1000+1500+46850 = 49850, fees 150.
    (HAIRCUT, (500, 1000, 1500, 46_850), 150, 0),
    # FIFO (= LIFO, one input): taint [0,50000). t1: out0 [0,1000) whole, out1 [1000,99900) gets 49000;
    # t2: out0 2000, out1 47000; t3: out0 3000, out1 44000; the fees sit at the end of each line: 0.
    (FIFO, (1000, 2000, 3000, 44_000), 0, 0),
    (LIFO, (1000, 2000, 3000, 44_000), 0, 0),
    # TIHO: the 50000 always fits in the change (the largest output): payments 0, fees 0.
    (TIHO, (0, 0, 0, 50_000), 0, 0),
    # Poison: everything whole (99700 + fees 300); t1 swept in 100000 - 50000 = 50000 clean sats.
    (POISON, (1000, 2000, 3000, 93_700), 300, 50_000),
]


@pytest.mark.parametrize("model,shares,fees,absorbed", PEEL_HALF)
def test_peel_chain_half_taint(model, shares, fees, absorbed):
    c = peel()
    r = run(c, [c.out(0, 0)], [50_000], model=model)
    assert (r.share(1, 0), r.share(2, 0), r.share(3, 0), r.share(3, 1)) == shares
    assert int(r.totals[K.T_FEES]) == fees and int(r.totals[K.T_ABSORBED]) == absorbed
    assert_identity(r)


def test_peel_chain_stops():
    c = peel()
    src = [c.out(0, 0)]
    # max_hops = 2: t2:1 (96800) is at hop 2 and stops; t3 never runs. 1000 + 2000 + 96800 + fees 200.
    r = run(c, src, max_hops=2)
    assert r.st(2, 1) == K.STOPPED_HOPS and r.share(2, 1) == 96_800 and not r.queued[3]
    assert r.with_status(K.UNSPENT) == 3000 and int(r.totals[K.T_FEES]) == 200
    assert_identity(r)
    # max_hops = 0: the source itself stops.
    r = run(c, src, max_hops=0)
    assert r.st(0, 0) == K.STOPPED_HOPS and r.with_status(K.STOPPED_HOPS) == 100_000 and not r.queued.any()
    assert_identity(r)
    # min_amount 1200 on half taint (haircut 500, 1000, 1500, 46850): the first two payments are below it
    # (checked before unspent), the rest unspent.
    r = run(c, src, [50_000], min_amt=1200)
    assert (r.st(1, 0), r.st(2, 0), r.st(3, 0), r.st(3, 1)) == (K.BELOW, K.BELOW, K.UNSPENT, K.UNSPENT)
    assert r.with_status(K.BELOW) == 1500 and r.with_status(K.UNSPENT) == 48_350
    assert_identity(r)
    # min_amount 48000: changes 49450 and 48400 pass, 46850 falls below; 500+1000+1500+46850 below.
    r = run(c, src, [50_000], min_amt=48_000)
    assert r.st(1, 1) == K.PASSED and r.st(2, 1) == K.PASSED and r.st(3, 1) == K.BELOW
    assert r.with_status(K.BELOW) == 49_850 and int(r.totals[K.T_FEES]) == 150
    assert_identity(r)
    # The source is never below the threshold, whatever its amount.
    r = run(c, src, [10], min_amt=1000)
    assert r.st(0, 0) == K.PASSED and r.with_status(K.BELOW) == 10
    # Time window: t_max 250 lets t1 (time 200) run but not t2 (300): t1:1 stops with 98900.
    r = run(c, src, t_max=250)
    assert r.st(1, 1) == K.STOPPED_TIME and r.share(1, 1) == 98_900 and r.st(1, 0) == K.UNSPENT
    assert int(r.totals[K.T_FEES]) == 100
    assert_identity(r)
    # t_min 250: the source's own spender (200) is outside, so the source stops at once.
    r = run(c, src, t_min=250)
    assert r.st(0, 0) == K.STOPPED_TIME and r.with_status(K.STOPPED_TIME) == 100_000
    assert_identity(r)


def test_peel_chain_tagged_endpoint():
    c = peel()
    src = [c.out(0, 0)]
    # Address 4 (t2's change) is tagged: 96800 ends there, t3 never runs. 1000 + 2000 unspent, fees 200.
    r = run(c, src, stop_addrs={4})
    assert r.st(2, 1) == K.ENDPOINT and r.with_status(K.ENDPOINT) == 96_800 and not r.queued[3]
    assert r.with_status(K.UNSPENT) == 3000 and int(r.totals[K.T_FEES]) == 200
    assert_identity(r)
    # A tagged payment that is unspent is an endpoint, not unspent.
    r = run(c, src, stop_addrs={3})
    assert r.st(2, 0) == K.ENDPOINT and r.with_status(K.ENDPOINT) == 2000
    # Tagging the source's own address does not stop the trace at its start.
    r = run(c, src, stop_addrs={0})
    assert r.with_status(K.ENDPOINT) == 0 and r.with_status(K.UNSPENT) == 99_700


# -- two tainted branches merging at different depths -----------------------------------------------------------

def merge() -> Chain:
    # t0 mints 10000 (source), t1 mints 2000 (clean); t2 splits t0:0 into 6000 + 3900 (fee 100);
    # t3 moves t2:0 to 5900 (fee 100); t4 merges t2:1 (hop 1), t3:0 (hop 2) and t1:0 into 5000 + 6700 (fee 100).
    return build([Tx(outs=[(10_000, 0)], cb=True), Tx(outs=[(2000, 1)], cb=True),
                  Tx(ins=[(0, 0)], outs=[(6000, 2), (3900, 3)]),
                  Tx(ins=[(2, 0)], outs=[(5900, 4)]),
                  Tx(ins=[(2, 1), (3, 0), (1, 0)], outs=[(5000, 5), (6700, 6)])])


@pytest.mark.parametrize("model,shares,fee4,absorbed", [
    # Haircut at t4: T = 3900 + 5900 = 9800 over 5000, 6700, fee 100 (V = 11800): 4152.54, 5564.41, 83.05
    # -> floors 4152+5564+83 = 9799; the last sat to the largest fraction (.54, out0).
    (HAIRCUT, (4153, 5564), 83, 0),
    # FIFO at t4: line t2:1=[0,3900) t3:0=[3900,9800) t1:0=[9800,11800) clean; out0 [0,5000) 5000,
    # out1 [5000,11700) holds [5000,9800) = 4800, fee [11700,11800) 0.
    (FIFO, (5000, 4800), 0, 0),
    # LIFO lays t1:0=[0,2000) t3:0=[2000,7900) t2:1=[7900,11800): out0 [0,5000) gets 3000,
    # out1 [5000,11700) gets 6700, fee [11700,11800) 100.
    (LIFO, (3000, 6700), 100, 0),
    # TIHO: 9800 fills out1 (6700) then out0 (3100).
    (TIHO, (3100, 6700), 0, 0),
    # Poison: 5000 + 6700 + fee 100; absorbed 11800 - 9800 = 2000 (t1:0's clean sats).
    (POISON, (5000, 6700), 100, 2000),
])
def test_merge_forward(model, shares, fee4, absorbed):
    c = merge()
    r = run(c, [c.out(0, 0)], model=model)
    assert (r.share(4, 0), r.share(4, 1)) == shares
    assert int(r.totals[K.T_FEES]) == 200 + fee4 and int(r.totals[K.T_ABSORBED]) == absorbed
    # Hops: the shortest way in (t2:1 at hop 1) + 1; best predecessor: the larger tainted input (t3:0, 5900).
    assert r.hops[c.out(4, 0)] == 2 and r.pred_id[c.out(4, 0)] == c.out(3, 0)
    assert r.taint[c.out(1, 0)] == 0 and r.st(1, 0) == UNTOUCHED
    assert_identity(r)


@pytest.mark.parametrize("model,ends,absorbed", [
    # Haircut back from t4:0 (5000) over inputs 3900, 5900, 2000 (V = 11800): 1652.54, 2500, 847.46
    # -> 1652+2500+847 = 4999, the last sat to t2:1 (.54). t3 hands 2500 to t2:0; t2 gets 2500 + 1653 = 4153
    # and passes it to t0:0, a coinbase output. Coinbase ends: t0:0 4153 (hop 2), t1:0 847 (hop 1).
    (HAIRCUT, {(0, 0): 4153, (1, 0): 847}, 0),
    # FIFO: t4:0 = [0,5000) meets t2:1=[0,3900) and t3:0=[3900,9800): 3900 + 1100; t3:0's [0,1100) is t2:0's
    # [0,1100); t2 hands 1100 + 3900 to t0:0.
    (FIFO, {(0, 0): 5000}, 0),
    # LIFO: inputs reversed t1:0=[0,2000) t3:0=[2000,7900) t2:1=[7900,11800): 2000 to t1:0, 3000 to t3:0 -> t0:0.
    (LIFO, {(0, 0): 3000, (1, 0): 2000}, 0),
    # TIHO: the largest input, t3:0 (5900), takes all 5000 -> t2:0 -> t0:0.
    (TIHO, {(0, 0): 5000}, 0),
    # Poison: t4's inputs whole (3900+5900+2000, absorbed 6800), t3's input 6000 (absorbed 100), t2's input
    # 10000 for 9900 (absorbed 100): ends t0:0 10000 + t1:0 2000 = 12000 = 5000 + 7000.
    (POISON, {(0, 0): 10_000, (1, 0): 2000}, 7000),
])
def test_merge_backward_to_coinbases(model, ends, absorbed):
    c = merge()
    r = run(c, [c.out(4, 0)], forward=False, model=model)
    got = {(t, 0): r.share(t, 0) for t in (0, 1) if r.share(t, 0)}
    assert got == ends
    for t, v in ends:
        assert r.st(t, v) == K.ENDPOINT
    assert int(r.totals[K.T_ABSORBED]) == absorbed and int(r.totals[K.T_FEES]) == 0
    if model == HAIRCUT:
        assert (r.share(2, 1), r.share(3, 0), r.share(2, 0)) == (1653, 2500, 2500)
        assert r.hops[c.out(0, 0)] == 2 and r.hops[c.out(1, 0)] == 1
    assert_identity(r)


def test_merge_backward_tagged():
    c = merge()
    # t2:1's address (3) is tagged: its 1653 ends there; only t3's 2500 reaches t0:0. 1653 + 847 + 2500.
    r = run(c, [c.out(4, 0)], forward=False, stop_addrs={3})
    assert r.st(2, 1) == K.ENDPOINT and r.share(2, 1) == 1653
    assert r.share(0, 0) == 2500 and r.share(1, 0) == 847
    assert r.with_status(K.ENDPOINT) == 5000
    assert_identity(r)


# -- unknown input values and inputs from outside the store --------------------------------------------------------

def unknown_input() -> Chain:
    # t0 mints 1000 (source); t1 spends t0:0 and an input of unknown value (-1) into 1500 + 700.
    return build([Tx(outs=[(1000, 0)], cb=True), Tx(ins=[(0, 0), Ext(-1)], outs=[(1500, 1), (700, 2)])])


@pytest.mark.parametrize("model,shares,absorbed", [
    # The fee is unknown; the least one T allows is max(0, 1000 - 2200) = 0. Haircut over 1500, 700:
    # 681.8 + 318.2 -> 681 + 318, the last sat to .82 (out0).
    (HAIRCUT, (682, 318), 0),
    # FIFO/LIFO positions are undefined with an unknown input: they fall back to haircut.
    (FIFO, (682, 318), 0),
    (LIFO, (682, 318), 0),
    (TIHO, (1000, 0), 0),              # all of it fits in the largest output
    (POISON, (1500, 700), 1200),       # 2200 - 1000 swept in
])
def test_unknown_input_value_forward(model, shares, absorbed):
    c = unknown_input()
    r = run(c, [c.out(0, 0)], model=model)
    assert (r.share(1, 0), r.share(1, 1)) == shares
    assert int(r.totals[K.T_FEES]) == 0 and int(r.totals[K.T_ABSORBED]) == absorbed
    if model in (FIFO, LIFO):
        assert r.intervals(c.out(1, 0)) == [(0, 682)] and r.intervals(c.out(1, 1)) == [(0, 318)]
    assert_identity(r)


def test_backward_to_unknown_source():
    c = unknown_input()
    # Backward from t1:0 (1500): the unknown input is valued at what the known one cannot cover,
    # 2200 - 1000 = 1200. 1500*1000/2200 = 681.8, 1500*1200/2200 = 818.2 -> 681 + 818, the last sat to .82.
    r = run(c, [c.out(1, 0)], forward=False)
    assert r.share(0, 0) == 682 and r.st(0, 0) == K.ENDPOINT
    assert r.edge_in.tolist() == [c.inp(1, 1)] and r.edge_amt.tolist() == [818]
    assert_identity(r)
    # A known value from outside the store: t1 spends t0:0 (1000) and 2000 from outside into 1500 + 1400
    # (fee 100). 1500 * 1000/3000 = 500 to the coinbase, 1500 * 2000/3000 = 1000 to the outside input.
    c = build([Tx(outs=[(1000, 0)], cb=True), Tx(ins=[(0, 0), Ext(2000)], outs=[(1500, 1), (1400, 2)])])
    r = run(c, [c.out(1, 0)], forward=False)
    assert r.share(0, 0) == 500 and r.edge_amt.tolist() == [1000] and r.edge_in.tolist() == [c.inp(1, 1)]
    assert_identity(r)
    # FIFO: t1:0 = [0,1500) over t0:0=[0,1000) and the outside input [1000,3000): 1000 + 500.
    r = run(c, [c.out(1, 0)], forward=False, model=FIFO)
    assert r.share(0, 0) == 1000 and r.edge_amt.tolist() == [500]
    assert_identity(r)


def test_backward_source_is_a_coinbase_output():
    c = peel()
    r = run(c, [c.out(0, 0)], [40_000], forward=False)
    assert r.st(0, 0) == K.ENDPOINT and r.with_status(K.ENDPOINT) == 40_000 and not r.queued.any()
    assert_identity(r)


def test_backward_peel_chain_hops():
    c = peel()
    # One input per tx: t3:0's 3000 walks back t3 -> t2 -> t1 whole, ending on the coinbase at hop 3.
    r = run(c, [c.out(3, 0)], forward=False)
    assert r.share(0, 0) == 3000 and r.hops[c.out(0, 0)] == 3 and r.st(0, 0) == K.ENDPOINT
    assert int(r.pred_id[c.out(0, 0)]) == c.out(1, 1)
    r = run(c, [c.out(3, 0)], forward=False, max_hops=2)
    assert r.st(1, 1) == K.STOPPED_HOPS and r.share(1, 1) == 3000 and r.share(0, 0) == 0
    assert_identity(r)


# -- mixers -------------------------------------------------------------------------------------------------

def mixer(flag: bool = True) -> Chain:
    # t0 mints 6000 (source), t1 4000 (clean); t2, a mixer, spends both into 5000 + 5000 (fee 0).
    return build([Tx(outs=[(6000, 0)], cb=True), Tx(outs=[(4000, 1)], cb=True),
                  Tx(ins=[(0, 0), (1, 0)], outs=[(5000, 2), (5000, 3)], mixer=flag)])


def test_mixer_policies():
    # Not a mixer, FIFO: line [0,6000) tainted -> 5000 + 1000.
    r = run(mixer(False), [0], model=FIFO)
    assert (r.share(2, 0), r.share(2, 1)) == (5000, 1000) and int(r.totals[K.T_MIXER_TXS]) == 0
    # Mixer, policy haircut: whatever the model, 6000 * 5000/10000 = 3000 each.
    for model in (FIFO, TIHO, POISON, HAIRCUT):
        r = run(mixer(), [0], model=model, mixer_policy=K.POLICY_HAIRCUT)
        assert (r.share(2, 0), r.share(2, 1)) == (3000, 3000) and int(r.totals[K.T_MIXER_TXS]) == 1
        assert int(r.totals[K.T_ABSORBED]) == 0
        assert_identity(r)
    # Policy stop: the tainted input stops in front of the mixer and is flagged; nothing passes.
    r = run(mixer(), [0], mixer_policy=K.POLICY_STOP)
    assert r.st(0, 0) == K.STOPPED_MIXER and r.with_status(K.STOPPED_MIXER) == 6000
    assert r.st(2, 0) == UNTOUCHED and int(r.totals[K.T_MIXER_TXS]) == 1
    assert_identity(r)
    # Backward from a mixer output with policy stop: it stops there.
    r = run(mixer(), [mixer().out(2, 0)], forward=False, mixer_policy=K.POLICY_STOP)
    assert r.st(2, 0) == K.STOPPED_MIXER and r.with_status(K.STOPPED_MIXER) == 5000 and r.share(0, 0) == 0
    assert_identity(r)
    # Backward, policy haircut: 5000 over 6000 and 4000 -> 3000 + 2000 to the two coinbases.
    r = run(mixer(), [mixer().out(2, 0)], forward=False, model=FIFO, mixer_policy=K.POLICY_HAIRCUT)
    assert (r.share(0, 0), r.share(1, 0)) == (3000, 2000)
    assert_identity(r)


# -- sources that overlap (an address whose change comes back to it) ------------------------------------------------

def self_change() -> Chain:
    # Address 0 gets t0:0 (5000), spends it in t1 to 1000 (address 1) + 3900 back to itself (fee 100);
    # t2 spends that change into 3800 (address 2), fee 100.
    return build([Tx(outs=[(5000, 0)], cb=True), Tx(ins=[(0, 0)], outs=[(1000, 1), (3900, 0)]),
                  Tx(ins=[(1, 1)], outs=[(3800, 2)])])


@pytest.mark.parametrize("model", ALL_MODELS)
def test_address_trace_does_not_count_its_change_twice(model):
    c = self_change()
    # Both outputs of address 0 are sources (5000 + 3900 = 8900 seeded), but the change's 3900 are the same
    # sats that came from t0:0: the address holds 5000 distinct sats, the source total. What leaves:
    # 1000 + 3800 unspent, fees 100 + 100 = 5000.
    r = run(c, [c.out(0, 0), c.out(1, 1)], model=model)
    assert r.share(1, 1) == 3900                     # never more than its value
    assert r.share(1, 0) == 1000 and r.share(2, 0) == 3800
    assert int(r.totals[K.T_FEES]) == 200 and int(r.totals[K.T_ABSORBED]) == 0
    assert int(r.totals[K.T_SOURCE]) == 5000
    assert r.hops[c.out(1, 1)] == 0 and r.pred_id[c.out(1, 1)] == NONE    # still a source
    assert len(set(r.touched.tolist())) == len(r.touched)
    assert_identity(r, overlap=3900)
    # Backward from both: t2:0's 3800 reaches t1:1, itself a source holding 3900; the union is 3900
    # (3800 overlap). t1 hands 1000 + 3900 back to t0:0, the coinbase: 4900 distinct sats.
    # Poison: t2 hands t1:1 all 3900 (absorbing t2's 100 of fee), which overlaps the seeded 3900 whole:
    # source 8700 - 3900 = 4800; t1 makes t0:0 whole, 5000 for 4900 (100 more): 4800 + 200 = 5000.
    r = run(c, [c.out(1, 0), c.out(1, 1), c.out(2, 0)], forward=False, model=model)
    back, source = (5000, 4800) if model == POISON else (4900, 4900)
    assert r.share(1, 1) == 3900 and r.share(0, 0) == back and int(r.totals[K.T_SOURCE]) == source
    assert r.with_status(K.ENDPOINT) == back and int(r.totals[K.T_ABSORBED]) == back - source
    assert_identity(r, overlap=8700 - source)


def test_fifo_overlap_keeps_the_union_of_intervals():
    # t0 mints 10 (address 0); t1 spends it with a clean 10 (t2 below comes first) into 4 + 16, fee 0.
    # Sources: t0:0 (all 10) and t1:1 with its first 3 sats. FIFO line: t0:0 = [0,10) tainted,
    # clean [10,20); t1:0 = [0,4) gets 4; t1:1 = [4,20) gets [4,10) = local [0,6). Union with the seeded
    # [0,3): [0,6) = 6; overlap 3 + 6 - 6 = 3, source 10 + 3 - 3 = 10.
    c = build([Tx(outs=[(10, 0)], cb=True), Tx(outs=[(10, 1)], cb=True),
               Tx(ins=[(0, 0), (1, 0)], outs=[(4, 2), (16, 0)])])
    r = run(c, [c.out(0, 0), c.out(2, 1)], [10, 3], model=FIFO)
    assert r.share(2, 1) == 6 and r.intervals(c.out(2, 1)) == [(0, 6)]
    assert_identity(r, overlap=3)
    # LIFO: line clean [0,10), t0:0 = [10,20): t1:0 gets 0, t1:1 = [4,20) gets [10,20) = local [6,16);
    # with the seeded [0,3): two intervals, 3 + 10 = 13, no overlap.
    r = run(c, [c.out(0, 0), c.out(2, 1)], [10, 3], model=LIFO)
    assert r.share(2, 1) == 13 and r.intervals(c.out(2, 1)) == [(0, 3), (6, 16)]
    assert_identity(r, overlap=0)


def test_zero_amount_source_taints_nothing():
    c = peel()
    for model in ALL_MODELS:
        r = run(c, [c.out(0, 0)], [0], model=model)
        assert int(r.taint.sum()) == 0 and int(r.totals[K.T_ABSORBED]) == 0, model
        assert_identity(r)
    # Listed twice with no amount, then once with some: one entry in touched.
    r = run(c, [c.out(0, 0)] * 3, [0, 0, 700])
    assert r.touched.tolist().count(c.out(0, 0)) == 1 and r.with_status(K.UNSPENT) + int(r.totals[K.T_FEES]) == 700


# -- properties on random DAGs -----------------------------------------------------------------------------------

@st.composite
def traces(draw, *, stops: bool = True):
    seed = draw(st.integers(0, 2**32 - 1))
    n_tx = draw(st.integers(1, 60))
    n_addr = draw(st.integers(1, 12))
    big = draw(st.booleans())
    rng = random.Random(seed)
    chain = random_chain(rng, n_tx, n_addr, max_value=2 * 10**15 if big else 10**6,
                         p_unknown=0.5 if stops else 0.0, p_mixer=0.1 if stops else 0.0)
    n_src = draw(st.integers(1, 4))
    srcs, amts = [], []
    for _ in range(n_src):
        # Early outputs more often: their traces run longer.
        o = draw(st.integers(0, chain.n_out - 1) | st.integers(0, chain.n_out // 4))
        v = int(chain.out_value[o])
        kind = draw(st.sampled_from(("full", "full", "part", "zero", "over")))
        amts.append({"full": v, "part": draw(st.integers(0, v)), "zero": 0, "over": v + 17}[kind])
        srcs.append(o)
    p = {"forward": draw(st.booleans()), "model": draw(st.sampled_from(ALL_MODELS))}
    if stops:
        p["max_hops"] = draw(st.sampled_from((0, 1, 2, 3, 5, 1000, 1000, 1000)))
        p["min_amt"] = draw(st.sampled_from((0, 0, 1)) | st.integers(0, (2 * 10**15 if big else 10**6) // 5))
        p["stop_addrs"] = set(draw(st.lists(st.integers(0, n_addr - 1), max_size=2)))
        p["mixer_policy"] = draw(st.sampled_from((K.POLICY_HAIRCUT, K.POLICY_STOP)))
        t0, t1 = int(chain.tx_time.min()), int(chain.tx_time.max())
        if draw(st.integers(0, 3)) == 0:
            lo = draw(st.integers(t0 - 1, t1 + 1))
            p["t_min"], p["t_max"] = lo, draw(st.integers(lo, t1 + 2))
    return chain, srcs, amts, p


def check_run(r, p) -> None:
    """Everything a trace must satisfy, whatever the DAG and parameters."""
    c = r.chain
    # A source can only get taint from another source through the tx that makes (forward) or spends
    # (backward) it; where no such tx ran, the source total is exactly what was seeded.
    via = [c.tx_of_out(o) if r.forward else (c.tx_of_in(int(c.out_spent[o])) if c.out_spent[o] != NONE else -1)
           for o in r.src_out.tolist()]
    assert_identity(r, overlap=None if any(t >= 0 and r.queued[t] for t in via) else 0)
    touched = r.touched.tolist()
    assert len(set(touched)) == len(touched), "an output listed twice would be counted twice"
    # Every output the kernel wrote to is listed in touched, so resetting only those entries suffices.
    written = (r.taint != 0) | (r.status != UNTOUCHED) | (r.pred != 0) | (r.hops != 0) | (r.iv_cnt != 0)
    assert set(np.flatnonzero(written).tolist()) <= set(touched)
    assert (r.taint >= 0).all() and (r.taint <= c.out_value).all(), "a share above the output's value"
    assert (r.edge_amt > 0).all() and (c.in_prev[r.edge_in] == NONE).all()
    srcset = set(r.src_out.tolist())
    fwd = r.forward
    max_hops, min_amt = p.get("max_hops", 1000), p.get("min_amt", 0)
    stop = p.get("stop_addrs", set())
    for o in touched:
        st_, amt, h = int(r.status[o]), int(r.taint[o]), int(r.hops[o])
        assert st_ != UNTOUCHED
        if o in srcset:
            assert h == 0 and r.pred_id[o] == NONE
            continue
        assert amt > 0 and 1 <= h <= max_hops
        via = c.tx_of_out(o) if fwd else c.tx_of_in(int(c.out_spent[o]))
        if r.model == POISON and not c.tx_mixer[via]:
            assert amt == c.out_value[o], "poison taints a touched output whole"
        # The best predecessor is a tainted output on the far side of the tx that handed the taint over.
        q = int(r.pred_id[o])
        assert q != NONE and q in set(touched)
        if fwd:
            assert c.tx_of_in(int(c.out_spent[q])) == c.tx_of_out(o)
        else:
            assert c.tx_of_out(q) == c.tx_of_in(int(c.out_spent[o]))
        a = int(c.out_addr[o])
        tagged = a != NONE and a in stop
        nxt = c.tx_of_in(int(c.out_spent[o])) if fwd and c.out_spent[o] != NONE else c.tx_of_out(o)
        if tagged:
            assert st_ == K.ENDPOINT
        elif amt < min_amt:
            assert st_ == K.BELOW
        elif st_ == K.ENDPOINT:
            assert not fwd and c.tx_is_cb[c.tx_of_out(o)]
        elif st_ == K.UNSPENT:
            assert fwd and c.out_spent[o] == NONE
        elif st_ == K.STOPPED_HOPS:
            assert h >= max_hops and (not fwd or c.out_spent[o] != NONE)
        elif st_ == K.STOPPED_TIME:
            assert h < max_hops and not p.get("t_min", -FAR) <= c.tx_time[nxt] <= p.get("t_max", FAR)
        elif st_ == K.STOPPED_MIXER:
            assert c.tx_mixer[nxt] and p.get("mixer_policy") == K.POLICY_STOP
        else:
            assert st_ == K.PASSED and h < max_hops and r.queued[nxt]
            assert p.get("t_min", -FAR) <= c.tx_time[nxt] <= p.get("t_max", FAR)
    if r.model == POISON and fwd:
        # Every tx the taint passed through hands each of its outputs over whole.
        for t in np.flatnonzero(r.queued).tolist():
            if c.tx_mixer[t] or c.fee(t) is None:
                continue
            T = sum(int(r.taint[q]) for q in c.in_prev[c.tx_first_in[t]:c.tx_first_in[t + 1]].tolist()
                    if q != NONE and r.status[q] == K.PASSED)
            for o in range(int(c.tx_first_out[t]), int(c.tx_first_out[t + 1])):
                if T > 0 and c.out_value[o] > 0:
                    assert r.taint[o] == c.out_value[o] or o in srcset
    if r.model != POISON:
        assert int(r.totals[K.T_ABSORBED]) == 0    # only poison sweeps clean sats in
    # Fees never exceed what the processed txs paid (where every input value is known).
    paid = [c.fee(t) for t in np.flatnonzero(r.queued).tolist()]
    assert int(r.totals[K.T_FEES]) >= 0
    if fwd and None not in paid:
        assert int(r.totals[K.T_FEES]) <= sum(paid)


def reset_like_the_engine(r, budget: int) -> dict:
    """Zero the kernel's scratch as TraceEngine does (``Scratch.clean``: the touched entries, or with the
    budget passed every page handed back), check it is as new, and return it for another run."""
    sc = Scratch(r.chain.n_out, r.chain.n_tx, budget=budget, huge_max=0)
    names = ("taint", "hops", "pred", "status", "iv_off", "iv_cnt", "qbits0", "qbits1")
    for name in names:                 # what the trace left, in the engine's mappings
        getattr(sc, name)[:] = getattr(r, name)
    sc.clean(r.touched, r.popped, intervals=r.model in (FIFO, LIFO))
    assert sc.releases == (1 if budget == 0 else 0)
    for name, arr in scratch(r.chain).items():
        assert np.array_equal(getattr(sc, name), arr), f"{name} not reset"
    return {name: getattr(sc, name) for name in names}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_random_dags_identity_and_invariants(case):
    chain, srcs, amts, p = case
    r = run(chain, srcs, amts, **p)
    check_run(r, p)
    for budget in (1 << 30, 0):        # zeroed entry by entry; pages handed back
        # The reset scratch gives the same answer again (nothing left behind changes the next trace).
        again = run(chain, srcs, amts, scr=reset_like_the_engine(r, budget), **p)
        assert np.array_equal(again.totals, r.totals)
        assert again.touched.tolist() == r.touched.tolist()


# -- an independent reference (no stops): exact for poison/FIFO/LIFO/TIHO, within rounding for haircut ----------------

def _union(ivs):
    out = []
    for s, e in sorted(ivs):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _cut(line, ranges):
    """Intersect tainted line intervals with consecutive ranges; pieces local to each range."""
    pieces = [[] for _ in ranges]
    for k, (lo, hi) in enumerate(ranges):
        for s, e in line:
            s2, e2 = max(s, lo), min(e, hi)
            if e2 > s2:
                pieces[k].append((s2 - lo, e2 - lo))
    return pieces


def reference(c: Chain, srcs, amts, forward: bool, model: int):
    """Pure-Python trace with no stops: taint per output, fees, edges, absorbed, hops, rounding ops."""
    taint: dict[int, object] = {}
    iv: dict[int, list] = {}
    hops: dict[int, int] = {}
    for o, a in zip(srcs, amts):
        taint[o] = taint.get(o, 0) + a
    for o, a in taint.items():
        taint[o] = min(a, int(c.out_value[o]))
        iv[o] = [(0, taint[o])]
        hops[o] = 0
    srcset = set(taint)
    source = sum(taint.values())
    fees, absorbed, edges, ops = 0, 0, {}, 0
    order = range(c.n_tx) if forward else range(c.n_tx - 1, -1, -1)
    for t in order:
        a0, a1 = int(c.tx_first_in[t]), int(c.tx_first_in[t + 1])
        o0, o1 = int(c.tx_first_out[t]), int(c.tx_first_out[t + 1])
        ins, outs = list(range(a0, a1)), list(range(o0, o1))
        vin = [int(c.in_value[i]) for i in ins]
        vout = [int(c.out_value[o]) for o in outs]
        if forward:
            side = [int(c.in_prev[i]) for i in ins]
            side = [q if q != NONE and q in taint else None for q in side]
            recv = vout + [sum(vin) - sum(vout)]
        else:
            if c.tx_is_cb[t]:
                continue
            side = [o if o in taint else None for o in outs]
            recv = vin
        live = [q for q in side if q is not None and taint[q] > 0]
        if not live:
            continue
        T = sum(taint[q] for q in live)
        hop = min(hops[q] for q in live) + 1
        if model == HAIRCUT:
            V = sum(recv)
            shares = [Fraction(T) * v / V for v in recv]
            ops += len(recv)
            pieces = None
        elif model == POISON:
            shares = list(recv)
            absorbed += sum(recv) - T
            pieces = None
        elif model == TIHO:
            shares = [0] * len(recv)
            rest = T
            n = len(recv) - 1 if forward else len(recv)
            for k in sorted(range(n), key=lambda k: (-recv[k], k)):
                shares[k] = min(rest, recv[k])
                rest -= shares[k]
            if forward:
                shares[-1] = min(rest, recv[-1])
            pieces = None
        else:
            line, pos = [], 0
            side_vals = vin if forward else vout
            idx = list(range(len(side)))
            if forward and model == LIFO:
                idx.reverse()
            for k in idx:
                q = side[k]
                if q is not None and taint[q] > 0:
                    line += [(pos + s, pos + e) for s, e in iv[q]]
                pos += side_vals[k]
            ranges, pos = [None] * len(recv), 0
            ridx = list(range(len(recv)))
            if not forward and model == LIFO:
                ridx.reverse()
            for k in ridx:
                ranges[k] = (pos, pos + recv[k])
                pos += recv[k]
            pieces = _cut(line, ranges)
            shares = [sum(e - s for s, e in pc) for pc in pieces]
        if forward:
            fees += shares[-1]
        for k in range(len(outs) if forward else len(ins)):
            amt = shares[k]
            if amt <= 0:
                continue
            if forward:
                o = outs[k]
            else:
                o = int(c.in_prev[ins[k]])
                if o == NONE:
                    edges[ins[k]] = amt
                    continue
            if o in srcset:
                # Overlap with what was seeded there: keep the union, capped at the output's value.
                new_iv = _union(iv[o] + (pieces[k] if pieces else [(0, amt)]))
                new = min(taint[o] + amt, int(c.out_value[o])) if pieces is None else sum(e - s for s, e in new_iv)
                source -= taint[o] + amt - new
                taint[o], iv[o] = new, new_iv
            else:
                taint[o], hops[o] = amt, hop
                iv[o] = pieces[k] if pieces else [(0, amt)]
    return taint, fees, edges, absorbed, hops, ops, source


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_searching_txs_equals_the_maps(case):
    """A one-shot trace (no output -> tx maps: the kernel searches tx_first_in/out) gives exactly
    what a long-lived engine's maps give."""
    chain, srcs, amts, p = case
    a = run(chain, srcs, amts, **p)
    b = run(chain, srcs, amts, maps=False, **p)
    assert np.array_equal(a.touched, b.touched) and np.array_equal(a.totals, b.totals)
    for name in ("taint", "hops", "pred", "status", "iv_off", "iv_cnt"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.edge_in, b.edge_in) and np.array_equal(a.edge_amt, b.edge_amt)
    assert np.array_equal(a.popped, b.popped)
    out_tx = K.tx_of(chain.tx_first_out)
    ends = a.touched
    for with_map in (out_tx, np.zeros(0, np.uint32)):
        off, txs = K.best_paths(ends, a.pred, with_map, chain.tx_first_out, 10_000)
        assert off.tolist() == K.best_paths(ends, a.pred, out_tx, chain.tx_first_out, 10_000)[0].tolist()
        assert txs.tolist() == K.best_paths(ends, a.pred, out_tx, chain.tx_first_out, 10_000)[1].tolist()
    assert all(K.find_tx(chain.tx_first_out, o) == out_tx[o] for o in range(len(out_tx)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(stops=False))
def test_random_dags_match_reference(case):
    chain, srcs, amts, p = case
    r = run(chain, srcs, amts, **p)
    taint, fees, edges, absorbed, hops, ops, source = reference(chain, srcs, amts, p["forward"], p["model"])
    got = {o: int(r.taint[o]) for o in r.touched.tolist()}
    bound = 2 * ops    # each haircut split is off by under 2 sats per part (floor, double, remainder)
    if p["model"] == HAIRCUT:
        for o in set(got) | set(taint):
            assert abs(got.get(o, 0) - taint.get(o, 0)) <= bound, o
        assert abs(int(r.totals[K.T_FEES]) - fees) <= bound
        assert abs(int(r.edge_amt.sum()) - sum(edges.values())) <= bound
        assert abs(int(r.totals[K.T_SOURCE]) - source) <= bound
    else:
        assert int(r.totals[K.T_SOURCE]) == source
        assert {o: a for o, a in got.items() if a} == {o: a for o, a in taint.items() if a}
        assert int(r.totals[K.T_FEES]) == fees and int(r.totals[K.T_ABSORBED]) == absorbed
        assert dict(zip(r.edge_in.tolist(), r.edge_amt.tolist())) == edges
        for o, a in got.items():
            if a:
                assert int(r.hops[o]) == hops[o]
    assert_identity(r, overlap=None)


# -- round trips -------------------------------------------------------------------------------------------

@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(stops=False), st.sampled_from(ALL_MODELS))
def test_backward_from_forward_ends_returns_to_source(case, fwd_model):
    chain, srcs, _, _ = case
    src = srcs[0]
    amt = int(chain.out_value[src])
    assume(amt > 0)
    f = run(chain, [src], [amt], model=fwd_model)
    ends = [o for o in f.touched.tolist() if f.taint[o] > 0 and f.status[o] != K.PASSED]
    assume(ends)  # everything may have gone to fees
    # Poison backward taints every input whole: the source comes back with all its value.
    b = run(chain, ends, [int(f.taint[o]) for o in ends], forward=False, model=POISON)
    assert int(b.taint[src]) == amt
    assert_identity(b)
    # Haircut backward: the exact (rational) flow back to the source is positive, and the integer trace
    # is within its rounding bound of it; above the bound, the source is reached with a positive amount.
    amounts = [int(f.taint[o]) for o in ends]
    b = run(chain, ends, amounts, forward=False, model=HAIRCUT)
    ref, _, _, _, _, ops, _ = reference(chain, ends, amounts, False, HAIRCUT)
    assert ref.get(src, 0) > 0
    assert abs(int(b.taint[src]) - ref[src]) <= 2 * ops
    if ref[src] > 2 * ops:
        assert b.taint[src] > 0 and b.status[src] != UNTOUCHED
    assert_identity(b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(2, 30), st.sampled_from((FIFO, LIFO)), st.data())
def test_fifo_one_hop_round_trip(seed, n_tx, model, data):
    chain = random_chain(random.Random(seed), n_tx, 5, p_unknown=0.0, p_mixer=0.0)
    # A tx whose FIFO-first (LIFO: last) input spends an output in the store: taint a prefix of that output.
    cands = []
    for t in range(chain.n_tx):
        a0, a1 = int(chain.tx_first_in[t]), int(chain.tx_first_in[t + 1])
        i = a0 if model == FIFO else a1 - 1
        if not chain.tx_is_cb[t] and chain.in_prev[i] != NONE:
            cands.append((t, int(chain.in_prev[i])))
    assume(cands)
    t, p = data.draw(st.sampled_from(cands))
    a = data.draw(st.integers(0, int(chain.out_value[p])))
    f = run(chain, [p], [a], model=model, max_hops=1)
    outs = [o for o in range(int(chain.tx_first_out[t]), int(chain.tx_first_out[t + 1])) if f.taint[o] > 0]
    for o in outs:
        assert f.intervals(o) == [(0, int(f.taint[o]))]    # each output holds a prefix of itself
    fee = int(f.totals[K.T_FEES])
    assert sum(int(f.taint[o]) for o in outs) + fee == a
    b = run(chain, outs, [int(f.taint[o]) for o in outs], forward=False, model=model, max_hops=1)
    # Exactly the interval comes back to the source (less what went to the fee), and nothing elsewhere.
    assert int(b.taint[p]) == a - fee
    others = [int(chain.in_prev[i]) for i in range(int(chain.tx_first_in[t]), int(chain.tx_first_in[t + 1]))]
    assert all(b.taint[q] == 0 for q in others if q != p and q != NONE)
    assert b.edge_amt.sum() == 0
    assert_identity(b)


# -- sizes past the kernel's initial buffers (1024 touched/heap/pool, 16 parts/edges, 64 line pieces) ----------

def fan_out(n: int = 1500) -> Chain:
    # t0 mints; t1 splits it into n outputs; each is then spent with an outside input into 2 outputs.
    rng = random.Random(7)
    vals = [rng.randint(1, 10_000) for _ in range(n)]
    txs = [Tx(outs=[(sum(vals) + 500, 0)], cb=True), Tx(ins=[(0, 0)], outs=[(v, 1) for v in vals])]
    for k, v in enumerate(vals):
        ext = rng.randint(0, 5000)
        a = rng.randint(0, v + ext)
        txs.append(Tx(ins=[Ext(ext), (1, k)] if k % 2 else [(1, k), Ext(ext)], outs=[(a, 2), (v + ext - a, 3)]))
    return build(txs)


@pytest.mark.parametrize("model", ALL_MODELS)
def test_wide_fan_out_matches_reference(model):
    c = fan_out()
    for forward in (True, False):
        srcs = [c.out(0, 0)] if forward else list(range(c.out(2, 0), c.n_out))
        amts = [int(c.out_value[o]) - 3 for o in srcs] if forward else [int(c.out_value[o]) for o in srcs]
        r = run(c, srcs, amts, forward=forward, model=model)
        taint, fees, edges, absorbed, hops, ops, source = reference(c, srcs, amts, forward, model)
        got = {o: int(r.taint[o]) for o in r.touched.tolist() if r.taint[o]}
        assert len(r.touched) > 1024 and (len(r.edge_in) == 0 if forward else len(r.edge_in) > 1024)
        if model == HAIRCUT:
            assert max(abs(got.get(o, 0) - taint.get(o, 0)) for o in set(got) | set(taint)) <= 2 * ops
        else:
            assert got == {o: a for o, a in taint.items() if a}
            assert dict(zip(r.edge_in.tolist(), r.edge_amt.tolist())) == edges
            assert int(r.totals[K.T_FEES]) == fees and int(r.totals[K.T_ABSORBED]) == absorbed
            assert all(int(r.hops[o]) == hops[o] for o in got)
        assert int(r.totals[K.T_SOURCE]) == source
        assert_identity(r)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from(ALL_MODELS), st.booleans())
def test_wide_txs_match_reference(seed, model, forward):
    # Up to 40 inputs and 60 outputs per tx: past the 16-slot share buffers and the 64-piece line.
    chain = random_chain(random.Random(seed), 30, 6, max_in=40, max_out=60, p_cb=0.25, p_ext=0.3,
                         p_unknown=0.0, p_mixer=0.0)
    srcs = list(range(0, chain.n_out, 3))
    amts = [int(chain.out_value[o]) for o in srcs]
    r = run(chain, srcs, amts, forward=forward, model=model)
    taint, fees, edges, absorbed, hops, ops, source = reference(chain, srcs, amts, forward, model)
    got = {o: int(r.taint[o]) for o in r.touched.tolist() if r.taint[o]}
    if model == HAIRCUT:
        assert all(abs(got.get(o, 0) - taint.get(o, 0)) <= 2 * ops for o in set(got) | set(taint))
    else:
        assert got == {o: a for o, a in taint.items() if a}
        assert int(r.totals[K.T_SOURCE]) == source and int(r.totals[K.T_FEES]) == fees
        assert dict(zip(r.edge_in.tolist(), r.edge_amt.tolist())) == edges
        assert int(r.totals[K.T_ABSORBED]) == absorbed
        assert all(int(r.hops[o]) == hops[o] for o in got)
    assert_identity(r, overlap=None)

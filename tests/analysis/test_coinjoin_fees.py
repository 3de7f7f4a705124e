"""Wasabi 1.x change linking by the round's fee model, on hand-built rounds with known owners."""

import math
import random

from chaintrail.analysis.coinjoin_fees import VB_IN, VB_OUT, change_outputs

D = 10_000_000                  # base denomination; the second level is 2 D
RATE = 0.00003 * 20             # coordinator: 0.003 % x anonymity set 20, per mixed sat
PER_VB = 10


def build_round(participants, fees=None):
    """Output ids and values of a round. ``participants``: (entry value, levels) with levels a list of
    multiples of D; each pays the coordinator per level and the miners for its input and outputs
    (or ``fees(i)`` sats of mining instead). Returns ins, outs, values, coordinator, change by entry."""
    values, ins, outs, change_of = {}, [], [], {}
    coord = 0
    for i, (v_in, levels) in enumerate(participants):
        o = 1000 + i
        values[o] = v_in
        ins.append(o)
        mining = fees(i) if fees else PER_VB * (VB_IN + VB_OUT * (len(levels) + 1))
        left = v_in - mining
        for lv in levels:
            x = len(values)
            values[x] = lv * D
            outs.append(x)
            c = math.ceil(lv * D * RATE)
            coord += c
            left -= lv * D + c
        x = len(values)
        values[x] = left
        outs.append(x)
        change_of[o] = x
    cx = len(values)
    values[cx] = coord
    outs.append(cx)
    return ins, outs, values, cx, change_of


def honest_round(decoy_gap=20_000):
    """Seven participants; the actor (first) has a decoy: participant 2's change is 20k sat below the
    actor's, which amounts alone cannot tell from the actor's own change (both within 0.3 % + 20k)."""
    actor_in = 14_321_987
    actor_change = actor_in - (D + math.ceil(D * RATE)) - PER_VB * (VB_IN + 2 * VB_OUT)
    decoy_change = actor_change - decoy_gap
    decoy_in = decoy_change + 2 * D + math.ceil(2 * D * RATE) + PER_VB * (VB_IN + 2 * VB_OUT)
    others = [(12_345_678, [1]), (35_432_101, [2, 1]), (31_111_111, [2]), (18_765_432, [1]), (44_000_001, [2, 1])]
    return [(actor_in, [1]), (decoy_in, [2])] + others


def test_the_fee_model_breaks_a_tie_amounts_leave():
    ins, outs, values, coord, change_of = build_round(honest_round())
    actor = ins[0]
    assert change_outputs([actor], ins, outs, values, None) == []          # two candidates by amounts
    assert change_outputs([actor], ins, outs, values, coord) == [change_of[actor]]
    # every other participant's change too, each one by itself
    for o in ins[1:]:
        assert change_outputs([o], ins, outs, values, coord) == [change_of[o]]


def test_a_round_the_model_does_not_explain_falls_back_to_amounts():
    rng = random.Random(7)
    ins, outs, values, coord, _ = build_round(honest_round(), fees=lambda i: rng.randrange(5_000, 40_000))
    assert change_outputs([ins[0]], ins, outs, values, coord) == []        # still ambiguous, not guessed


def test_a_unique_amount_fit_that_breaks_the_fee_model_is_not_claimed():
    # The actor registered two inputs (only one is traced), so its true change fits neither rule; a
    # decoy within the amount tolerance is the only amounts-only candidate, and the fee model rejects it.
    parts = honest_round()
    ins, outs, values, coord, change_of = build_round(parts)
    values[ins[0]] -= 10_000                        # the actor's registration: two inputs, one traced
    values[999] = 10_000
    ins.append(999)
    amounts_only = change_outputs([ins[0]], ins, outs, values, None)
    assert amounts_only and amounts_only[0] != change_of[ins[0]]          # amounts alone guess wrong
    assert change_outputs([ins[0]], ins, outs, values, coord) == []

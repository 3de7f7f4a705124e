"""Metrics against brute force: pairwise precision/recall and change scores."""

from itertools import combinations

import numpy as np
from hypothesis import given, settings, strategies as st

from chaintrail.analysis.evaluation import binary_score, change_score, pairwise_cluster_score


def brute(pred, truth):
    tp = fp = fn = 0
    for i, j in combinations(range(len(pred)), 2):
        sp, st_ = pred[i] == pred[j], truth[i] == truth[j]
        tp += sp and st_
        fp += sp and not st_
        fn += st_ and not sp
    return tp, fp, fn


def test_hand_example():
    # predicted {a,b,c} {d}; truth {a,b} {c,d}: tp = ab; fp = ac, bc; fn = cd.
    s = pairwise_cluster_score("x", np.array([0, 0, 0, 1]), np.array([5, 5, 7, 7]))
    assert (s.tp, s.fp, s.fn) == (1, 2, 1)
    assert s.precision == 1 / 3 and s.recall == 1 / 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=0, max_size=30))
def test_pairwise_matches_brute_force(rows):
    pred = np.array([r[0] for r in rows], np.int64)
    truth = np.array([r[1] for r in rows], np.int64)
    s = pairwise_cluster_score("x", pred, truth)
    assert (s.tp, s.fp, s.fn) == brute(pred.tolist(), truth.tolist())


def test_binary_and_change():
    b = binary_score("cj", np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    assert (b.tp, b.fp, b.fn, b.precision, b.recall) == (1, 1, 1, 0.5, 0.5)
    # tx0 right, tx1 wrong output, tx2 predicted where none, tx3 missed, tx4 correctly silent.
    c = change_score("chg", np.array([10, 20, 30, -1, -1]), np.array([10, 21, -1, 40, -1]))
    assert (c.tp, c.fp, c.fn) == (1, 2, 2)

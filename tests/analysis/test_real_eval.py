"""The classifiers on real labelled CoinJoins and real background blocks (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chaintrail.analysis import mixers as M
from chaintrail.analysis.labelled_txs import parse_dumplings_lines, read_dumplings
from chaintrail.analysis.real_eval import DUMPLINGS, evaluate_real, label_set
from chaintrail.errors import DecodeError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def real():
    if not (DATA / DUMPLINGS).exists():
        pytest.fail(f"real label sets missing at {DATA}")
    return evaluate_real(DATA)


def _row(real, name, dataset_part=""):
    return [r for r in real["positives"] if r["name"] == name and dataset_part in r["dataset"]]


def test_every_whirlpool_pool_is_whirlpool_and_never_chip(real):
    (row,) = _row(real, "coinjoin: whirlpool")
    assert set(row["by_pool"]) == {"0.001", "0.01", "0.05", "0.5"}
    for pool, p in row["by_pool"].items():
        assert p["tp"] == p["positives"] > 100, pool
        assert p["chip_labels"] == 0, pool
    assert row["recall"] == 1.0 and row["labelled_as"] == {}


def test_wasabi1_recall_on_the_raw_2018_rounds(real):
    (row,) = _row(real, "coinjoin: wasabi1", "wasabi1-raw")
    assert row["positives"] == 700 and row["recall"] >= 0.95
    (structural,) = _row(real, "coinjoin: wasabi1 (structure only, no coordinator address)")
    assert structural["tp"] < row["tp"]          # the coordinator's address is evidence that counts
    for r in _row(real, "coinjoin: wasabi1", "dumplings"):
        assert r["recall"] >= 0.95, r["dataset"]


def test_intervals_and_background_listing(real):
    for r in real["positives"]:
        lo, hi = r["recall_ci95"]
        assert lo <= r["recall"] <= hi and r["tp"] + r["fn"] == r["positives"]
    b = real["background"]
    assert b["txs"] > 40_000 and b["mixing_labels"] == len(b["positives"])
    assert b["per_10k"] == round(b["mixing_labels"] / b["txs"] * 10_000, 2)
    # Every listed positive says whether it was made without input values (reduced confidence).
    assert b["without_input_values"] == sum(not p["input_values_known"] for p in b["positives"])
    assert all(len(p["txid"]) == 64 for p in b["positives"])


def test_hundred_k_pool_mix_is_not_a_chip_split():
    # A real 0.001 BTC pool mix (5 in, 5 out of exactly 100,000 sat): its outputs are also the smallest chip.
    txs, _ = read_dumplings(DATA / DUMPLINGS / "dumplings__sw_202403.zip", ["Scanner/SamouraiCoinJoins.txt"])
    first = txs.tx_first_out[:-1].astype(np.int64)
    hundred_k = np.flatnonzero(txs.out_value[first] == 100_000)
    labels = label_set(txs)
    assert len(hundred_k) > 100 and (labels[hundred_k] == M.L_WHIRLPOOL).all()


def test_unknown_input_values_need_distinct_owners():
    # Three equal outputs, four inputs of unknown value, all from ONE address: no positive evidence.
    one = np.zeros(4, np.uint32)
    many = np.arange(4, dtype=np.uint32)
    fi = np.array([0, 4], np.uint32)
    fo = np.array([0, 4], np.uint32)
    ins = np.full(4, -1, np.int64)
    outs = np.array([300_000, 300_000, 300_000, 12_345], np.int64)
    types = np.full(4, 4, np.uint8)
    cb = np.zeros(1, np.bool_)
    assert M.classify(fi, fo, ins, one, outs, types, cb)[0] == M.L_NONE
    assert M.classify(fi, fo, ins, many, outs, types, cb)[0] == M.L_COINJOIN
    assert not M.values_known(fi, ins)[0]


def test_malformed_dumplings_line_is_named():
    with pytest.raises(DecodeError, match=r"x\.txt:2"):
        parse_dumplings_lines(["", "abc:::def"], "x.txt")

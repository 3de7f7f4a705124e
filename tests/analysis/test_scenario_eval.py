"""Issue-4 figures on a generated chain: the classifier, clustering and change targets hold."""

from __future__ import annotations

import numpy as np
import pytest

from chaintrail.analysis.scenario_eval import evaluate_scenario
from chaintrail.scenario.generator import generate


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenario") / "g"
    generate(out, seed=11, kind="all", scale=2.0)
    res = evaluate_scenario(out)
    return {s["name"]: s for s in res["scores"]}


def test_coinjoin_and_mixer_classification(scores):
    s = scores["coinjoin or mixer"]
    assert s["tp"] > 30
    assert s["precision"] >= 0.98 and s["recall"] >= 0.95


def test_every_coinjoin_protocol_is_named(scores):
    for name, s in scores.items():
        if name.startswith("coinjoin: "):
            assert s["recall"] == 1.0 and s["precision"] >= 0.95, name


def test_multi_input_clusters_pairwise_precision(scores):
    s = scores["multi-input clustering"]
    assert s["tp"] > 1000 and s["precision"] >= 0.99


def test_change_detection_precision(scores):
    s = scores["change: combined vote"]
    assert s["precision"] >= 0.9 and s["recall"] >= 0.5

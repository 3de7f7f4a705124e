"""The error-rate table: Wilson intervals, figures per source, 'not measured' never zero, docs from the JSON,
and the fingerprint that notices a changed heuristic."""

from __future__ import annotations

import shutil

import pytest

from chaintrail.analysis import error_rates as ER
from chaintrail.analysis.error_rate_docs import BEGIN, END, block_of, render, replace_block
from chaintrail.analysis.evaluation import Score, wilson
from chaintrail.analysis.rate_inputs import fingerprint, heuristic_versions, package_root, staleness


@pytest.mark.parametrize("k,n,lo,hi", [
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score)
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
    (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634),
])
def test_wilson_matches_published_values(k, n, lo, hi):
    got = wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)


def test_wilson_edges():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(3, 2)
    s = Score.of("x", 9, 1, 0)
    assert s.precision_ci() == wilson(9, 10) and s.recall_ci() == wilson(9, 9)


def _result(seed, scores, txs=1000):
    return {"scenario": {"seed": seed, "kind": "all", "scale": 1.0}, "txs": txs,
            "scores": [{"name": n, "tp": tp, "fp": fp, "fn": fn} for n, tp, fp, fn in scores]}


# The stub stands in for analysis.real_eval's result in this test only: its interface, not its figures.
REAL = {"scores": [
    {"name": "coinjoin: whirlpool", "tp": 90, "fp": None, "fn": 10, "dataset": "dumplings whirlpool"},
    {"name": "coinjoin: wasabi1", "tp": 40, "fp": None, "fn": 0, "dataset": "dumplings ww1"},
    {"name": "coinjoin: wasabi1", "tp": 50, "fp": None, "fn": 10, "dataset": "raw 2018 rounds"},
    {"name": "multi-input clustering", "tp": 10, "fp": 0, "fn": 5, "dataset": "labelled wallets"},
]}


@pytest.fixture
def table():
    ins = [_result(1, [("coinjoin: whirlpool", 20, 0, 0), ("coinjoin or mixer", 50, 1, 2),
                       ("change: combined vote", 90, 5, 30)]),
           _result(11, [("coinjoin: whirlpool", 10, 0, 1), ("coinjoin or mixer", 25, 0, 1),
                        ("change: combined vote", 45, 2, 10)])]
    outs = [_result(9000, [("coinjoin: whirlpool", 7, 1, 2), ("coinjoin or mixer", 30, 3, 4)])]
    return ER.build_table(ins, outs, REAL, versions=heuristic_versions(), inputs={"sha256": "x", "files": {}},
                          measured_at="2026-01-01", command="chaintrail heuristics regenerate --quick", quick=True)


def test_figures_per_source_summed_with_intervals(table):
    w = table["heuristics"]["coinjoin:whirlpool"]["figures"]
    ins = w["generated_in_sample"]
    assert (ins["tp"], ins["fp"], ins["fn"]) == (30, 0, 1) and ins["precision_n"] == 30 and ins["recall_n"] == 31
    assert ins["recall_ci95"] == [round(x, 6) for x in wilson(30, 31)]
    assert ins["measured_on"].startswith("seed 1 all scale 1 (1,000 txs); seed 11")
    out = w["generated_out_of_sample"]
    assert (out["precision"], out["recall"]) == (0.875, round(7 / 9, 6))
    real = w["real"]
    assert (real["tp"], real["fn"], real["recall"]) == (90, 10, 0.9) and real["measured_on"] == "dumplings whirlpool"
    # positives only: precision not measured, never 0 or 1
    assert real["fp"] is None and real["precision"] is None and real["precision_ci95"] is None


def test_real_rows_of_one_protocol_add_up(table):
    real = table["heuristics"]["coinjoin:wasabi1"]["figures"]["real"]
    assert (real["tp"], real["fn"]) == (90, 10) and real["measured_on"] == "dumplings ww1; raw 2018 rounds"
    # the any-mixing row on real data is the sum of the protocol rows (protocol named correctly)
    cj = table["heuristics"]["coinjoin"]["figures"]["real"]
    assert (cj["tp"], cj["fn"]) == (180, 20)


def test_missing_sources_say_not_measured(table):
    h = table["heuristics"]
    assert h["change"]["figures"]["real"] == {"status": "not measured",
                                              "reason": "no real labelled data for this heuristic"}
    assert h["change"]["figures"]["generated_out_of_sample"]["status"] == "not measured"
    assert h["peel-chain"]["status"] == "not measured"
    assert all(f["status"] == "not measured" for f in h["tag-propagation"]["figures"].values())
    for e in h.values():
        for f in e["figures"].values():
            assert f["status"] in ("measured", "not measured")
            if f["status"] == "not measured":
                assert set(f) == {"status", "reason"}          # no rates at all, not zeros
    no_real = ER.build_table([], [], None, real_reason="no real data folder given", versions={}, inputs={},
                             measured_at="x", command="c")
    assert no_real["sources"]["real"] == {"status": "not measured", "reason": "no real data folder given"}
    assert no_real["heuristics"]["coinjoin"]["figures"]["real"]["reason"] == "no real data folder given"


def test_versions_recorded(table):
    v = heuristic_versions()
    h = table["heuristics"]
    assert h["coinjoin:whirlpool"]["version"] == v["coinjoin"] and h["change:type_match"]["version"] == "type_match/1"
    assert h["multi-input"]["version"] == v["multi-input"]


def test_markdown_is_rendered_from_the_table(table):
    md = render(table)
    row = next(line for line in md.splitlines() if line.startswith("| coinjoin:whirlpool |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:4] == ["not measured (positives only)", "0.9000 [0.8256, 0.9448] (90/100)"]
    assert cells[4] == "0.8750 [0.5291, 0.9776] (7/8)"
    assert "**quick run**" in md and "not measured (no real labelled data" not in md
    doc = f"# x\n\n{BEGIN}\nold\n{END}\n\ntail\n"
    new = replace_block(doc, table)
    assert block_of(new) == md and new.endswith(f"{END}\n\ntail\n") and "old" not in new
    from chaintrail.errors import UsageError
    with pytest.raises(UsageError):
        replace_block("# no markers\n", table)


def test_fingerprint_notices_a_changed_rule(tmp_path):
    root = tmp_path / "chaintrail"
    shutil.copytree(package_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    before = fingerprint(root)
    assert "analysis/mixers.py" in before["files"] and "scenario/generator.py" in before["files"]
    assert "cases/report.py" not in before["files"]
    assert fingerprint(root) == before
    (root / "cases" / "report.py").write_text("# not an input of the figures\n")
    assert fingerprint(root)["sha256"] == before["sha256"]
    f = root / "analysis" / "heuristics" / "type_match.py"
    f.write_text(f.read_text() + "\n# a changed rule\n")
    after = fingerprint(root)
    assert after["sha256"] != before["sha256"]
    assert [k for k in after["files"] if after["files"][k] != before["files"][k]] == ["analysis/heuristics/type_match.py"]
    v = heuristic_versions()
    assert fingerprint(root, v | {"coinjoin": "tx-classifier/999"})["sha256"] != fingerprint(root, v)["sha256"]


def test_staleness_names_the_changed_file_and_version(tmp_path, table):
    root = tmp_path / "chaintrail"
    shutil.copytree(package_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    table = dict(table, inputs=fingerprint(root))
    assert staleness(table, root) == []
    (root / "analysis" / "clustering.py").write_text("# changed\n")
    problems = staleness(table, root)
    assert len(problems) == 1 and "analysis/clustering.py" in problems[0]
    table["heuristics"]["change:fingerprint"]["version"] = "fingerprint/0"
    assert "change:fingerprint: figures measured version fingerprint/0, the code is fingerprint/1" in staleness(table, root)

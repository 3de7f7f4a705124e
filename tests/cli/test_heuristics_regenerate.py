"""`chaintrail heuristics regenerate --quick` end to end: generates in- and out-of-sample chains, evaluates them,
and writes error_rates.json, the docs table and the doc's marked block, all saying the same thing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chaintrail.analysis.error_rate_docs import BEGIN, END, block_of, render, table_file
from chaintrail.analysis.rate_inputs import fingerprint, staleness
from chaintrail.analysis.rate_regen import QUICK_IN_SAMPLE, QUICK_OUT_OF_SAMPLE
from chaintrail.cli.main import app


def test_regenerate_quick_writes_json_and_docs(tmp_path):
    doc = tmp_path / "heuristics.md"
    doc.write_text(f"# Heuristics\n\n{BEGIN}\nstale\n{END}\n\nKnown limits.\n")
    rates, table = tmp_path / "error_rates.json", tmp_path / "table.md"
    res = CliRunner().invoke(app, ["heuristics", "regenerate", "--quick", "--rates", str(rates), "--table", str(table),
                                   "--doc", str(doc), "--workdir", str(tmp_path / "work")])
    assert res.exit_code == 0, res.output
    t = json.loads(rates.read_text())
    assert t["format"] == "chaintrail-error-rates/2" and t["quick"] is True
    runs = {s: [r["seed"] for r in t["sources"][s]["runs"]] for s in ("generated_in_sample", "generated_out_of_sample")}
    assert runs == {"generated_in_sample": [r.seed for r in QUICK_IN_SAMPLE],
                    "generated_out_of_sample": [r.seed for r in QUICK_OUT_OF_SAMPLE]}
    assert t["sources"]["real"] == {"status": "not measured", "reason": "no real data folder given (--real-data)"}
    wp = t["heuristics"]["coinjoin:whirlpool"]["figures"]
    assert wp["generated_out_of_sample"]["tp"] > 0 and wp["generated_in_sample"]["tp"] > 0
    assert wp["real"]["status"] == "not measured"
    assert t["inputs"] == fingerprint() and staleness(t) == []
    assert table.read_text() == table_file(t) and block_of(doc.read_text()) == render(t)
    assert doc.read_text().startswith("# Heuristics\n\n") and doc.read_text().endswith("Known limits.\n")
    assert list((tmp_path / "work").iterdir()) == []         # scratch chains removed


def test_regenerate_refuses_a_doc_without_markers_before_measuring(tmp_path):
    doc = tmp_path / "heuristics.md"
    doc.write_text("# no markers\n")
    res = CliRunner().invoke(app, ["heuristics", "regenerate", "--quick", "--rates", str(tmp_path / "r.json"),
                                   "--table", str(tmp_path / "t.md"), "--doc", str(doc)])
    assert res.exit_code == 5 and "error-rate markers" in res.output and not (tmp_path / "r.json").exists()


def test_check_reports_stale_figures(tmp_path):
    stale = tmp_path / "r.json"
    stale.write_text(json.dumps({"format": "chaintrail-error-rates/2", "inputs": {"sha256": "0" * 64, "files": {}},
                                 "heuristics": {}}))
    res = CliRunner().invoke(app, ["heuristics", "check", "--rates", str(stale)])
    assert res.exit_code == 1 and "stale:" in res.output and "chaintrail heuristics regenerate" in res.output

"""`chaintrail scenario generate` from the command line, and the chain through `chaintrail ingest btc`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chaintrail.cli.scenario import app

runner = CliRunner()


def test_cli_generate_json_summary(tmp_path):
    out = tmp_path / "blocks"
    res = runner.invoke(app, ["generate", "--seed", "4", "--out", str(out), "--kind", "darknet", "--scale", "0.5",
                              "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    key = json.loads((out / "answer_key.json").read_text())
    assert summary["txs"] == key["totals"]["txs"]
    assert summary["cases"] == ["darknet-1", "darknet-2", "darknet-3"] == [c["id"] for c in key["cases"]]


def test_cli_rejects_unknown_kind_with_usage_exit_code(tmp_path):
    res = runner.invoke(app, ["generate", "--seed", "1", "--out", str(tmp_path / "x"), "--kind", "bogus"])
    assert res.exit_code == 5
    assert "unknown scenario kind" in res.output


def test_ingest_store_totals_match_the_answer_key(scenario, key, tmp_path):
    pytest.importorskip("chaintrail.ingest.btc_job")
    from chaintrail.cli.main import app as main_app

    store = tmp_path / "store"
    res = runner.invoke(main_app, ["ingest", "btc", "--blocks-dir", str(scenario.out_dir), "--store", str(store),
                                   "--json"])
    assert res.exit_code == 0, res.output

    def sql(q: str) -> list[dict]:
        r = runner.invoke(main_app, ["sql", q, "--store", str(store), "--json"])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout.strip().splitlines()[-1])

    t = key["totals"]
    [row] = sql("SELECT count(*) AS n, sum(value_sat) AS v, "
                "sum(CASE WHEN spent_by_txid IS NULL THEN value_sat ELSE 0 END) AS unspent, "
                "count(*) FILTER (WHERE spent_by_txid IS NULL) AS n_unspent FROM outputs")
    assert tuple(int(row[k]) for k in ("n", "v", "unspent", "n_unspent")) == \
        (t["outputs"], t["total_output_value_sat"], t["unspent_value_sat"], t["unspent_outputs"])
    [row] = sql("SELECT count(*) AS n, sum(value_sat) AS v FROM inputs WHERE value_sat IS NOT NULL")
    assert (int(row["n"]), int(row["v"])) == (t["inputs"], t["spent_value_sat"])
    [row] = sql("SELECT count(*) AS n, sum(fee_sat) AS fees FROM txs")
    assert (int(row["n"]), int(row["fees"])) == (t["txs"], t["fees_sat"])
    blocks = sql("SELECT height, hash FROM blocks ORDER BY height")
    assert [(b["height"], b["hash"]) for b in blocks] == [(b["height"], b["hash"]) for b in key["blocks"]]

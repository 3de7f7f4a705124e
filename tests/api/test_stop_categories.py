"""An unknown stop category is refused at every edge (CLI exit 5, API 400) with the valid ones listed."""

from __future__ import annotations

from typer.testing import CliRunner

from chaintrail.cli.main import app

SUBJECT = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"


def test_cli_trace_refuses_a_misspelt_stop_category(mainnet_store):
    res = CliRunner().invoke(app, ["trace", "--store", str(mainnet_store), "--from", SUBJECT,
                                   "--stop-category", "exchnage", "--json"])
    assert res.exit_code == 5 and res.stdout == ""
    assert res.stderr.count("\n") == 1
    assert "unknown stop category 'exchnage'; valid: " in res.stderr and "exchange" in res.stderr
    ok = CliRunner().invoke(app, ["trace", "--store", str(mainnet_store), "--from", SUBJECT,
                                  "--stop-category", "exchange", "--stop-category", "mixer", "--json"])
    assert ok.exit_code == 0, ok.stderr


def test_api_trace_refuses_a_misspelt_stop_category(mainnet_api):
    for fmt in ("json", "csv"):
        r = mainnet_api.get("/trace", source=SUBJECT, stop=["exchange", "exchnage"], format=fmt)
        assert r.status_code == 400, (fmt, r.status_code, r.text[:200])
        assert r.json()["error"].startswith("unknown stop category 'exchnage'; valid: ")
    assert mainnet_api.get("/trace", source=SUBJECT, stop=["exchange", "mixer"]).status_code == 200

"""`chaintrail follow` names the case database it records alerts in, but never with the database's password."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))

from ct_cases import PgDatabases, pg_admin_dsn  # noqa: E402

from chaintrail.cli.main import app  # noqa: E402


def test_follow_names_a_postgresql_case_database_without_its_password(tmp_path, monkeypatch):
    pg = PgDatabases(pg_admin_dsn())
    try:
        dsn = pg.new()
        password = urlsplit(dsn).password
        assert password and len(password) >= 6
        monkeypatch.delenv("CHAINTRAIL_CASES_DB", raising=False)
        res = CliRunner().invoke(app, ["follow", "--rpc", "http://127.0.0.1:1", "--chain", "eth", "--db", dsn,
                                       "--store", str(tmp_path / "store"), "--stop-after", "0",
                                       "--retry-max", "0.01", "--timeout", "1"])
        assert res.exit_code == 0, res.output
        out = " ".join(res.output.split())          # the console wraps long lines
        assert "alerts go to postgresql" in out and "@127.0.0.1" in out
        assert password not in res.output
    finally:
        pg.drop_all()

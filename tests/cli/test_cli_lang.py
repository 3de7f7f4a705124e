"""`chaintrail --lang`: the CLI's own words in the chosen language, errors still one line, bad languages refused."""

from __future__ import annotations

from typer.testing import CliRunner

from chaintrail.cli.main import app


def test_lang_uk_error_line_and_exit_code(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_LANG", raising=False)
    r = CliRunner().invoke(app, ["--lang", "uk", "sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.exit_code == 4
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("помилка: ")
    r = CliRunner().invoke(app, ["sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.output.startswith("error: ")


def test_env_language_and_unknown_language(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_LANG", "uk")
    r = CliRunner().invoke(app, ["sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.output.startswith("помилка: ")
    r = CliRunner().invoke(app, ["--lang", "xx", "sql", "SELECT 1"])
    assert r.exit_code == 5 and "unknown language 'xx' (available: en, uk)" in r.output

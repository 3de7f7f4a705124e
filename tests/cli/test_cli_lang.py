"""`chaintrail --lang`: the CLI's own words in the chosen language, errors still one line, bad languages refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from chaintrail.analysis.tracing import TraceParams
from chaintrail.cli.main import app
from chaintrail.errors import UsageError
from chaintrail.i18n import catalogs, use_language


@pytest.fixture(autouse=True)
def _language_reset():
    """The CLI sets the process's language (CliRunner runs in this process): undo it for the tests after."""
    yield
    catalogs._language.set(None)


def test_lang_uk_error_line_and_exit_code(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_LANG", raising=False)
    r = CliRunner().invoke(app, ["--lang", "uk", "sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.exit_code == 4
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("помилка: ")
    assert "немає сховища ланцюжка" in lines[0] and "chaintrail ingest" in lines[0]      # the store's own words
    r = CliRunner().invoke(app, ["sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.output.startswith("error: ") and "no chain store at" in r.output


def test_lang_uk_trace_refusals_from_the_library(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_LANG", raising=False)
    with use_language("uk"), pytest.raises(UsageError, match="напрям має бути forward"):
        TraceParams(direction="sideways").check()
    with pytest.raises(UsageError, match="direction must be forward or backward, not 'sideways'"):
        TraceParams(direction="sideways").check()


def test_env_language_and_unknown_language(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_LANG", "uk")
    r = CliRunner().invoke(app, ["sql", "SELECT 1", "--store", str(tmp_path / "none")])
    assert r.output.startswith("помилка: ")
    r = CliRunner().invoke(app, ["--lang", "xx", "sql", "SELECT 1"])
    assert r.exit_code == 5 and "unknown language 'xx' (available: en, uk)" in r.output

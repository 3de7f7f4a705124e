"""`chaintrail watch` end to end: a webhook into the server's own network is refused in one line (exit 5) unless
the operator allows it; the watch's secret is printed once and never listed; a malformed watch says why; the
same command in Ukrainian."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chaintrail.cli.main import app
from chaintrail.i18n import set_language

ETH = "0x" + "ab" * 20


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == code, (args, res.exit_code, res.output)
    return res.output


def test_watch_add_list_remove_with_a_safe_webhook(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_CASES_DB", raising=False)
    monkeypatch.delenv("CHAINTRAIL_WEBHOOK_ALLOW", raising=False)
    a = ["--db", str(tmp_path / "nca.sqlite"), "--store", str(tmp_path / "store"), "--user", "alice",
         "--agency", "NCA"]
    ref = json.loads(run("case", "new", "Watched", *a, "--json"))["ref"]
    hook = "http://127.0.0.1:9/hook"
    out = run("watch", "add", ref, "--chain", "eth", "--kind", "address", "--target", ETH, "--webhook", hook, *a,
              code=5)
    assert len(out.strip().splitlines()) == 1 and "loopback address" in out and "CHAINTRAIL_WEBHOOK_ALLOW" in out
    out = run("watch", "add", ref, "--chain", "eth", "--kind", "address", "--target", "0x12", *a, code=5)
    assert "not an Ethereum address" in out

    monkeypatch.setenv("CHAINTRAIL_WEBHOOK_ALLOW", "127.0.0.0/8")
    out = run("watch", "add", ref, "--chain", "eth", "--kind", "address", "--target", ETH, "--webhook", hook, *a)
    secret = out.split("it): ", 1)[1].split()[0]
    assert out.startswith("watch 1 added to") and len(secret) >= 40
    listed = run("watch", "list", ref, *a, "--json")
    assert json.loads(listed)[0]["notify"]["webhook"] == hook and secret not in listed
    assert secret not in run("watch", "list", ref, *a)
    assert "watch 1 removed from" in run("watch", "remove", "1", *a)

    try:
        uk = run("--lang", "uk", "watch", "add", ref, "--chain", "eth", "--kind", "address", "--target", "0x12", *a,
                 code=5)
    finally:
        set_language(None)          # the in-process CLI set it for this thread: back to the default for others
    assert "0x12" in uk and "Ethereum address" not in uk

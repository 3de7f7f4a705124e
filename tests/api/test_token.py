"""The API token: compared byte for byte, refused when a header cannot carry it, read from a file or the environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from test_cli_workbench import CLI, _read_until, _stop

from chaintrail.api import create_app
from chaintrail.api.auth import token_error

CYRILLIC = "ключ-секрет-0123456789abcdef"


def test_a_non_ascii_token_is_refused_not_turned_into_question_marks(mainnet_store):
    with pytest.raises(ValueError, match="printable ASCII"):
        create_app(mainnet_store, token=CYRILLIC)
    with pytest.raises(ValueError, match="printable ASCII"):
        create_app(mainnet_store, token="with a space in it 0123")
    # Whatever holds such a token compares bytes: '????' is not it, its UTF-8 bytes are.
    assert token_error(b"Bearer " + b"?" * len(CYRILLIC), CYRILLIC) == "wrong token"
    assert token_error(b"Bearer " + CYRILLIC.encode("utf-8"), CYRILLIC) is None
    assert token_error(b"Bearer " + CYRILLIC.encode("utf-8")[:-1], CYRILLIC) == "wrong token"


def _run(args: list[str], **env) -> subprocess.CompletedProcess:
    # A refused token stops `serve` before it binds; one accepted would serve until the timeout.
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "CHAINTRAIL_TOKEN": "", **env})


def test_serve_refuses_bad_tokens_in_one_line(mainnet_store, tmp_path):
    store = ["serve", "--store", str(mainnet_store), "--port", "0"]
    r = _run([*store, "--token", CYRILLIC])
    assert r.returncode == 5 and "--token: an API token must be printable ASCII" in r.stderr
    assert r.stderr.count("\n") == 1
    r = _run(store, CHAINTRAIL_TOKEN=CYRILLIC)
    assert r.returncode == 5 and "$CHAINTRAIL_TOKEN: an API token must be printable ASCII" in r.stderr
    r = _run([*store, "--token-file", str(tmp_path / "missing")])
    assert r.returncode == 5 and f"cannot read token file {tmp_path / 'missing'}" in r.stderr
    (tmp_path / "short").write_text("short\n")
    r = _run([*store, "--token-file", str(tmp_path / "short")])
    assert r.returncode == 5 and "short: an API token must be at least 16 characters" in r.stderr
    r = _run([*store, "--token", "a" * 20, "--token-file", str(tmp_path / "short")])
    assert r.returncode == 5 and "not both" in r.stderr


@pytest.mark.parametrize("via", ["file", "env"])
def test_serve_reads_the_token_from_a_file_or_the_environment(mainnet_store, tmp_path, via):
    token = "from-" + via + "-Zq3xV9kLm2Pw7"
    env = {**os.environ, "COLUMNS": "200", "CHAINTRAIL_TOKEN": ""}
    args = [*CLI, "serve", "--store", str(mainnet_store), "--port", "0", "--trace-workers", "0"]
    if via == "file":
        f = tmp_path / "token"
        f.write_text(token + "\n")
        f.chmod(0o600)
        args += ["--token-file", str(f)]
    else:
        env["CHAINTRAIL_TOKEN"] = token
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        m, _ = _read_until(proc, r"open\s+(http://127\.0\.0\.1:\d+/)#token=(\S+)")
        url = m.group(1)
        assert m.group(2) == token
        # What `ps` shows holds no token.
        assert token.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        ok = httpx.get(url + "api/v1/meta", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()["counts"]["blocks"] > 0
        assert httpx.get(url + "api/v1/meta", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    finally:
        assert _stop(proc) == 0

"""Long CLI work shows a progress bar (rate, ETA) on a terminal, and nothing extra when piped or with --json."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("chaintrail"))


def piped(*args: str) -> str:
    """stdout of a CLI run whose stdout is a pipe (not a terminal)."""
    r = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


def on_terminal(*args: str) -> str:
    """Everything a CLI run writes to a pseudo-terminal (stdout and stderr), as text without colour codes."""
    master, slave = pty.openpty()
    env = os.environ | {"COLUMNS": "160", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    p = subprocess.Popen([CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:       # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    os.close(master)
    assert p.wait(600) == 0, out.decode(errors="replace")[-2000:]
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode(errors="replace"))


def test_piped_and_json_output_is_only_the_result(tmp_path, btc_data):
    """No blank line or control codes where a live display would have been: the output is the summary alone."""
    blocks = btc_data / "mainnet" / "core-blocks-0-599"
    store = str(tmp_path / "store")
    out = piped("ingest", "btc", "--blocks-dir", str(blocks), "--store", store)
    assert out.startswith("ingested 600 blocks, 616 txs, 625 inputs, 627 outputs;"), repr(out[:80])
    assert "\x1b" not in out
    out = piped("cluster", "--store", store)
    assert " ".join(out.split(" \n")) == ("clustered 616 new txs (625 inputs, 8 merges): 606 entities over 614 "
                                         "addresses, largest 5\n"), repr(out)
    store2 = str(tmp_path / "store2")
    for args in (("ingest", "btc", "--blocks-dir", str(blocks), "--store", store2, "--json"),
                 ("cluster", "--store", store2, "--json"),
                 ("scenario", "generate", "--seed", "5", "--scale", "0.2", "--out", str(tmp_path / "gen"), "--json")):
        out = piped(*args)
        assert out.count("\n") == 1 and out.endswith("\n"), (args, out[:200])
        json.loads(out)


def test_a_terminal_gets_a_bar_with_rate_and_eta(tmp_path, btc_data):
    out = on_terminal("scenario", "generate", "--seed", "5", "--scale", "0.5", "--out", str(tmp_path / "gen"))
    assert "generating" in out and "━" in out and "txs/s" in out, out[-2000:]
    assert "wrote " in out
    store = str(tmp_path / "store")
    out = on_terminal("ingest", "btc", "--blocks-dir", str(btc_data / "mainnet" / "core-blocks-0-599"),
                      "--store", store)
    assert "ingest" in out and "━" in out and "ingested 600 blocks" in out
    out = on_terminal("cluster", "--store", store)
    assert "labelling CoinJoins" in out and "━" in out and "clustered 616 new txs" in out
    # --json on a terminal: still only the JSON.
    out = on_terminal("cluster", "--store", store, "--json")
    assert "━" not in out and json.loads(out)["txs_new"] == 0

"""The README's first command and `chaintrail serve`, as a user runs them: real processes, real sockets."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from ct_workbench import DEMO_TRACE

CLI = [str(Path(sys.executable).parent / "chaintrail")]


def _read_until(proc: subprocess.Popen, pattern: str, timeout: float = 180.0) -> tuple[re.Match, str]:
    """Read the process's stdout (raw, so no line waits in a Python buffer) until a line matches ``pattern``."""
    fd = proc.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    seen = ""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if sel.select(0.5):
            chunk = os.read(fd, 65536).decode(errors="replace")
            if not chunk:
                break
            seen += chunk
            for line in seen.splitlines():
                m = re.search(pattern, line)
                if m:
                    return m, seen
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no line matching {pattern!r}; output so far:\n{seen}\nstderr: "
                         f"{proc.stderr.read() if proc.poll() is not None else ''}")


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_demo_command_serves_the_case(tmp_path):
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([*CLI, "demo", "--dir", str(tmp_path / "demo"), "--scale", "1", "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        m, _ = _read_until(proc, r"^\{.*\"url\".*\}$")
        ready = json.loads(m.group(0))
        # Readiness time is measured, not asserted: a cold numba cache on a fresh clone compiles for minutes.
        assert ready["ready_s"] > 0 and ready["source"] == "scenario"
        h = {"Authorization": f"Bearer {ready['token']}"}
        meta = httpx.get(ready["url"] + "api/v1/meta", headers=h).json()
        assert meta["case"]["subject"] == ready["subject"] and meta["network"] == "regtest"
        assert httpx.get(ready["url"] + "api/v1/meta").status_code == 401
        a = httpx.get(ready["url"] + f"api/v1/addresses/{ready['subject']}", headers=h).json()
        assert a["received_sat"] > 0
        assert "cytoscape" in httpx.get(ready["url"] + "vendor/manifest.json").text
        # Traces run in the trace worker process; the answer is the engine's, to the hash.
        src = f"cluster:{a['cluster']}"
        r = httpx.get(ready["url"] + "api/v1/trace", params={"source": src, **DEMO_TRACE}, headers=h, timeout=60).json()
        from chaintrail.analysis.tracing import TraceEngine, TraceParams
        from chaintrail.store.chainstore import ChainStore
        with ChainStore(ready["store"]) as st:
            ref = TraceEngine.open(st).trace(src, TraceParams(max_hops=DEMO_TRACE["max_hops"],
                                                              stop_categories=tuple(DEMO_TRACE["stop"]),
                                                              mixer_policy=DEMO_TRACE["mixer_policy"])).to_dict()
        assert r["trace_hash"] == ref["trace_hash"] and r["totals"] == ref["totals"]
    finally:
        _stop(proc)


def test_serve_prints_url_and_token(mainnet_store):
    env = {**os.environ, "COLUMNS": "200", "CHAINTRAIL_TOKEN": ""}
    proc = subprocess.Popen([*CLI, "serve", "--store", str(mainnet_store), "--port", "0", "--trace-workers", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        m, _ = _read_until(proc, r"open\s+(http://127\.0\.0\.1:\d+/)#token=(\S+)")
        url, token = m.group(1), m.group(2)
        r = httpx.get(url + "api/v1/addresses/12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S",
                      headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["first_seen"]["height"] == 9
        assert httpx.get(url + "api/v1/meta", headers={"Authorization": "Bearer nope-nope-nope-nope"}).status_code == 401
    finally:
        assert _stop(proc) == 0


def test_serve_refuses_a_short_token_and_a_missing_store(tmp_path):
    r = subprocess.run([*CLI, "serve", "--store", str(tmp_path / "none"), "--port", "0"], capture_output=True,
                       text=True, env={**os.environ, "CHAINTRAIL_TOKEN": ""}, check=False)
    assert r.returncode == 4 and "no chain store" in r.stderr
    r = subprocess.run([*CLI, "serve", "--store", str(tmp_path), "--token", "short"], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 5 and "at least 16 characters" in r.stderr and r.stderr.count("\n") == 1

"""Cold start: a fresh clone, `bash scripts/setup.sh`, then the first and the second `chaintrail demo` to a ready workbench.

    .venv/bin/python bench/cold_start.py                 # packages reused from this checkout's .venv (see below)
    .venv/bin/python bench/cold_start.py --fresh-venv    # setup.sh builds the clone's own venv (pip, ~1.8 GB)
    .venv/bin/python bench/cold_start.py --peer          # also the first demo without setup's warmed kernels

Clones this repository's HEAD (``git clone``: committed work only) into
``/tmp/cold-*/main`` with ``/tmp/cold-*/shared`` linked to the ``../shared``
beside this checkout, as a user's fresh clone would have it, and runs
``scripts/setup.sh`` there. Then it starts ``chaintrail demo --port 0 --json``
twice and times each from process start until the workbench URL answers 200,
and then the first trace the guided steps ask for (the ransom address, forward,
demix) through the REST API, as the UI sends it. The folder is deleted after.

What a real fresh clone would not have, said plainly:

- by default the clone's ``.venv`` is a thin venv over this checkout's installed
  packages (a ``.pth`` naming the clone's ``src`` and this ``.venv``'s
  site-packages), and setup.sh's pip step is skipped: pip is not what this
  measures, and a second 1.8 GB venv does not fit the disk. ``--fresh-venv``
  lets setup.sh install it (from pip's cache on this machine, as a user here would).
- npm ci runs in the clone (the workbench's libraries and anvil), from npm's
  cache on this machine, as a user here would.
- nothing of numba's cache is reused: it lives in ``__pycache__`` beside each
  source of the clone, which git does not carry; NUMBA_CACHE_DIR is unset.

Peer figure (``--peer``, same run): the first demo with numba's cache pointed
at an empty folder, i.e. what a fresh clone got before setup.sh warmed the kernels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]


def sh(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout.strip()


def thin_venv(repo: Path, clone: Path) -> None:
    """The clone's .venv: its own interpreter, importing the clone's src, then this checkout's packages."""
    py = repo / ".venv" / "bin" / "python"
    sh([str(py), "-m", "venv", "--without-pip", str(clone / ".venv")])
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    theirs, ours = sh([str(py), "-c", purelib]), sh([str(clone / ".venv/bin/python"), "-c", purelib])
    # A path named in a .pth is put on sys.path without reading its own .pth files: this checkout's
    # editable install (its src) stays out, the clone's src comes first.
    Path(ours, "_chaintrail_reuse.pth").write_text(f"{clone / 'src'}\n{theirs}\n")
    script = clone / ".venv/bin/chaintrail"
    # As pip writes it: trace workers are spawned processes that import this file again as __mp_main__.
    script.write_text(f"#!{clone / '.venv/bin/python'}\nimport sys\nfrom chaintrail.cli.main import app\n"
                      "if __name__ == '__main__':\n    sys.exit(app())\n")
    script.chmod(0o755)
    # setup.sh's pip step is keyed on pyproject.toml: mark it done.
    (clone / ".venv/.chaintrail-installed").write_text(
        hashlib.sha256((clone / "pyproject.toml").read_bytes()).hexdigest() + "\n")


def get(url: str, token: str | None = None, timeout: float = 600.0) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        r.read()
        return r.status


def demo_run(clone: Path, work: Path, env: dict, timeout: float) -> dict:
    """Start the demo; seconds until the workbench answers and for the guided first trace; then stop it."""
    t0 = time.perf_counter()
    err = open(work.with_suffix(".stderr"), "w")
    p = subprocess.Popen([str(clone / ".venv/bin/chaintrail"), "demo", "--dir", str(work), "--port", "0", "--json"],
                         cwd=clone, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in p.stdout], daemon=True).start()
    try:
        try:
            info = json.loads(lines.get(timeout=timeout))
        except queue.Empty:
            raise SystemExit(f"the demo printed nothing in {timeout:.0f} s; see {err.name}") from None
        except json.JSONDecodeError:
            raise SystemExit(f"the demo failed; see {err.name}") from None
        base = "{0.scheme}://{0.netloc}".format(urlsplit(info["url"]))
        while True:
            try:
                if get(base + "/", timeout=5) == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout:
                raise SystemExit(f"the workbench at {base} did not answer in {timeout:.0f} s")
            time.sleep(0.05)
        ready = time.perf_counter() - t0
        t = time.perf_counter()
        get(f"{base}/api/v1/trace?source={quote(info['subject'])}&direction=forward&mixer_policy=demix",
            info["token"], timeout=timeout)
        return {"ready_s": ready, "demo_ready_s": info.get("ready_s"), "first_trace_s": time.perf_counter() - t}
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        err.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=ROOT, help="Checkout to clone (its HEAD) [default: this one]")
    ap.add_argument("--fresh-venv", action="store_true", help="Let setup.sh build the clone's venv with pip")
    ap.add_argument("--peer", action="store_true", help="Also time a first demo with an empty numba cache")
    ap.add_argument("--keep", action="store_true", help="Keep the /tmp/cold-* folder")
    ap.add_argument("--timeout", type=float, default=900.0, help="Seconds allowed per demo run")
    args = ap.parse_args()
    repo = args.repo.resolve()
    shared = (repo / ".." / "shared").resolve()
    if not (shared / "data").is_dir():
        raise SystemExit(f"no ../shared/data beside {repo}")
    top = Path(tempfile.mkdtemp(prefix="cold-", dir="/tmp"))
    clone = top / "main"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "VIRTUAL_ENV", "CHAINTRAIL_"))}
    try:
        sh(["git", "clone", "--quiet", str(repo), str(clone)])
        (top / "shared").symlink_to(shared)
        head = sh(["git", "-C", str(clone), "log", "-1", "--format=%h %s"])[:90]
        print(f"fresh clone of {repo} at {head}\n  in {clone} (../shared -> {shared})")
        if args.fresh_venv:
            print("  packages: installed by setup.sh into the clone's own .venv (pip, from pip's cache here)")
        else:
            thin_venv(repo, clone)
            print(f"  packages: reused from {repo}/.venv (thin venv, setup.sh's pip step skipped); npm ci and "
                  "numba's cache: the clone's own")
        t = time.perf_counter()
        log = top / "setup.log"
        with open(log, "w") as out:
            rc = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, env=env, stdout=out, stderr=out).returncode
        if rc:
            raise SystemExit(f"setup.sh failed ({rc}):\n{log.read_text()[-2000:]}")
        print(f"setup.sh              {time.perf_counter() - t:6.1f} s  (including `chaintrail warm`)")
        runs = {}
        if args.peer:
            empty = top / "numba-empty"
            empty.mkdir()
            runs["peer: first demo, numba cache empty"] = demo_run(clone, top / "demo-peer",
                                                                  env | {"NUMBA_CACHE_DIR": str(empty)}, args.timeout)
            shutil.rmtree(empty)
            _say("peer: first demo, numba cache empty", runs)
        for name in ("first demo after setup", "second demo"):
            runs[name] = demo_run(clone, top / "demo", env, args.timeout)
            _say(name, runs)
        first, second = runs["first demo after setup"], runs["second demo"]
        print(f"first / second: {first['ready_s'] / second['ready_s']:.2f}x to ready")
        if args.peer:
            peer = runs["peer: first demo, numba cache empty"]
            print(f"peer / first:   {peer['ready_s'] / first['ready_s']:.1f}x to ready, "
                  f"{peer['first_trace_s'] / first['first_trace_s']:.1f}x for the first trace")
        print(json.dumps({k: {m: round(v, 2) if v is not None else None for m, v in r.items()} for k, r in runs.items()}))
        return 0
    finally:
        if args.keep:
            print(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)


def _say(name: str, runs: dict) -> None:
    r = runs[name]
    print(f"{name:38s} workbench answers after {r['ready_s']:6.1f} s (demo's own ready_s {r['demo_ready_s']}); "
          f"first trace (forward, demix) {r['first_trace_s']:5.1f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())

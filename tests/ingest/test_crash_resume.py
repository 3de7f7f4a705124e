"""Crash safety: a killed ingest, rerun, ends byte-identical (content hash) to an uninterrupted one."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaintrail.errors import StoreError
from chaintrail.ingest.btc_job import BtcIngest, _SimulatedCrash
from chaintrail.store.chainstore import ChainStore

BTC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "btc"
DIR_0_599 = BTC / "mainnet" / "core-blocks-0-599"
RAW = sorted(str(p) for p in (BTC / "mainnet" / "raw").glob("block*.raw") if not p.stem.endswith("-undo"))
BATCH = 32 << 10

# The real CLI, only with a small default batch so there are many commits to land between.
RUNNER = f"""
import sys
from chaintrail.ingest.btc_job import BtcIngest
BtcIngest.__init__.__kwdefaults__["batch_bytes"] = {BATCH}
from chaintrail.cli.main import app
store = sys.argv[1]
try:
    app(["ingest", "btc", "--store", store, "--json", "--blocks-dir", {str(DIR_0_599)!r}], standalone_mode=False)
    app(["ingest", "btc", "--store", store, "--json", "--raw", *{RAW!r}], standalone_mode=False)
except SystemExit as exc:
    sys.exit(exc.code)
"""


def run_all(store: Path, kill_after: int | None = None, batch_bytes: int = BATCH) -> None:
    """Blocks folder then every mainnet raw block (the bcoin undo file included)."""
    with BtcIngest(store, batch_bytes=batch_bytes, kill_after_batches=kill_after) as job:
        job.ingest_blocks_dir(DIR_0_599)
        job.ingest_raw(RAW)


def content_hash(store: Path) -> str:
    with ChainStore(store) as st:
        return st.content_hash()


def counts(store: Path) -> dict:
    return json.loads((store / "MANIFEST.json").read_text())["counts"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, str, int]:
    """An uninterrupted store, its hash, and how many commits it took."""
    store = tmp_path_factory.mktemp("ref") / "store"
    run_all(store)
    commits = json.loads((store / "MANIFEST.json").read_text())["next_part"]
    assert commits >= 12  # small batches: many commit points to crash between
    return store, content_hash(store), commits


@pytest.mark.parametrize("phase,kill_after", [("dir", 1), ("dir", 3), ("dir", 4), ("raw", 1), ("raw", 4), ("raw", 8)])
def test_simulated_crash_then_rerun_is_identical(tmp_path: Path, reference, phase: str, kill_after: int):
    ref_store, ref_hash, commits = reference
    store = tmp_path / "s"
    # The hook counts the commits of one source call (the folder, then the raw files).
    dir_commits = 0
    if phase == "raw":
        with BtcIngest(store, batch_bytes=BATCH) as job:
            job.ingest_blocks_dir(DIR_0_599)
        dir_commits = json.loads((store / "MANIFEST.json").read_text())["next_part"]
    with pytest.raises(_SimulatedCrash):
        run_all(store, kill_after=kill_after)
    partial = counts(store)
    assert partial["blocks"] < counts(ref_store)["blocks"]
    assert json.loads((store / "MANIFEST.json").read_text())["next_part"] == dir_commits + kill_after
    assert not (store / "DIRTY").exists()
    # A second crash during the rerun, then a clean finish.
    with pytest.raises(_SimulatedCrash):
        run_all(store, kill_after=1)
    run_all(store)
    assert content_hash(store) == ref_hash
    assert counts(store) == counts(ref_store)


def test_different_batch_sizes_give_the_same_rows(tmp_path: Path, reference):
    ref_store = reference[0]
    store = tmp_path / "big"
    run_all(store, batch_bytes=32 << 20)
    assert counts(store) == counts(ref_store)
    for table in ("blocks", "txs", "inputs", "outputs", "addresses"):
        with ChainStore(store) as a, ChainStore(ref_store) as b:
            assert a.read_table(table).equals(b.read_table(table)), table


def _next_part(store: Path) -> int:
    try:
        return json.loads((store / "MANIFEST.json").read_text())["next_part"]
    except (OSError, ValueError):
        return 0


def test_kill_minus_nine_at_random_moments(tmp_path: Path, reference):
    ref_hash, commits = reference[1], reference[2]
    rng = random.Random(20240521)

    def start(store: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", RUNNER, str(store)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    # The real CLI (small batches), SIGKILLed at seeded random moments: once the store has reached a random commit, either
    # the instant a commit is under way (DIRTY present) or after a random few milliseconds.
    store = tmp_path / "killed"
    targets = sorted(rng.sample(range(commits - 1), 4))
    interrupted = mid_commit = 0
    for target in targets:
        proc = start(store)
        in_commit = rng.random() < 0.5
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if _next_part(store) >= target and (not in_commit or (store / "DIRTY").exists()):
                break
            time.sleep(0.0005)
        if not in_commit:
            time.sleep(rng.uniform(0, 0.03))
        alive = proc.poll() is None
        mid_commit += alive and (store / "DIRTY").exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        interrupted += alive and _next_part(store) < commits
    assert interrupted >= 3 and mid_commit >= 1, (targets, interrupted, mid_commit)
    proc = start(store)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert not (store / "DIRTY").exists()
    assert content_hash(store) == ref_hash


def test_crash_before_manifest_and_junk_are_repaired(tmp_path: Path, reference):
    """State of a commit killed just before its manifest rename, plus stray files: repaired on open."""
    ref_hash = reference[1]
    before = tmp_path / "before"
    with pytest.raises(_SimulatedCrash):
        run_all(before, kill_after=4)
    after = tmp_path / "after"
    shutil.copytree(before, after)
    with pytest.raises(_SimulatedCrash):
        run_all(after, kill_after=1)  # one more commit
    committed_hash = content_hash(before)
    # Graft the next commit's parts and index bytes onto the old manifest, as a crash would leave them.
    store = tmp_path / "s"
    shutil.copytree(before, store)
    for f in (after / "tables").rglob("*.parquet"):
        dst = store / f.relative_to(after)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            shutil.copy(f, dst)
    for f in (after / "index").glob("*.bin"):
        shutil.copy(f, store / "index" / f.name)
    (store / "DIRTY").touch()
    (store / "tables" / "txs" / "part-999999.parquet").write_bytes(b"half a parquet file")
    (store / "tables" / "inputs" / "part-000004.parquet.tmp").write_bytes(b"torn")
    with open(store / "index" / "in_prev.bin", "ab") as fh:
        fh.write(b"\x01\x02\x03")
    with open(store / "index" / "out_spent.bin", "r+b") as fh:
        fh.write(b"\x07" * 64)  # in-place patches of a commit that never happened
    (store / "index" / "txid.tmp").write_bytes(b"x")
    # Readers refuse a dirty store; a writer repairs it to the last commit exactly.
    with pytest.raises(StoreError, match="interrupted"):
        ChainStore(store)
    ChainStore(store, writable=True).close()
    assert not (store / "DIRTY").exists()
    assert not (store / "tables" / "txs" / "part-999999.parquet").exists()
    assert not (store / "index" / "txid.tmp").exists()
    assert content_hash(store) == committed_hash
    run_all(store)
    assert content_hash(store) == ref_hash

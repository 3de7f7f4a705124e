"""The `chaintrail` CLI as a user runs it: bad input, --skip-bad, store hash, read-only SQL."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fakenode import block_hash, mainnet_blocks

from typer.testing import CliRunner

from chaintrail.chains.bitcoin.parse import parse_blocks
from chaintrail.cli.main import app
from chaintrail.ingest.btc_job import BtcIngest

BTC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "btc"
RAW = BTC / "mainnet" / "raw"
CLI = str(Path(sys.executable).with_name("chaintrail"))
MAGIC = bytes.fromhex("f9beb4d9")
REAL = mainnet_blocks()
K = 300  # the block that gets corrupted in folder cases


def frame(block: bytes) -> bytes:
    return MAGIC + len(block).to_bytes(4, "little") + block


def frame_offset(k: int) -> int:
    """Offset of block k's record (magic) in a blk file holding blocks 0.. in order."""
    return sum(8 + len(b) for b in REAL[:k])


def run_all(cmds: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Run CLI commands as separate processes, side by side (the real stderr and exit code)."""
    procs = [subprocess.Popen([CLI, *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    out = []
    for c, p in zip(cmds, procs):
        so, se = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(c, p.returncode, so, se))
    return out


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI in this process (an interpreter start per call would cost a second or more)."""
    res = CliRunner().invoke(app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return subprocess.CompletedProcess(list(args), res.exit_code, res.stdout, res.stderr)


def store_hash(store: Path) -> str:
    res = cli("store", "hash", "--store", str(store), "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["content_hash"]


def sql_json(store: Path, q: str) -> list[dict]:
    res = cli("sql", "--store", str(store), "--json", q)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _store_from(tmp: Path, blocks: list[bytes]) -> Path:
    folder = tmp / "blocks"
    folder.mkdir()
    (folder / "blk00000.dat").write_bytes(b"".join(frame(b) for b in blocks))
    with BtcIngest(tmp / "store") as job:
        job.ingest_blocks_dir(folder)
    return tmp / "store"


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    """A store already holding blocks 0-99, so a failed run has something to leave alone."""
    return _store_from(tmp_path_factory.mktemp("base"), list(REAL[:100]))


@pytest.fixture(scope="module")
def base_store_late(tmp_path_factory) -> Path:
    """A store holding blocks 300-309 only: blocks 150-200 need undo data to value block 170's input."""
    return _store_from(tmp_path_factory.mktemp("late"), list(REAL[300:310]))


def _folder(tmp: Path, name: str, data: bytes, rev: bytes | None = None) -> Path:
    d = tmp / name
    d.mkdir()
    (d / "blk00000.dat").write_bytes(data)
    if rev is not None:
        (d / "rev00000.dat").write_bytes(rev)
    return d


def _set(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value):]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:]


def bad_cases(tmp: Path) -> list[tuple[str, list[str], str, int | None, str]]:
    """(label, ingest args, file the error must name, exact offset or None, a word of the message)."""
    blk = b"".join(frame(b) for b in REAL)
    f_k = frame_offset(K)
    b_k = f_k + 8
    cases = []
    d = _folder(tmp, "magic", _set(blk, f_k, b"\xde\xad\xbe\xef"))
    cases.append(("wrong magic", ["--blocks-dir", str(d)], str(d / "blk00000.dat"), f_k, "magic"))
    f_last = frame_offset(599)
    d = _folder(tmp, "trunc", blk[:len(blk) - 10])
    cases.append(("truncated record", ["--blocks-dir", str(d)], str(d / "blk00000.dat"), f_last, "end"))
    # Coinbase input count 1 -> 0 makes the next byte (00 of the null prevout) a bad SegWit flag.
    d = _folder(tmp, "tx", _set(blk, b_k + 85, b"\x00"))
    cases.append(("corrupt tx", ["--blocks-dir", str(d)], str(d / "blk00000.dat"), b_k + 86, "flag"))
    d = _folder(tmp, "merkle", _flip(blk, b_k + 124))  # inside the coinbase scriptSig
    cases.append(("merkle mismatch", ["--blocks-dir", str(d)], str(d / "blk00000.dat"), b_k, "merkle"))
    # Undo data is read for blocks 150-200 (block 9 is not there); the rev file is garbled.
    part = b"".join(frame(b) for b in REAL[150:201])
    d = _folder(tmp, "revmagic", part, b"garbage!" + bytes(100))
    cases.append(("rev bad magic", ["--blocks-dir", str(d)], str(d / "rev00000.dat"), 0, "magic"))
    d = _folder(tmp, "revtrunc", part, MAGIC + (500).to_bytes(4, "little") + b"\x01\x01\x13")
    cases.append(("rev truncated", ["--blocks-dir", str(d)], str(d / "rev00000.dat"), 0, "past the end"))
    body = b"\x01\x02\x13\x00\x32\x04" + bytes(32)  # says 2 coins, holds 1
    d = _folder(tmp, "revbody", part, MAGIC + len(body).to_bytes(4, "little") + body + bytes(32))
    cases.append(("rev garbled record", ["--blocks-dir", str(d)], str(d / "rev00000.dat"), None, ""))
    # Raw files.
    r = tmp / "raw"
    r.mkdir()
    b300025 = (RAW / "block300025.raw").read_bytes()
    (r / "cut.raw").write_bytes(b300025[:100_000])
    cases.append(("raw truncated", ["--raw", str(r / "cut.raw")], str(r / "cut.raw"), None, "truncated"))
    framed = (RAW / "block277647.raw").read_bytes()
    (r / "framed-short.raw").write_bytes(framed[:-1])
    cases.append(("raw framed truncated", ["--raw", str(r / "framed-short.raw")], str(r / "framed-short.raw"), 0,
                  "past the end"))
    (r / "framed-flip.raw").write_bytes(_flip(framed, 8 + 200))
    cases.append(("raw framed merkle", ["--raw", str(r / "framed-flip.raw")], str(r / "framed-flip.raw"), 8,
                  "merkle"))
    seg = (RAW / "block574200.raw").read_bytes()
    lay = parse_blocks(np.frombuffer(seg, np.uint8), np.array([0]), np.array([len(seg)]))
    flag_at = int(lay.tx_start[int(np.flatnonzero(lay.tx_body >= 0)[1])]) + 5
    assert seg[flag_at] == 1
    (r / "flag.raw").write_bytes(_set(seg, flag_at, b"\x03"))
    cases.append(("raw bad segwit flag", ["--raw", str(r / "flag.raw")], str(r / "flag.raw"), flag_at, "flag"))
    (r / "hex.raw").write_bytes(b"0100zz" + b"00" * 100)
    cases.append(("raw bad hex", ["--raw", str(r / "hex.raw")], str(r / "hex.raw"), None, ""))
    tx = RAW / "tx-bb41a757.raw"
    cases.append(("raw lone transaction", ["--raw", str(tx)], str(tx), None, ""))
    shutil.copy(RAW / "block300025.raw", r / "b.raw")
    (r / "b-undo.raw").write_bytes((RAW / "block300025-undo.raw").read_bytes()[:-3])
    cases.append(("raw garbled undo", ["--raw", str(r / "b.raw")], str(r / "b-undo.raw"), None, ""))
    return cases


def _check_error_line(label: str, res: subprocess.CompletedProcess, path: str, offset: int | None, word: str):
    assert res.returncode == 2, (label, res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, (label, res.stderr)
    line = lines[0]
    assert line.startswith("error: ") and path in line, (label, line)
    if offset is not None:
        assert f"offset {offset})" in line or f"offset {offset}," in line, (label, line)
    else:
        assert "offset " in line, (label, line)
    assert word.lower() in line.lower(), (label, line)


def test_bad_input_one_line_exit_2_store_untouched(tmp_path: Path, base_store: Path, base_store_late: Path):
    cases = bad_cases(tmp_path)
    for i, (label, args, path, offset, word) in enumerate(cases):
        base = base_store_late if label.startswith("rev") else base_store
        store = tmp_path / f"store{i}"
        shutil.copytree(base, store)
        before = store_hash(store)
        res = cli("ingest", "btc", "--store", str(store), *args)
        _check_error_line(label, res, path, offset, word)
        assert store_hash(store) == before, label
        assert not (store / "DIRTY").exists()
    # The same through real processes: one line on the real stderr, no traceback.
    chosen = [c for c in cases if c[0] in ("merkle mismatch", "raw bad segwit flag", "rev bad magic")]
    stores = []
    for label, *_ in chosen:
        stores.append(tmp_path / f"proc-{label.replace(' ', '-')}")
        shutil.copytree(base_store_late if label.startswith("rev") else base_store, stores[-1])
    results = run_all([["ingest", "btc", "--store", str(st), *args] for st, (_, args, *_) in zip(stores, chosen)])
    for (label, _, path, offset, word), res in zip(chosen, results):
        _check_error_line(label, res, path, offset, word)
        assert "Traceback" not in res.stderr and res.stdout.strip() == ""


def test_skip_bad_records_the_block_and_ingests_the_rest(tmp_path: Path, base_store: Path):
    blk = b"".join(frame(b) for b in REAL)
    b_k = frame_offset(K) + 8
    merkle_dir = _folder(tmp_path, "merkle", _flip(blk, b_k + 124))
    r = tmp_path / "raw"
    r.mkdir()
    bad169482 = _flip((RAW / "block169482.raw").read_bytes(), 500)
    (r / "bad.raw").write_bytes(bad169482)
    stores = [tmp_path / "s1", tmp_path / "s2"]
    for s in stores:
        shutil.copytree(base_store, s)
    raws = [str(r / "bad.raw"), str(RAW / "block300025.raw"), str(RAW / "block1.raw")]
    res = [cli("ingest", "btc", "--store", str(stores[0]), "--skip-bad", "--json", "--blocks-dir", str(merkle_dir)),
           cli("ingest", "btc", "--store", str(stores[1]), "--skip-bad", "--json", "--raw", *raws)]
    assert [x.returncode for x in res] == [0, 0], [x.stderr for x in res]
    out = json.loads(res[0].stdout)
    assert out["ingested"]["blocks"] == 499 and len(out["ingested"]["bad"]) == 1
    bad = sql_json(stores[0], "SELECT lower(hex(hash)) AS hash, source, source_offset, error FROM raw.bad_blocks")
    assert len(bad) == 1
    assert bad[0]["hash"] == block_hash(REAL[K])[::-1].hex()
    assert bad[0]["source"] == str(merkle_dir / "blk00000.dat") and bad[0]["source_offset"] == b_k
    assert "merkle" in bad[0]["error"]
    counts = sql_json(stores[0], f"""SELECT count(*) AS n, count(*) FILTER (hash = '{bad[0]["hash"]}') AS bad,
                                            count(height) AS with_height, max(height) AS top,
                                            count(*) FILTER (height = {K}) AS at_k FROM blocks""")
    # The folder's chain still gives the blocks after the bad one their heights.
    assert counts == [{"n": 599, "bad": 0, "with_height": 599, "top": 599, "at_k": 0}]
    # Raw: the corrupt file is recorded, the good ones are in.
    bad = sql_json(stores[1], "SELECT lower(hex(hash)) AS hash, source, source_offset FROM raw.bad_blocks")
    assert bad == [{"hash": block_hash(bad169482)[::-1].hex(), "source": str(r / "bad.raw"), "source_offset": 0}]
    rows = sql_json(stores[1], "SELECT count(*) AS n, count(*) FILTER (height = 300025) AS b300025 FROM blocks")
    assert rows == [{"n": 101, "b300025": 1}]


def test_ingest_twice_keeps_the_store_hash(tmp_path: Path):
    store = tmp_path / "s"
    raws = [str(RAW / n) for n in ("block1.raw", "block277647.raw", "block300025.raw")]
    folder = str(BTC / "mainnet" / "core-blocks-0-599")
    first = cli("ingest", "btc", "--store", str(store), "--blocks-dir", folder)
    assert first.returncode == 0, first.stderr
    assert cli("ingest", "btc", "--store", str(store), "--raw", *raws).returncode == 0
    h1 = store_hash(store)
    again = cli("ingest", "btc", "--store", str(store), "--json", "--blocks-dir", folder)
    assert json.loads(again.stdout)["ingested"]["blocks"] == 0
    again = cli("ingest", "btc", "--store", str(store), "--json", "--raw", *raws)
    assert json.loads(again.stdout)["ingested"]["blocks"] == 0
    assert store_hash(store) == h1
    info = json.loads(cli("store", "info", "--store", str(store), "--json").stdout)
    assert info["content_hash"] == h1
    assert (info["blocks"], info["index_bytes_per_input"], info["index_bytes_per_output"]) == (602, 16.0, 16.0)


# -- read-only SQL ---------------------------------------------------------------------

REFUSED = [
    "COPY (SELECT 1) TO '{tmp}/out.csv'",
    "ATTACH '{tmp}/x.duckdb' AS x",
    "CREATE TABLE t AS SELECT 1",
    "INSERT INTO blocks VALUES (1)",
    "SET enable_external_access = true",
    "SELECT 1; COPY (SELECT 1) TO '{tmp}/out2.csv'",
    "EXPORT DATABASE '{tmp}/exp'",
    "INSTALL httpfs",
    "PRAGMA enable_profiling",
    # EXPLAIN ANALYZE executes its statement, and DuckDB may write where the store's parts live.
    "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{store}/tables/txs/evil.csv'",
    "EXPLAIN COPY (SELECT 1 AS a) TO '{store}/tables/txs/evil.csv'",
    "EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1",
    "explain analyze select 1; copy (select 1) to '{store}/tables/evil.csv'",
]
FILE_READS = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_json('{store}/MANIFEST.json')",
    "SELECT * FROM read_csv('{store}/tables/../../../../../../etc/passwd')",
]


def test_sql_is_read_only_and_confined_to_the_store(tmp_path: Path, base_store: Path):
    store_files = sorted(base_store.rglob("*"))
    queries = [q.format(tmp=tmp_path, store=base_store) for q in REFUSED + FILE_READS]
    for q in queries:
        res = cli("sql", "--store", str(base_store), q)
        assert res.returncode == 5, (q, res.returncode, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (q, res.stderr)
        assert "root:" not in res.stdout + res.stderr
    ok = cli("sql", "--store", str(base_store), "--json",
             "SELECT count(*) AS n, min(height) AS lo, max(height) AS hi FROM blocks")
    assert json.loads(ok.stdout) == [{"n": 100, "lo": 0, "hi": 99}]
    plan = cli("sql", "--store", str(base_store), "--json", "EXPLAIN ANALYZE SELECT count(*) FROM txs")
    assert plan.returncode == 0 and "analyzed_plan" in plan.stdout
    # Real processes agree (exit code and one line on stderr).
    procs = run_all([["sql", "--store", str(base_store), queries[0]], ["sql", "--store", str(base_store), queries[-1]]])
    for res in procs:
        assert res.returncode == 5 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not list(tmp_path.iterdir())  # nothing was written anywhere
    assert sorted(base_store.rglob("*")) == store_files

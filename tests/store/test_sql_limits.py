"""SQL limits: no reads from DuckDB's temp directory, a memory cap and a time limit, each refused in one line."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaintrail.cli.main import app
from chaintrail.errors import UsageError
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

# ~3 GB of one string if nothing stops it.
BLOW_UP = "SELECT length(string_agg(repeat('chaintrail', 100), ',')) AS n FROM range(3000000)"
ENDLESS = "SELECT count(*) AS n FROM range(100000000000) a WHERE a.range % 7 = 3"


@pytest.fixture(scope="module")
def store(tmp_path_factory, btc_data) -> Path:
    path = tmp_path_factory.mktemp("sql") / "store"
    with BtcIngest(path) as job:
        job.ingest_blocks_dir(btc_data / "mainnet" / "core-blocks-0-599")
    return path


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_duckdb_temp_directory_is_not_readable(store, tmp_path, monkeypatch):
    # DuckDB's default temp directory is .tmp in the current folder, and it lets queries read it.
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.txt").write_text("case notes\n")
    monkeypatch.chdir(tmp_path)
    files = sorted(store.rglob("*"))
    with ChainStore(store) as st:
        with pytest.raises(UsageError, match="disabled by configuration"):
            query(st, "SELECT content FROM read_text('.tmp/secret.txt')")
        # Each query spills to its own new, empty folder in the store's scratch area, gone afterwards.
        temp = query(st, "SELECT current_setting('temp_directory') AS t").to_pylist()[0]["t"]
        assert Path(temp).parent == store / "scratch" and Path(temp).name.startswith("sql-")
        assert not Path(temp).exists() and sorted(store.rglob("*")) == files
        # Another query's spill folder is not readable.
        other = store / "scratch" / "sql-other"
        other.mkdir(parents=True)
        (other / "spill.tmp").write_text("someone else's rows\n")
        try:
            with pytest.raises(UsageError, match="disabled by configuration"):
                query(st, f"SELECT content FROM read_text('{other}/spill.tmp')")
        finally:
            (other / "spill.tmp").unlink()
            other.rmdir()
            (store / "scratch").rmdir()


def test_memory_limit_stops_a_blow_up(store):
    with ChainStore(store) as st:
        assert query(st, "SELECT current_setting('memory_limit') AS m").to_pylist() == [{"m": "1.8 GiB"}]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with pytest.raises(UsageError, match="more than its memory limit of 300MB"):
            query(st, BLOW_UP, memory_limit="300MB")
        grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert grew_mb < 600, grew_mb
        with pytest.raises(UsageError, match="a size such as 512MB"):
            query(st, "SELECT 1", memory_limit="lots")
        assert query(st, "SELECT count(*) AS n FROM txs", memory_limit="100MB").to_pylist() == [{"n": 616}]
    res = _cli("sql", "--store", str(store), "--memory-limit", "300MB", BLOW_UP)
    assert res.exit_code == 5 and res.stderr.count("\n") == 1
    assert "more than its memory limit of 300MB (chaintrail sql --memory-limit)" in res.stderr


def test_timeout_stops_a_long_query(store):
    with ChainStore(store) as st:
        t = time.monotonic()
        with pytest.raises(UsageError, match="stopped after 0.5 s"):
            query(st, ENDLESS, timeout_s=0.5)
        assert time.monotonic() - t < 10
        assert query(st, "SELECT count(*) AS n FROM blocks", timeout_s=30).to_pylist() == [{"n": 600}]
    t = time.monotonic()
    res = _cli("sql", "--store", str(store), "--timeout", "1", ENDLESS)
    assert res.exit_code == 5 and res.stderr.count("\n") == 1
    assert "SQL stopped after 1 s, its time limit (chaintrail sql --timeout)" in res.stderr
    assert time.monotonic() - t < 15

"""`chaintrail store hash` is a hash of the chain data: the same blocks read from another folder hash the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from chaintrail.cli.main import app


def _cli(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, (args, res.stderr)
    return res.stdout


def _ingest_copy(btc_data: Path, where: Path, store: Path, files=("blk00000.dat", "blk00001.dat", "rev00000.dat")):
    where.mkdir(parents=True)
    for name in files:
        shutil.copy(btc_data / "mainnet" / "core-blocks-0-599" / name, where / name)
    raw = where / "block1.raw"
    shutil.copy(btc_data / "mainnet" / "raw" / "block1.raw", raw)
    _cli("ingest", "btc", "--blocks-dir", str(where), "--store", str(store))
    _cli("ingest", "btc", "--raw", str(raw), "--store", str(store))
    return json.loads(_cli("store", "hash", "--store", str(store), "--json"))["content_hash"]


def test_same_blocks_from_two_folders_give_one_hash(tmp_path, btc_data):
    h1 = _ingest_copy(btc_data, tmp_path / "a", tmp_path / "s1")
    h2 = _ingest_copy(btc_data, tmp_path / "elsewhere" / "deeper" / "b", tmp_path / "s2")
    assert h1 == h2
    # The store still records where each block came from.
    q = "SELECT DISTINCT source FROM raw.blocks ORDER BY source"
    s1 = [r["source"] for r in json.loads(_cli("sql", "--store", str(tmp_path / "s1"), "--json", q))]
    s2 = [r["source"] for r in json.loads(_cli("sql", "--store", str(tmp_path / "s2"), "--json", q))]
    assert s1 != s2 and all(s.startswith(str(tmp_path / "a")) for s in s1)
    assert [Path(s).name for s in s1] == [Path(s).name for s in s2]
    # Other blocks, another hash.
    h3 = _ingest_copy(btc_data, tmp_path / "c", tmp_path / "s3", files=("blk00000.dat", "rev00000.dat"))
    assert h3 != h1

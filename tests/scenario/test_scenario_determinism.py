"""Same seed, kind and scale give the same bytes; other seeds give other chains; xor.dat works."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bitcoin.core import CBlock
from scenario_view import read_folder

from chaintrail.scenario.generator import generate


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_chain(tmp_path, scenario):
    a = generate(tmp_path / "a", seed=11, kind="all", scale=1.0)
    da = _digest(a.out_dir)
    assert da == _digest(scenario.out_dir)        # the session scenario used seed 11 as well
    assert {"blk00000.dat", "rev00000.dat", "answer_key.json", "answer_key/addresses.parquet",
            "answer_key/txs.parquet"} <= set(da)
    b = generate(tmp_path / "b", seed=12, kind="all", scale=1.0)
    db = _digest(b.out_dir)
    assert db["blk00000.dat"] != da["blk00000.dat"]


def test_worker_process_and_inline_write_the_same_bytes(tmp_path):
    a = generate(tmp_path / "inline", seed=9, kind="darknet", scale=0.5, workers=0)
    b = generate(tmp_path / "worker", seed=9, kind="darknet", scale=0.5, workers=1)
    assert _digest(a.out_dir) == _digest(b.out_dir)


def test_kind_changes_the_cases_but_every_kind_generates(tmp_path):
    sc = generate(tmp_path / "scam", seed=3, kind="scam", scale=0.5)
    assert [c.id for c in sc.cases] == ["scam-1", "scam-2", "scam-3"]
    assert all(c.done for c in sc.cases)


def test_xor_obfuscated_folder_reads_back(tmp_path):
    sc = generate(tmp_path / "x", seed=5, kind="ransomware", scale=0.5, xor=True)
    key = (sc.out_dir / "xor.dat").read_bytes()
    assert len(key) == 8 and any(key)
    raw = (sc.out_dir / "blk00000.dat").read_bytes()
    assert raw[:4] != bytes.fromhex("fabfb5da")        # obfuscated on disk
    view = read_folder(sc.out_dir)
    assert len(view.blocks) == len(sc.blocks) + 1
    assert all(isinstance(b, CBlock) for b in view.blocks)
    assert len(view.revs) == len(sc.blocks)

"""Bad blocks in a blocks folder or raw file: proof of work, --skip-bad, and framing errors.

One flipped nonce bit in block 100 of real blk00000.dat (blocks 0-299) used to make
genesis..100 stale and keep the rest with NULL heights, exit 0. Now the ingest
stops naming the file and offset (exit 2) and leaves the store as it was; with
--skip-bad only that block is recorded bad.
"""

from __future__ import annotations

import shutil
import subprocess
import struct
import sys
from pathlib import Path

import pytest

from chaintrail.chains.bitcoin.blockfiles import scan_block_file
from chaintrail.chains.bitcoin.network import MAINNET
from chaintrail.store.chainstore import ChainStore
from test_btc_ingest import DIR_0_599, content_hash, ingest_dir, sha256d, sql, write_blocks_dir

CLI = Path(sys.executable).with_name("chaintrail")


@pytest.fixture(scope="module")
def real():
    path = DIR_0_599 / "blk00000.dat"
    data = path.read_bytes()
    return data, scan_block_file(path, MAINNET.magic, None)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "ingest", "btc", *args], capture_output=True, text=True, timeout=300)


def flipped_folder(tmp_path: Path, real) -> tuple[Path, int, bytes]:
    data, locs = real
    folder = tmp_path / "blocks"
    folder.mkdir()
    bad = bytearray(data)
    off = locs[100].offset
    bad[off + 76] ^= 0x04                        # one bit of block 100's nonce
    (folder / "blk00000.dat").write_bytes(bad)
    return folder, off, sha256d(bytes(bad[off:off + 80]))


def test_flipped_nonce_bit_stops_the_ingest_and_leaves_the_store_alone(tmp_path: Path, real) -> None:
    data, locs = real
    store = tmp_path / "s"
    first = [data[b.offset:b.offset + b.length] for b in locs[:50]]
    ingest_dir(store, write_blocks_dir(tmp_path / "first", first))
    before = content_hash(store)
    folder, off, bad_hash = flipped_folder(tmp_path, real)
    res = cli("--store", str(store), "--blocks-dir", str(folder))
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip()
    assert "\n" not in line and "proof of work fails" in line
    assert f"{folder / 'blk00000.dat'}, offset {off})" in line.replace("\n", "")
    assert bad_hash[::-1].hex() in line
    assert content_hash(store) == before
    assert sql(store, "SELECT count(*), max(height) FROM blocks") == [(50, 49)]


def test_skip_bad_records_that_block_only(tmp_path: Path, real) -> None:
    folder, off, bad_hash = flipped_folder(tmp_path, real)
    store = tmp_path / "s"
    res = cli("--store", str(store), "--blocks-dir", str(folder), "--skip-bad", "--json")
    assert res.returncode == 0, res.stderr
    rows = sql(store, "SELECT lower(hex(hash)), source, source_offset, error FROM raw.bad_blocks")
    assert len(rows) == 1
    h, source, offset, error = rows[0]
    assert (h, source, offset) == (bad_hash[::-1].hex(), str(folder / "blk00000.dat"), off)
    assert error.startswith("proof of work fails")
    # Every other block is kept, on the chain or recorded stale; the bad one is in neither.
    n_blocks = sql(store, "SELECT count(*) FROM blocks")[0][0]
    n_stale = sql(store, "SELECT count(*) FROM raw.stale_blocks")[0][0]
    assert n_blocks + n_stale == 299
    assert sql(store, "SELECT count(*) FROM blocks WHERE hash = $1", [bad_hash[::-1].hex()]) == [(0,)]
    # A rerun over the same folder records nothing twice.
    with ChainStore(store) as st:
        before = st.content_hash()
    assert cli("--store", str(store), "--blocks-dir", str(folder), "--skip-bad").returncode == 0
    assert sql(store, "SELECT count(*) FROM raw.bad_blocks") == [(1,)]
    with ChainStore(store) as st:
        assert st.content_hash() == before


def test_raw_block_with_flipped_nonce_bit(tmp_path: Path, real) -> None:
    data, locs = real
    block = bytearray(data[locs[0].offset:locs[0].offset + locs[0].length])
    block[79] ^= 0x80
    f = tmp_path / "genesis.raw"
    f.write_bytes(block)
    res = cli("--store", str(tmp_path / "s"), "--raw", str(f))
    assert res.returncode == 2 and "proof of work fails" in res.stderr and f"{f}, offset 0)" in res.stderr
    res = cli("--store", str(tmp_path / "s"), "--raw", str(f), "--skip-bad")
    assert res.returncode == 0, res.stderr
    assert sql(tmp_path / "s", "SELECT source, source_offset FROM raw.bad_blocks") == [(str(f), 0)]


def test_skip_bad_resyncs_after_a_garbled_frame(tmp_path: Path, real) -> None:
    """A broken frame in the middle of a file costs that record, not the file or the ingest."""
    data, locs = real
    folder = tmp_path / "blocks"
    folder.mkdir()
    bad = bytearray(data)
    k = locs[299 - 5]                          # near the end, so the chain keeps its heights up to it
    struct.pack_into("<I", bad, k.offset - 4, 0xFFFFFFF0)
    (folder / "blk00000.dat").write_bytes(bad)
    shutil.copyfile(DIR_0_599 / "rev00000.dat", folder / "rev00000.dat")
    res = cli("--store", str(tmp_path / "strict"), "--blocks-dir", str(folder))
    assert res.returncode == 2 and f"offset {k.offset - 8})" in res.stderr
    store = tmp_path / "s"
    res = cli("--store", str(store), "--blocks-dir", str(folder), "--skip-bad")
    assert res.returncode == 0, res.stderr
    rows = sql(store, "SELECT hash, source, source_offset FROM raw.bad_blocks")
    assert rows == [(None, str(folder / "blk00000.dat"), k.offset - 8)]
    assert sql(store, "SELECT count(*), min(height), max(height) FROM blocks") == [(294, 0, 293)]
    assert sql(store, "SELECT count(*) FROM raw.stale_blocks") == [(5,)]

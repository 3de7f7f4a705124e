"""Scanning a blk file past framing errors (--skip-bad): only the bad region is lost.

Each test breaks one record of a copy of real blk00000.dat (blocks 0-299) and
checks the scan returns every other record, byte-exact, plus one error naming
the file and the offset of the broken frame.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from chaintrail.chains.bitcoin.blockfiles import BlockLocation, deobfuscate, scan_block_file
from chaintrail.errors import BadMagicError, DecodeError, TrailingBytesError, TruncatedError
from test_blockfiles import DIR_0_599, MAGIC

KEY = bytes.fromhex("5ac3e1770f9b2d48")


@pytest.fixture(scope="module")
def original() -> list[BlockLocation]:
    return scan_block_file(DIR_0_599 / "blk00000.dat", MAGIC, None)


def copy(tmp_path: Path) -> tuple[Path, bytearray]:
    dst = tmp_path / "blk00000.dat"
    shutil.copyfile(DIR_0_599 / "blk00000.dat", dst)
    return dst, bytearray(dst.read_bytes())


def ids(locs: list[BlockLocation], shift_after: int = -1, by: int = 0) -> list[tuple[bytes, int, int]]:
    return [(b.hash, b.offset - (by if b.offset > shift_after >= 0 else 0), b.length) for b in locs]


@pytest.mark.parametrize("xor", [False, True])
def test_garbled_magic_skips_only_that_record(tmp_path: Path, original, xor: bool) -> None:
    path, data = copy(tmp_path)
    k = original[150]
    data[k.offset - 8 : k.offset - 4] = b"\xde\xad\xbe\xef"
    key = KEY if xor else None
    path.write_bytes(deobfuscate(bytes(data), KEY) if xor else bytes(data))
    with pytest.raises(BadMagicError):
        scan_block_file(path, MAGIC, key)
    skipped: list[DecodeError] = []
    got = scan_block_file(path, MAGIC, key, skipped)
    assert ids(got) == ids(original[:150] + original[151:])
    (err,) = skipped
    assert isinstance(err, BadMagicError) and (err.source, err.offset) == (str(path), k.offset - 8)
    assert f"skipped {k.length + 8} bytes to the next magic at offset {k.offset + k.length}" in str(err)


def test_impossible_length_skips_only_that_record(tmp_path: Path, original) -> None:
    path, data = copy(tmp_path)
    k = original[7]
    struct.pack_into("<I", data, k.offset - 4, 0xFFFFFFF0)
    path.write_bytes(data)
    skipped: list[DecodeError] = []
    got = scan_block_file(path, MAGIC, None, skipped)
    assert ids(got) == ids(original[:7] + original[8:])
    assert [(type(e), e.offset) for e in skipped] == [(DecodeError, k.offset - 8)]


def test_record_cut_short_in_the_middle_of_the_file(tmp_path: Path, original) -> None:
    """Bytes lost inside block 200: its frame swallows the next frame; the scan resumes at that frame."""
    path, data = copy(tmp_path)
    k = original[200]
    cut = 60
    del data[k.offset + 100 : k.offset + 100 + cut]
    path.write_bytes(data)
    with pytest.raises(DecodeError):
        scan_block_file(path, MAGIC, None)
    skipped: list[DecodeError] = []
    got = scan_block_file(path, MAGIC, None, skipped)
    assert ids(got) == ids(original[:200] + original[201:], shift_after=k.offset, by=cut)
    (err,) = skipped
    assert isinstance(err, TruncatedError) and err.offset == k.offset - 8
    assert f"cut short by the next frame at offset {k.offset + k.length - cut}" in str(err)


def test_junk_between_records_and_after_the_zero_tail(tmp_path: Path, original) -> None:
    path, data = copy(tmp_path)
    k = original[20]
    junk = bytes(range(1, 40))
    data[k.offset - 8 : k.offset - 8] = junk
    tail = len(data)
    data += bytes(1000) + data[original[5].offset - 8 : original[5].offset + original[5].length] + bytes(500)
    path.write_bytes(data)
    skipped: list[DecodeError] = []
    got = scan_block_file(path, MAGIC, None, skipped)
    moved = ids(original, shift_after=k.offset - 9, by=-len(junk))
    assert ids(got) == moved + [(original[5].hash, tail + 1000 + 8, original[5].length)]
    assert [(type(e), e.offset) for e in skipped] == [(BadMagicError, k.offset - 8),
                                                      (TrailingBytesError, tail + 1000)]
    # A wholly garbled tail is skipped to the end of the file.
    path.write_bytes(bytes(data[:tail]) + b"\x07" * 300)
    skipped = []
    assert ids(scan_block_file(path, MAGIC, None, skipped)) == moved
    assert len(skipped) == 2 and "skipped 300 bytes to the end of the file" in str(skipped[1])

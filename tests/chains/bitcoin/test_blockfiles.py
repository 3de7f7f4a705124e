"""blk?????.dat framing, xor.dat and best-chain selection, on real mainnet blocks 0-599."""

from __future__ import annotations

import hashlib
import random
import shutil
import struct
from pathlib import Path

import pytest
from bitcoin.core import CBlock, CheckBlock, b2lx
from bitcoin.core.serialize import uint256_from_compact

from chaintrail.chains.bitcoin.blockfiles import (
    BlockLocation,
    deobfuscate,
    deobfuscate_inplace,
    detect_network,
    list_block_files,
    read_block,
    read_xor_key,
    rev_file_for,
    scan_block_file,
    scan_blocks_dir,
)
from chaintrail.chains.bitcoin.chainwork import (
    best_chain,
    meets_target,
    root_height_hint,
    target_from_bits,
    work_from_bits,
)
from chaintrail.chains.bitcoin.network import MAINNET, TESTNET
from chaintrail.errors import (
    BadMagicError,
    DecodeError,
    SourceError,
    TrailingBytesError,
    TruncatedError,
    ValidationError,
)

MAINNET_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "btc" / "mainnet"
DIR_0_599 = MAINNET_DATA / "core-blocks-0-599"
DIR_1_255 = MAINNET_DATA / "core-blocks-1-255"

GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
BLOCK1 = "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
BLOCK170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
# Computed by this module, and checked below against python-bitcoinlib: PoW, merkle
# root and prev links from genesis.
BLOCK599 = "0000000042844571bc6bce8e1c0fbec99466971eaff89fef8c0d123582181d4d"
DIFF1_WORK = 0x100010001   # Core's chainwork of the genesis block
MAGIC = MAINNET.magic


def hexid(h: bytes) -> str:
    return h[::-1].hex()


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def frame(block: bytes) -> bytes:
    return MAGIC + struct.pack("<I", len(block)) + block


@pytest.fixture(scope="module")
def locs0() -> list[BlockLocation]:
    return scan_blocks_dir(DIR_0_599)


@pytest.fixture(scope="module")
def blocks0(locs0: list[BlockLocation]) -> list[bytes]:
    return [read_block(loc, None) for loc in locs0]


def copy_dir(tmp_path: Path, name: str = "blocks") -> Path:
    dst = tmp_path / name
    dst.mkdir()
    for p in list_block_files(DIR_0_599):
        shutil.copyfile(p, dst / p.name)
    return dst


def hashes(locs: list[BlockLocation]) -> list[str]:
    return [hexid(b.hash) for b in locs]


# --- the real folders ----------------------------------------------------------

def test_real_0_599_main_chain(locs0: list[BlockLocation]) -> None:
    assert detect_network(DIR_0_599) is MAINNET
    layout = best_chain(locs0)
    main = layout.main
    assert len(locs0) == 600 and len(main) == 600
    assert layout.stale == [] and layout.duplicates == []
    assert hexid(main[0].hash) == GENESIS == MAINNET.genesis_hash
    assert layout.root_prev_hash == bytes(32)
    assert root_height_hint(main[0]) == 0
    assert hexid(main[1].hash) == BLOCK1
    assert hexid(main[170].hash) == BLOCK170
    assert hexid(main[-1].hash) == BLOCK599
    for prev, cur in zip(main, main[1:]):
        assert cur.prev_hash == prev.hash
    assert all(b.bits == 0x1D00FFFF for b in main)
    assert layout.tip_work == 600 * DIFF1_WORK
    assert all(meets_target(b.hash, b.bits) for b in main)


def test_real_0_599_matches_bitcoinlib(locs0: list[BlockLocation]) -> None:
    """Frame and parse the files independently with python-bitcoinlib and compare."""
    ours = {(b.file_num, b.offset): b for b in locs0}
    theirs: list[CBlock] = []
    for num, path in enumerate(list_block_files(DIR_0_599)):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            assert data[pos:pos + 4] == MAGIC
            (length,) = struct.unpack_from("<I", data, pos + 4)
            block = CBlock.deserialize(data[pos + 8:pos + 8 + length])  # rejects trailing bytes
            CheckBlock(block)  # proof of work, merkle root, transaction sanity
            loc = ours[(num, pos + 8)]
            assert loc.length == length and loc.hash == block.GetHash()
            assert loc.header == block.get_header().serialize()
            assert loc.time == block.nTime and loc.bits == block.nBits
            theirs.append(block)
            pos += 8 + length
    assert len(theirs) == 600
    for prev, cur in zip(theirs, theirs[1:]):
        assert cur.hashPrevBlock == prev.GetHash()
    assert b2lx(theirs[0].GetHash()) == GENESIS
    assert b2lx(theirs[-1].GetHash()) == BLOCK599
    assert hashes(best_chain(locs0).main) == [b2lx(b.GetHash()) for b in theirs]


def test_real_1_255_without_genesis() -> None:
    layout = best_chain(scan_blocks_dir(DIR_1_255))
    assert len(layout.main) == 255 and layout.stale == []
    assert hexid(layout.main[0].hash) == BLOCK1
    assert hexid(layout.root_prev_hash) == GENESIS
    assert root_height_hint(layout.main[0]) is None
    assert hexid(layout.main[169].hash) == BLOCK170  # height 170 sits at index 169
    assert layout.tip_work == 255 * DIFF1_WORK


def test_file_listing_and_rev(tmp_path: Path) -> None:
    blk = list_block_files(DIR_0_599)
    assert [p.name for p in blk] == ["blk00000.dat", "blk00001.dat"]
    assert rev_file_for(blk[0]) == blk[0].with_name("rev00000.dat")
    assert rev_file_for(blk[1]) is None
    for name in ("blk00010.dat", "blk00002.dat", "blk00001.dat", "blk1.dat", "rev00000.dat",
                 "blk00003.dat.tmp", "xor.dat"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_block_files(tmp_path)] == [
        "blk00001.dat", "blk00002.dat", "blk00010.dat"]
    with pytest.raises(SourceError):
        list_block_files(tmp_path / "missing")


def test_detect_network(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no blk"):
        detect_network(tmp_path)
    (tmp_path / "blk00000.dat").write_bytes(bytes(1 << 16))
    with pytest.raises(SourceError, match="empty"):
        detect_network(tmp_path)
    (tmp_path / "blk00000.dat").write_bytes(TESTNET.magic + bytes(100))
    assert detect_network(tmp_path) is TESTNET
    (tmp_path / "blk00000.dat").write_bytes(b"\xde\xad\xbe\xef" + bytes(100))
    with pytest.raises(SourceError, match="deadbeef"):
        detect_network(tmp_path)


# --- xor.dat -------------------------------------------------------------------

def test_deobfuscate_matches_bytewise_definition() -> None:
    rng = random.Random(7)
    key = rng.randbytes(8)
    data = rng.randbytes(1000)
    for n in (0, 1, 7, 8, 9, 63, 1000):
        for off in (0, 1, 5, 8, 13, 4096 + 3):
            want = bytes(b ^ key[(off + i) % 8] for i, b in enumerate(data[:n]))
            assert deobfuscate(data[:n], key, off) == want
            buf = bytearray(data[:n])
            deobfuscate_inplace(buf, key, off)
            assert buf == want
    assert deobfuscate(deobfuscate(data, key, 3), key, 3) == data
    with pytest.raises(ValueError):
        deobfuscate(data, key[:7])


def test_read_xor_key(tmp_path: Path) -> None:
    assert read_xor_key(tmp_path) is None
    (tmp_path / "xor.dat").write_bytes(bytes(8))
    assert read_xor_key(tmp_path) is None
    (tmp_path / "xor.dat").write_bytes(b"\x01" * 8)
    assert read_xor_key(tmp_path) == b"\x01" * 8
    (tmp_path / "xor.dat").write_bytes(b"\x01" * 9)
    with pytest.raises(SourceError):
        read_xor_key(tmp_path)


def test_obfuscated_folder_gives_same_locations(
        tmp_path: Path, locs0: list[BlockLocation], blocks0: list[bytes]) -> None:
    key = random.Random(28).randbytes(8)
    d = tmp_path / "xored"
    d.mkdir()
    (d / "xor.dat").write_bytes(key)
    for p in list_block_files(DIR_0_599):
        raw = p.read_bytes()
        xored = deobfuscate(raw, key)
        assert xored[:4] != MAGIC
        # Core preallocates below the xor layer, so the tail stays raw zeros.
        (d / p.name).write_bytes(xored + bytes(1 << 20))
    assert detect_network(d) is MAINNET
    got = scan_blocks_dir(d)
    assert [(b.file_num, b.offset, b.length, b.hash, b.header) for b in got] == [
        (b.file_num, b.offset, b.length, b.hash, b.header) for b in locs0]
    assert [read_block(b, key) for b in got[::37]] == blocks0[::37]
    assert hexid(best_chain(got).main[-1].hash) == BLOCK599
    # Without the key the first record's magic is wrong at offset 0.
    with pytest.raises(BadMagicError) as exc:
        scan_block_file(d / "blk00000.dat", MAGIC, None)
    assert exc.value.offset == 0


# --- arrival order, duplicates, partial data -----------------------------------

def test_shuffled_blocks_across_files(
        tmp_path: Path, locs0: list[BlockLocation], blocks0: list[bytes]) -> None:
    rng = random.Random(1234)
    records = list(blocks0) + [blocks0[i] for i in (0, 5, 300, 599, 599)]
    rng.shuffle(records)
    cut1, cut2 = sorted(rng.sample(range(1, len(records)), 2))
    d = tmp_path / "shuffled"
    d.mkdir()
    for num, part in enumerate((records[:cut1], records[cut1:cut2], records[cut2:])):
        (d / f"blk{num:05d}.dat").write_bytes(b"".join(frame(b) for b in part))
    got = scan_blocks_dir(d)
    assert len(got) == 605
    layout = best_chain(got)
    assert hashes(layout.main) == hashes(locs0)
    assert layout.stale == []
    assert sorted(hexid(b.hash) for b in layout.duplicates) == sorted(
        hexid(locs0[i].hash) for i in (0, 5, 300, 599, 599))
    assert [read_block(b, None) for b in layout.main] == blocks0


def test_orphans_of_another_root(locs0: list[BlockLocation]) -> None:
    layout = best_chain(locs0[400:] + locs0[:300])
    assert hashes(layout.main) == hashes(locs0[:300])
    assert hashes(layout.stale) == hashes(locs0[400:])
    assert layout.stale_depth == [None] * 200
    # The larger-work segment wins even when it has no genesis.
    layout = best_chain(locs0[:100] + locs0[101:])
    assert hashes(layout.main) == hashes(locs0[101:])
    assert root_height_hint(layout.main[0]) is None
    assert hashes(layout.stale) == hashes(locs0[:100])


# --- forks ----------------------------------------------------------------------

def alt_block(real: bytes, prev_hash: bytes, tweak: int, bits: int | None = None) -> bytes:
    """A copy of ``real`` whose header points at ``prev_hash``, with nonce/time changed."""
    h = bytearray(real[:80])
    h[4:36] = prev_hash
    struct.pack_into("<I", h, 68, struct.unpack_from("<I", h, 68)[0] + tweak)
    struct.pack_into("<I", h, 76, struct.unpack_from("<I", h, 76)[0] ^ (0x5A5A0000 + tweak))
    if bits is not None:
        struct.pack_into("<I", h, 72, bits)
    return bytes(h) + real[80:]


def append_records(path: Path, blocks: list[bytes]) -> None:
    with open(path, "ab") as fh:
        fh.write(b"".join(frame(b) for b in blocks))


def test_fork_with_less_work_is_stale(
        tmp_path: Path, locs0: list[BlockLocation], blocks0: list[bytes]) -> None:
    d = copy_dir(tmp_path)
    h597 = locs0[597].hash
    alts = [alt_block(blocks0[598], h597, 1), alt_block(blocks0[599], h597, 2)]
    append_records(d / "blk00001.dat", alts)
    layout = best_chain(scan_blocks_dir(d))
    assert hashes(layout.main) == hashes(locs0)
    assert hashes(layout.stale) == [hexid(sha256d(a[:80])) for a in alts]
    assert layout.stale_depth == [598, 598]
    assert all(b.prev_hash == h597 for b in layout.stale)


def test_fork_with_equal_work_goes_to_first_seen(
        tmp_path: Path, locs0: list[BlockLocation], blocks0: list[bytes]) -> None:
    a1 = alt_block(blocks0[598], locs0[597].hash, 1)
    a2 = alt_block(blocks0[599], sha256d(a1[:80]), 2)
    alt_ids = [hexid(sha256d(a1[:80])), hexid(sha256d(a2[:80]))]
    later = copy_dir(tmp_path, "later")
    (later / "blk00002.dat").write_bytes(frame(a1) + frame(a2))
    layout = best_chain(scan_blocks_dir(later))
    assert hashes(layout.main) == hashes(locs0) and hashes(layout.stale) == alt_ids
    # Same blocks, but the alternative branch arrived first (an earlier file).
    earlier = copy_dir(tmp_path, "earlier")
    for num in (1, 0):
        (earlier / f"blk{num:05d}.dat").rename(earlier / f"blk{num + 1:05d}.dat")
    (earlier / "blk00000.dat").write_bytes(frame(a2) + frame(a1))
    layout = best_chain(scan_blocks_dir(earlier))
    assert hashes(layout.main) == hashes(locs0[:598]) + alt_ids
    assert hashes(layout.stale) == hashes(locs0[598:])


def test_longer_fork_wins(tmp_path: Path, locs0: list[BlockLocation], blocks0: list[bytes]) -> None:
    d = copy_dir(tmp_path)
    alts: list[bytes] = []
    prev = locs0[597].hash
    for i, src in enumerate((blocks0[598], blocks0[599], blocks0[599])):
        alts.append(alt_block(src, prev, i + 1))
        prev = sha256d(alts[-1][:80])
    append_records(d / "blk00001.dat", alts)
    layout = best_chain(scan_blocks_dir(d))
    assert len(layout.main) == 601
    assert hashes(layout.main) == hashes(locs0[:598]) + [hexid(sha256d(a[:80])) for a in alts]
    assert hashes(layout.stale) == hashes(locs0[598:])
    assert layout.stale_depth == [598, 599]
    assert layout.tip_work == 601 * DIFF1_WORK


def test_harder_block_beats_longer_branch(
        tmp_path: Path, locs0: list[BlockLocation], blocks0: list[bytes]) -> None:
    d = copy_dir(tmp_path)
    hard = alt_block(blocks0[598], locs0[597].hash, 1, bits=0x1C00FFFF)
    append_records(d / "blk00001.dat", [hard])
    layout = best_chain(scan_blocks_dir(d))
    assert hashes(layout.main) == hashes(locs0[:598]) + [hexid(sha256d(hard[:80]))]
    assert hashes(layout.stale) == hashes(locs0[598:])
    assert layout.tip_work == 598 * DIFF1_WORK + work_from_bits(0x1C00FFFF)


# --- broken files ---------------------------------------------------------------

def test_bad_magic_names_true_offset(tmp_path: Path, locs0: list[BlockLocation]) -> None:
    d = copy_dir(tmp_path)
    path = d / "blk00000.dat"
    target = [b for b in locs0 if b.file_num == 0][100]
    data = bytearray(path.read_bytes())
    data[target.offset - 8] ^= 0xFF
    path.write_bytes(data)
    with pytest.raises(BadMagicError) as exc:
        scan_block_file(path, MAGIC, None)
    assert exc.value.offset == target.offset - 8 > 0
    assert exc.value.source == str(path)
    assert f"offset {target.offset - 8}" in str(exc.value) and "blk00000.dat" in str(exc.value)


def test_truncated_tail(tmp_path: Path, locs0: list[BlockLocation]) -> None:
    d = copy_dir(tmp_path)
    path = d / "blk00001.dat"
    last = [b for b in locs0 if b.file_num == 1][-1]
    whole = path.read_bytes()
    assert len(whole) == last.offset + last.length
    path.write_bytes(whole[:-10])
    with pytest.raises(TruncatedError) as exc:
        scan_block_file(path, MAGIC, None)
    assert exc.value.offset == last.offset - 8
    assert f"offset {last.offset - 8}" in str(exc.value)
    path.write_bytes(whole[: last.offset - 3])   # file ends inside the frame
    with pytest.raises(TruncatedError) as exc:
        scan_block_file(path, MAGIC, None)
    assert exc.value.offset == last.offset - 8


def test_short_record_length(tmp_path: Path, locs0: list[BlockLocation]) -> None:
    d = copy_dir(tmp_path)
    path = d / "blk00000.dat"
    target = [b for b in locs0 if b.file_num == 0][3]
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, target.offset - 4, 79)
    path.write_bytes(data)
    with pytest.raises(DecodeError) as exc:
        scan_block_file(path, MAGIC, None)
    assert type(exc.value) is DecodeError
    assert exc.value.offset == target.offset - 8


def test_zero_padding_tail(tmp_path: Path, locs0: list[BlockLocation]) -> None:
    d = copy_dir(tmp_path)
    path = d / "blk00000.dat"
    size = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(bytes(16 << 20))
    want = [(b.offset, b.length, b.hash) for b in locs0 if b.file_num == 0]
    got = scan_block_file(path, MAGIC, None)
    assert [(b.offset, b.length, b.hash) for b in got] == want
    assert hashes(best_chain(scan_blocks_dir(d)).main) == hashes(locs0)
    # A stray byte after the padding is not silently skipped.
    with open(path, "r+b") as fh:
        fh.seek(size + 12345)
        fh.write(b"\x01")
    with pytest.raises(TrailingBytesError) as exc:
        scan_block_file(path, MAGIC, None)
    assert exc.value.offset == size + 12345
    # A file that is all preallocation holds no blocks.
    (d / "blk00002.dat").write_bytes(bytes(1 << 16))
    assert scan_block_file(d / "blk00002.dat", MAGIC, None) == []
    (d / "blk00003.dat").write_bytes(b"")
    assert scan_block_file(d / "blk00003.dat", MAGIC, None) == []


# --- work arithmetic and chain edge cases ------------------------------------------

@pytest.mark.parametrize(("bits", "target"), [
    (0x00000000, 0), (0x00123456, 0), (0x01003456, 0), (0x02000056, 0), (0x03000000, 0),
    (0x04000000, 0), (0x00923456, 0), (0x01803456, 0), (0x02800056, 0), (0x03800000, 0),
    (0x04800000, 0), (0x01123456, 0x12), (0x02123456, 0x1234), (0x03123456, 0x123456),
    (0x04123456, 0x12345600), (0x05009234, 0x92340000),
    (0x20123456, 0x1234560000000000000000000000000000000000000000000000000000000000),
    (0x1D00FFFF, 0xFFFF << 208),
])
def test_target_from_bits(bits: int, target: int) -> None:
    assert target_from_bits(bits) == target
    if not bits & 0x00800000:  # bitcoinlib ignores Core's sign bit
        assert uint256_from_compact(bits) == target


def test_invalid_compact_and_work() -> None:
    for bits in (0x04923456, 0xFF123456, 0x23000001 | 0x00010000):
        with pytest.raises(ValidationError):
            target_from_bits(bits)
        assert work_from_bits(bits) == 0
    assert work_from_bits(0) == 0
    assert work_from_bits(0x1D00FFFF) == DIFF1_WORK
    assert work_from_bits(0x1C00FFFF) == (1 << 256) // ((0xFFFF << 200) + 1)
    assert work_from_bits(0x207FFFFF) == 2   # regtest: target just under 2**255


def fake(h: bytes, prev: bytes) -> BlockLocation:
    return BlockLocation(Path("blk00000.dat"), 0, 8, 81, bytes(80), h, prev, 0x1D00FFFF, 0)


def test_cycle_and_empty() -> None:
    a, b = b"a" * 32, b"b" * 32
    with pytest.raises(ValidationError, match="cycle"):
        best_chain([fake(a, b), fake(b, a)])
    empty = best_chain([])
    assert empty.main == [] and empty.stale == []

"""blk/rev/xor writer: Core's compressed coins and VARINT, record checksums, file roll-over, obfuscation."""

from __future__ import annotations

import random

from chaintrail.chains.bitcoin.blockfile_writer import (
    BlockFileWriter,
    block_undo_bytes,
    coin_undo_bytes,
    compress_amount,
    compress_script,
    varint_bytes,
    xor_bytes,
)
from chaintrail.chains.bitcoin.blockfiles import (
    deobfuscate,
    read_xor_key,
    scan_block_file,
)
from chaintrail.chains.bitcoin.serialize import regtest_genesis_block, sha256d
from chaintrail.chains.bitcoin.undo import (
    decompress_amount,
    parse_rev_file,
    record_matches_block,
)

REGTEST_MAGIC = bytes.fromhex("fabfb5da")
P2PKH = bytes.fromhex("76a914") + bytes(range(20)) + bytes.fromhex("88ac")
P2SH = bytes.fromhex("a914") + bytes(range(20, 40)) + b"\x87"
P2WPKH = b"\x00\x14" + bytes(range(40, 60))
P2TR = b"\x51\x20" + bytes(range(32))


def test_compress_amount_known_values_and_round_trip():
    # values from Core's compress_tests.cpp
    assert compress_amount(0) == 0
    assert compress_amount(1) == 1
    assert compress_amount(1_000_000) == 7
    assert compress_amount(100_000_000) == 9
    assert compress_amount(50 * 100_000_000) == 50
    assert compress_amount(21_000_000 * 100_000_000) == 0x1406F40
    rnd = random.Random(3)
    for v in [rnd.randrange(0, 21 * 10**14) for _ in range(2000)] + [10**k for k in range(16)]:
        assert decompress_amount(int(compress_amount(v))) == v


def test_varint_matches_core_encoding():
    # serialize_tests.cpp "varints" / the MSB base-128 form with the minus-one step
    assert varint_bytes(0) == b"\x00"
    assert varint_bytes(0x7F) == b"\x7f"
    assert varint_bytes(0x80) == b"\x80\x00"
    assert varint_bytes(0x1234) == b"\xa3\x34"
    assert varint_bytes(0xFFFF) == b"\x82\xfe\x7f"
    assert varint_bytes(0x123456) == b"\xc7\xe7\x56"
    assert varint_bytes(2**32) == b"\x8e\xfe\xfe\xff\x00"


def test_compressed_scripts_use_core_templates():
    assert compress_script(P2PKH) == b"\x00" + bytes(range(20))
    assert compress_script(P2SH) == b"\x01" + bytes(range(20, 40))
    assert compress_script(P2WPKH) == bytes([22 + 6]) + P2WPKH
    assert compress_script(P2TR) == bytes([34 + 6]) + P2TR


def test_block_undo_decodes_with_the_rev_parser():
    coins = [[(5, True, 50 * 10**8, P2PKH)], [(100, False, 12345, P2WPKH), (7, False, 999, P2SH), (0, False, 1, P2TR)]]
    undo = block_undo_bytes(coins)
    prev = sha256d(b"parent")
    rec = REGTEST_MAGIC + len(undo).to_bytes(4, "little") + undo + sha256d(prev + undo)
    [parsed] = parse_rev_file(rec, REGTEST_MAGIC, "mem")
    got = [[(c.height, c.is_coinbase, c.value, c.script) for c in tx] for tx in parsed.txs]
    assert got == coins
    assert record_matches_block(parsed, prev)
    assert coin_undo_bytes(0, False, 1, P2PKH)[:1] == b"\x00"   # height 0: no version byte


def test_writer_rolls_files_and_xors_like_core(tmp_path):
    header, cb = regtest_genesis_block()
    genesis = header.serialize() + b"\x01" + cb.serialize()
    key = bytes.fromhex("0102030405060708")
    undo = block_undo_bytes([[(1, True, 50 * 10**8, P2PKH)]])
    with BlockFileWriter(tmp_path, REGTEST_MAGIC, key, max_file_size=700) as w:
        for _ in range(5):
            w.write_block(genesis, undo, header.hash())
    assert read_xor_key(tmp_path) == key
    blks = sorted(tmp_path.glob("blk*.dat"))
    assert [p.name for p in blks] == ["blk00000.dat", "blk00001.dat", "blk00002.dat"]
    n = 0
    for p in blks:
        locs = scan_block_file(p, REGTEST_MAGIC, key)
        n += len(locs)
        for loc in locs:
            assert loc.hash == header.hash()
        rev = deobfuscate(p.with_name(p.name.replace("blk", "rev")).read_bytes(), key, 0)
        for rec in parse_rev_file(rev, REGTEST_MAGIC, "rev"):
            assert rec.undo == undo and record_matches_block(rec, header.hash())
    assert n == 5
    assert xor_bytes(xor_bytes(b"abcdefghij", key, 3), key, 3) == b"abcdefghij"

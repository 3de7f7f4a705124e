"""Tests for undo-data decoding: Core rev*.dat records and bcoin *-undo.raw files."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import pytest
from bitcoin.core import CBlock, Hash160
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.chains.bitcoin.network import MAINNET
from chaintrail.chains.bitcoin.undo import (
    MAX_MONEY,
    SpentCoin,
    decompress_amount,
    decompress_script,
    parse_bcoin_undo,
    parse_rev_file,
    record_matches_block,
    record_matches_header,
)
from chaintrail.errors import (
    BadMagicError,
    DecodeError,
    TrailingBytesError,
    TruncatedError,
    UndoDataError,
)

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "btc"
CORE_DIR = DATA / "mainnet" / "core-blocks-0-599"
MAGIC = MAINNET.magic
COIN = 100_000_000


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


@cache
def core_blocks() -> list[bytes]:
    """Raw blocks 0-599 from blk00000.dat + blk00001.dat (magic, LE u32 length, block)."""
    out = []
    for name in ("blk00000.dat", "blk00001.dat"):
        d = (CORE_DIR / name).read_bytes()
        pos = 0
        while pos < len(d):
            assert d[pos:pos + 4] == MAGIC
            n = int.from_bytes(d[pos + 4:pos + 8], "little")
            out.append(d[pos + 8:pos + 8 + n])
            pos += 8 + n
    return out


@cache
def core_block(i: int) -> CBlock:
    return CBlock.deserialize(core_blocks()[i])


def tx_shape(raw_block: bytes) -> list[int]:
    """Input count of each non-coinbase tx, in block order."""
    return [len(tx.vin) for tx in CBlock.deserialize(raw_block).vtx[1:]]


def frame(undo: bytes, prev_hash: bytes) -> bytes:
    """A rev*.dat record laid out by hand: magic, size, undo, sha256d(prev || undo)."""
    return MAGIC + len(undo).to_bytes(4, "little") + undo + sha256d(prev_hash + undo)


# -- rev00000.dat ------------------------------------------------------------------

def test_rev_file_records_match_exactly_one_block_each():
    blocks = core_blocks()
    assert len(blocks) == 600
    hashes = [sha256d(b[:80]) for b in blocks]
    height_of_prev = {b[4:36]: h for h, b in enumerate(blocks)}
    records = parse_rev_file((CORE_DIR / "rev00000.dat").read_bytes(), MAGIC, "rev00000.dat")
    assert len(records) == 40
    assert [r.offset for r in records] == [41 * i for i in range(40)]
    for i, rec in enumerate(records):
        matches = [h for h, bh in enumerate(hashes) if record_matches_block(rec, bh)]
        assert len(matches) == 1
        # Core checksums with the parent's hash: the matched hash is block i, the undone block i+1.
        undone = height_of_prev[hashes[matches[0]]]
        assert undone == i + 1
        assert [h for h, b in enumerate(blocks) if record_matches_header(rec, b[:80])] == [undone]
        assert not record_matches_block(rec, hashes[undone])
        shape = tx_shape(blocks[undone])
        assert len(rec.txs) == len(shape)
        assert [len(coins) for coins in rec.txs] == shape
        assert len(rec.checksum) == 32 and rec.undo == b"\x00"


def block170_undo() -> tuple[bytes, bytes]:
    """Block 170's CBlockUndo, assembled byte by byte from the spec, and block 9's coinbase script."""
    script9 = core_block(9).vtx[0].vout[0].scriptPubKey
    assert len(script9) == 67 and script9[:2] == b"\x41\x04" and script9[-1] == 0xAC
    x, odd = bytes(script9[2:34]), script9[65] & 1
    # 1 CTxUndo, 1 Coin; code 9*2+1 = 0x13; legacy dummy 0; CompressAmount(50 BTC) = 50;
    # nSize 4|parity(y) followed by the key's x coordinate.
    undo = bytes([1, 1, 0x13, 0x00, 50, 4 | odd]) + x
    return undo, bytes(script9)


def test_block170_spend_of_block9_coinbase():
    b170 = core_block(170)
    spend = b170.vtx[1].vin[0].prevout
    assert spend.hash == core_block(9).vtx[0].GetTxid() and spend.n == 0
    undo, script9 = block170_undo()
    prev = sha256d(core_blocks()[169][:80])
    data = frame(undo, prev) + bytes(64)  # Core preallocates with zeros
    (rec,) = parse_rev_file(data, MAGIC, "synthetic")
    assert record_matches_header(rec, core_blocks()[170][:80])
    assert [len(c) for c in rec.txs] == tx_shape(core_blocks()[170])
    assert rec.txs == [[SpentCoin(5_000_000_000, script9, 9, True)]]


# -- Core compression primitives --------------------------------------------------

def _compress_amount(n: int) -> int:
    """Core's CompressAmount, written out here to round-trip against."""
    if n == 0:
        return 0
    e = 0
    while n % 10 == 0 and e < 9:
        n //= 10
        e += 1
    if e < 9:
        d = n % 10
        n //= 10
        return 1 + (n * 9 + d - 1) * 10 + e
    return 1 + (n - 1) * 10 + 9


def test_decompress_amount_core_vectors():
    # Core's compress_tests.cpp fixed points.
    for sat, comp in [(0, 0), (1, 1), (1_000_000, 7), (COIN, 9), (50 * COIN, 50),
                      (21_000_000 * COIN, 21_000_000)]:
        assert _compress_amount(sat) == comp
        assert decompress_amount(comp) == sat
    for n in list(range(100_000)) + list(range(MAX_MONEY - 1000, MAX_MONEY + 1)):
        assert decompress_amount(_compress_amount(n)) == n
    for x in range(100_000):
        assert _compress_amount(decompress_amount(x)) == x


GX = bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
GY = bytes.fromhex("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
P = 2**256 - 2**32 - 977


def test_decompress_script_templates():
    h = bytes(range(20))
    assert decompress_script(0, h) == bytes.fromhex("76a914") + h + bytes.fromhex("88ac")
    assert decompress_script(1, h) == bytes.fromhex("a914") + h + b"\x87"
    assert decompress_script(2, GX) == b"\x21\x02" + GX + b"\xac"
    assert decompress_script(3, GX) == b"\x21\x03" + GX + b"\xac"
    assert decompress_script(4, GX) == b"\x41\x04" + GX + GY + b"\xac"  # G's y is even
    odd_y = (P - int.from_bytes(GY, "big")).to_bytes(32, "big")
    assert decompress_script(5, GX) == b"\x41\x04" + GX + odd_y + b"\xac"
    assert decompress_script(6 + 3, b"\x51\x52\x93") == b"\x51\x52\x93"
    with pytest.raises(UndoDataError):
        decompress_script(4, (P + 1).to_bytes(32, "big"))  # x >= p is never a key
    with pytest.raises(UndoDataError):
        decompress_script(0, bytes(19))


# -- corrupt rev data ------------------------------------------------------------------

def small_rev() -> bytes:
    """A real empty-undo record from rev00000.dat followed by the block-170 record."""
    real = (CORE_DIR / "rev00000.dat").read_bytes()[:41]
    undo, _ = block170_undo()
    return real + frame(undo, sha256d(core_blocks()[169][:80]))


def test_truncation_at_every_offset_is_typed():
    data = small_rev()
    assert len(parse_rev_file(data, MAGIC, "s")) == 2
    for k in range(1, len(data)):
        if k == 41:
            assert len(parse_rev_file(data[:k], MAGIC, "s")) == 1
            continue
        with pytest.raises(TruncatedError) as exc:
            parse_rev_file(data[:k], MAGIC, "s")
        assert exc.value.source == "s"
        assert exc.value.offset == (0 if k < 41 else 41)


def test_record_size_field_errors_point_inside_record():
    undo, _ = block170_undo()
    short = MAGIC + (len(undo) - 1).to_bytes(4, "little") + undo + bytes(32)
    with pytest.raises(TruncatedError) as exc:
        parse_rev_file(short, MAGIC, "s")
    assert exc.value.offset == 8 + 6  # where the 32-byte key coordinate starts
    long = MAGIC + (len(undo) + 1).to_bytes(4, "little") + undo + b"\x07" + bytes(32)
    with pytest.raises(TrailingBytesError) as exc:
        parse_rev_file(long, MAGIC, "s")
    assert exc.value.offset == 8 + len(undo)


def test_bad_varint_and_bad_key_are_undo_errors():
    overlong = bytes([1, 1]) + b"\xff" * 6 + b"\x00"
    with pytest.raises(UndoDataError) as exc:
        parse_rev_file(frame(overlong, bytes(32)), MAGIC, "s")
    assert exc.value.offset == 10
    off_curve = bytes([1, 1, 0x13, 0x00, 50, 4]) + b"\xff" * 32
    with pytest.raises(UndoDataError) as exc:
        parse_rev_file(frame(off_curve, bytes(32)), MAGIC, "s")
    assert exc.value.offset == 8 + 5
    non_canonical = b"\xfd\x01\x00" + bytes([0])
    with pytest.raises(UndoDataError):
        parse_rev_file(frame(non_canonical, bytes(32)), MAGIC, "s")


def test_flipped_magic_and_zero_tail():
    data = small_rev()
    for at in (0, 3, 41, 44):
        bad = bytearray(data)
        bad[at] ^= 0x01
        with pytest.raises(BadMagicError) as exc:
            parse_rev_file(bytes(bad), MAGIC, "s")
        assert exc.value.offset == (0 if at < 41 else 41)
    assert len(parse_rev_file(data + bytes(1000), MAGIC, "s")) == 2
    with pytest.raises(BadMagicError) as exc:
        parse_rev_file(data + bytes(10) + b"\x01", MAGIC, "s")
    assert exc.value.offset == len(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_rev_arbitrary_bytes(blob):
    for data in (blob, MAGIC + blob):
        try:
            parse_rev_file(data, MAGIC, "fuzz")
        except DecodeError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 255)), max_size=4))
def test_fuzz_rev_mutated_record(edits):
    data = bytearray(small_rev())
    for pos, val in edits:
        data[pos] = val
    try:
        parse_rev_file(bytes(data), MAGIC, "fuzz")
    except DecodeError:
        pass


# -- bcoin undo files ---------------------------------------------------------------

BCOIN = [("mainnet", 300025), ("testnet", 1087400), ("testnet", 928816), ("testnet", 928828),
         ("testnet", 928831), ("testnet", 928848), ("testnet", 928849), ("testnet", 928927)]
# P2WPKH and P2PKH spends per block, counted independently of undo order by script type.
P2WPKH_SPENDS = {928816: 8629, 928831: 9977, 928848: 11207, 928849: 8509, 928927: 9979}
FEES = {300025: 7773345, 1087400: 1218469, 928816: 34138981, 928828: 8300088,
        928831: 36706665, 928848: 38476510, 928849: 33136194, 928927: 36264990}


@pytest.mark.parametrize(("net", "height"), BCOIN)
def test_bcoin_undo_matches_block(net, height):
    raw = DATA / net / "raw"
    block = CBlock.deserialize((raw / f"block{height}.raw").read_bytes())
    name = f"block{height}-undo.raw"
    coins = parse_bcoin_undo((raw / name).read_bytes(), name)
    inputs = [(tx, j) for tx in block.vtx[1:] for j in range(len(tx.vin))]
    assert len(coins) == len(inputs)
    assert all(c.height == -1 for c in coins)

    # Satoshi conservation: spent - created = fees = coinbase claim - subsidy.
    spent = sum(c.value for c in coins)
    created = sum(o.nValue for tx in block.vtx[1:] for o in tx.vout)
    subsidy = (50 * COIN) >> (height // 210_000)
    claimed = sum(o.nValue for o in block.vtx[0].vout)
    assert spent - created == claimed - subsidy == FEES[height]

    # Order: the key revealed by each input must hash to the program of the coin it got.
    wpkh = pkh = 0
    for (tx, j), coin in zip(inputs, coins, strict=True):
        s = coin.script
        if len(s) == 22 and s[:2] == b"\x00\x14":
            stack = tx.wit.vtxinwit[j].scriptWitness.stack
            assert Hash160(stack[1]) == s[2:]
            wpkh += 1
        elif len(s) == 25 and s[:3] == b"\x76\xa9\x14" and s[23:] == b"\x88\xac":
            pushes = list(tx.vin[j].scriptSig)
            assert Hash160(pushes[-1]) == s[3:23]
            pkh += 1
    assert wpkh == P2WPKH_SPENDS.get(height, 0)
    if height == 300025:
        assert pkh > 1000


def test_bcoin_truncation_only_succeeds_on_coin_boundaries():
    data = (DATA / "mainnet" / "raw" / "block300025-undo.raw").read_bytes()[:400]
    boundaries, pos = set(), 0
    while pos + 9 <= len(data):
        end = pos + 8 + 1 + data[pos + 8]
        if end > len(data):
            break
        pos = end
        boundaries.add(pos)
    assert len(boundaries) > 5
    for k in range(1, pos + 1):
        if k in boundaries:
            assert len(parse_bcoin_undo(data[:k], "b")) == sorted(boundaries).index(k) + 1
        else:
            with pytest.raises(TruncatedError):
                parse_bcoin_undo(data[:k], "b")


def test_bcoin_rejects_negative_value():
    bad = (-1).to_bytes(8, "little", signed=True) + b"\x00"
    with pytest.raises(UndoDataError) as exc:
        parse_bcoin_undo(b"\x01" + bytes(7) + b"\x00" + bad, "b")
    assert exc.value.offset == 9


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_bcoin_arbitrary_bytes(blob):
    try:
        parse_bcoin_undo(blob, "fuzz")
    except DecodeError:
        pass

"""The numba block parser against every real block, python-bitcoinlib, and hypothesis fuzzing.

Counts come from the data README's table; txids and wtxids from python-bitcoinlib's
independent decoder; merkle roots are recomputed here with hashlib.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from bitcoin.core import CBlock, CTransaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrail.chains.bitcoin.parse import compute_txids, compute_wtxids, merkle_root, parse_blocks
from chaintrail.chains.bitcoin.validate import check_block
from chaintrail.errors import (
    DecodeError,
    MerkleMismatchError,
    TrailingBytesError,
    TruncatedError,
    WitnessCommitmentError,
)

BTC = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "btc"
MAGICS = (bytes.fromhex("f9beb4d9"), bytes.fromhex("0b110907"))

# The data README's table: file -> (txs, inputs, outputs, block hash prefix).
README: dict[str, tuple[int, int, int, str]] = {
    "mainnet/raw/block1.raw": (1, 1, 1, "00000000839a8e6886ab"),
    "mainnet/raw/block169482.raw": (14, 60, 231, "0000000000000756935f"),
    "mainnet/raw/block227835.raw": (122, 263, 229, "00000000000001aa077d"),
    "mainnet/raw/block227836.raw": (100, 191, 188, "00000000000000d0dfd4"),
    "mainnet/raw/block277647.raw": (213, 733, 769, "0000000000000000054a"),
    "mainnet/raw/block300025.raw": (461, 1428, 1226, "0000000000000000821c"),
    "mainnet/raw/block363703.raw": (587, 3043, 1418, "0000000000000000011b"),
    "mainnet/raw/block370661.raw": (708, 2006, 1823, "00000000000000001416"),
    "mainnet/raw/block481815.raw": (2097, 4699, 4659, "00000000000000000089"),
    "mainnet/raw/block540107.raw": (230, 7033, 472, "00000000000000000021"),
    "mainnet/raw/block574200.raw": (3315, 5055, 8150, "00000000000000000016"),
    "testnet/raw/bitcoinj-testnet21066.raw": (2, 2, 2, "0000000004053156021d"),
    "testnet/raw/bitcoinj-testnet32768.raw": (5, 5, 9, "000000007590ba495b58"),
    "testnet/raw/bitcoinj-testnet700000.raw": (4, 8, 12, "000000000000406178b1"),
    "testnet/raw/block1087400.raw": (97, 206, 231, "0000000003db83e6ab01"),
    "testnet/raw/block898352.raw": (10, 16, 24, "00000000c269ad542ed9"),
    "testnet/raw/block928816.raw": (889, 8693, 9241, "00000000000001c4b87e"),
    "testnet/raw/block928828.raw": (201, 1973, 1445, "00000000000cee3a01a2"),
    "testnet/raw/block928831.raw": (915, 9985, 9990, "00000000000001ad1946"),
    "testnet/raw/block928848.raw": (676, 11216, 7379, "00000000000001dc1c2c"),
    "testnet/raw/block928849.raw": (993, 8595, 10264, "000000000000008d5be8"),
    "testnet/raw/block928927.raw": (914, 9984, 10010, "000000000000003dbbbd"),
    "testnet/raw/testnet924634.raw": (15, 16, 29, "000000000000045e0b16"),
}
SMALL = ["mainnet/raw/block1.raw", "testnet/raw/bitcoinj-testnet21066.raw",
         "testnet/raw/bitcoinj-testnet700000.raw", "testnet/raw/testnet924634.raw",
         "testnet/raw/block898352.raw"]


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def tree_root(hashes: list[bytes]) -> bytes:
    """Merkle root written out independently of the code under test."""
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@cache
def block_bytes(name: str) -> bytes:
    """The bare block of a README file (a Core frame, if present, is checked and removed)."""
    raw = (BTC / name).read_bytes()
    if raw[:4] in MAGICS:
        n = int.from_bytes(raw[4:8], "little")
        assert len(raw) == 8 + n
        raw = raw[8:]
    return raw


def parse_one(raw: bytes):
    buf = np.frombuffer(raw, np.uint8)
    return parse_blocks(buf, np.array([0]), np.array([len(raw)]))


def test_readme_table_covers_every_block_file():
    found = {str(p.relative_to(BTC)) for p in BTC.glob("*/raw/*.raw")
             if not p.stem.endswith("-undo") and not p.name.startswith("tx-")}
    assert found == set(README)
    assert (BTC / "mainnet/raw/block277647.raw").read_bytes()[:4] == MAGICS[0]  # one framed file


@pytest.mark.parametrize("name", sorted(README))
def test_real_block_counts_txids_and_merkle(name: str):
    raw = block_bytes(name)
    n_tx, n_in, n_out, prefix = README[name]
    lay = parse_one(raw)
    assert (lay.n_blocks, lay.n_tx, lay.n_in, lay.n_out) == (1, n_tx, n_in, n_out)
    assert sha256d(raw[:80])[::-1].hex().startswith(prefix)
    txids = compute_txids(lay)
    assert txids.shape == (n_tx, 32)
    ref = CBlock.deserialize(raw)
    assert [bytes(t) for t in txids] == [tx.GetTxid() for tx in ref.vtx]
    assert compute_wtxids(lay, 0, n_tx) == [tx.GetHash() for tx in ref.vtx]
    # Per-tx facts against bitcoinlib: input/output counts, values, scripts, versions.
    assert np.diff(lay.tx_first_in).tolist() == [len(tx.vin) for tx in ref.vtx]
    assert np.diff(lay.tx_first_out).tolist() == [len(tx.vout) for tx in ref.vtx]
    assert lay.out_value.tolist() == [o.nValue for tx in ref.vtx for o in tx.vout]
    assert lay.tx_version.tolist() == [tx.nVersion for tx in ref.vtx]
    assert lay.tx_locktime.tolist() == [tx.nLockTime for tx in ref.vtx]
    assert lay.in_vout.tolist() == [i.prevout.n for tx in ref.vtx for i in tx.vin]
    assert lay.in_sequence.tolist() == [i.nSequence for tx in ref.vtx for i in tx.vin]
    scripts = [raw[o:o + n] for o, n in zip(lay.out_script.tolist(), lay.out_script_len.tolist())]
    assert scripts == [bytes(o.scriptPubKey) for tx in ref.vtx for o in tx.vout]
    assert (lay.tx_end - lay.tx_start).tolist() == [len(tx.serialize()) for tx in ref.vtx]
    assert (lay.tx_body >= 0).tolist() == [tx.has_witness() for tx in ref.vtx]
    # Merkle root of the txids, recomputed here, is the header's; check_block agrees.
    assert tree_root([bytes(t) for t in txids]) == raw[36:68]
    assert merkle_root([bytes(t) for t in txids]) == raw[36:68]
    check_block(lay, 0, txids)


def test_all_real_blocks_in_one_buffer():
    """Many blocks with gaps between them: per-block ranges and totals stay exact."""
    names = sorted(README)
    parts, starts, ends, pos = [], [], [], 0
    for name in names:
        raw = block_bytes(name)
        gap = b"\xee" * 13  # junk between blocks that must never be read
        parts += [gap, raw]
        starts.append(pos + len(gap))
        pos += len(gap) + len(raw)
        ends.append(pos)
    buf = np.frombuffer(b"".join(parts), np.uint8)
    lay = parse_blocks(buf, np.array(starts), np.array(ends))
    per_block = np.diff(lay.blk_first_tx).tolist()
    assert per_block == [README[n][0] for n in names]
    assert lay.n_in == sum(README[n][1] for n in names)
    assert lay.n_out == sum(README[n][2] for n in names)
    txids = compute_txids(lay)
    for b in range(len(names)):
        check_block(lay, b, txids)


def test_lone_transaction_file():
    """tx-bb41a757.raw is one ~1 MB transaction, not a block."""
    tx = (BTC / "mainnet/raw/tx-bb41a757.raw").read_bytes()
    ref = CTransaction.deserialize(tx)
    assert ref.GetTxid()[::-1].hex().startswith("bb41a757")
    with pytest.raises(DecodeError):
        parse_one(tx)
    # Wrapped into a block of its own, it parses to the same txid as bitcoinlib's.
    header = bytes(4) + bytes(32) + ref.GetTxid() + bytes(12)
    lay = parse_one(header + b"\x01" + tx)
    assert (lay.n_tx, lay.n_in, lay.n_out) == (1, len(ref.vin), len(ref.vout))
    assert bytes(compute_txids(lay)[0]) == ref.GetTxid()
    check_block(lay, 0, compute_txids(lay))  # one tx: the root is the txid


# -- strictness ------------------------------------------------------------------------

@pytest.mark.parametrize("name", SMALL)
def test_truncation_at_every_offset(name: str):
    raw = block_bytes(name)
    for k in range(len(raw)):
        # Exact-size buffer, and the same prefix with the real rest of the block still
        # present after blk_end: the parser must stop at blk_end, not at the buffer's end.
        for buf in (np.frombuffer(raw[:k], np.uint8), np.frombuffer(raw, np.uint8)):
            with pytest.raises(TruncatedError) as exc:
                parse_blocks(buf, np.array([0]), np.array([k]))
            assert 0 <= exc.value.offset <= k


def test_trailing_bytes_and_error_block_index():
    a, b = block_bytes("mainnet/raw/block1.raw"), block_bytes(SMALL[1])
    buf = np.frombuffer(a + b + b"\x00", np.uint8)
    with pytest.raises(TrailingBytesError) as exc:
        parse_blocks(buf, np.array([0, len(a)]), np.array([len(a), len(a) + len(b) + 1]))
    assert exc.value.offset == len(a) + len(b)
    assert exc.value.block == 1
    # The error of the first block names block 0 and an offset inside it.
    with pytest.raises(TruncatedError) as exc:
        parse_blocks(buf, np.array([0, len(a)]), np.array([len(a) - 1, len(a) + len(b)]))
    assert exc.value.block == 0 and exc.value.offset <= len(a) - 1


def test_bad_segwit_flag_and_superfluous_witness():
    raw = block_bytes("testnet/raw/testnet924634.raw")
    lay = parse_one(raw)
    seg = int(np.flatnonzero(lay.tx_body >= 0)[0])
    flag_at = int(lay.tx_start[seg]) + 5
    assert raw[flag_at - 1:flag_at + 1] == b"\x00\x01"
    bad = bytearray(raw)
    bad[flag_at] = 2
    with pytest.raises(DecodeError, match="flag") as exc:
        parse_one(bytes(bad))
    assert exc.value.offset == flag_at
    # A segwit tx whose witness stacks are all empty is rejected (Core: superfluous witness).
    wit = int(lay.tx_wit[seg])
    n_in = int(lay.tx_first_in[seg + 1] - lay.tx_first_in[seg])
    empty = raw[:wit] + bytes(n_in) + raw[int(lay.tx_end[seg]) - 4:]
    with pytest.raises(DecodeError, match="superfluous") as exc:
        parse_one(empty)
    assert exc.value.offset == wit


def test_non_canonical_compact_size():
    raw = block_bytes("mainnet/raw/block1.raw")
    # tx count 1 written as fd 01 00 is not canonical.
    bad = raw[:80] + b"\xfd\x01\x00" + raw[81:]
    with pytest.raises(DecodeError, match="CompactSize") as exc:
        parse_one(bad)
    assert exc.value.offset == 80


# -- fuzzing -----------------------------------------------------------------------------

def _check_outcome(data: bytes) -> None:
    """parse_blocks (and the checks after it) either succeed or raise a located DecodeError."""
    buf = np.frombuffer(data, np.uint8)
    try:
        lay = parse_blocks(buf, np.array([0]), np.array([len(data)]))
    except DecodeError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data)
        return
    assert lay.tx_end[-1] == len(data)
    assert (lay.out_script + lay.out_script_len <= len(data)).all()
    assert (lay.in_script + lay.in_script_len <= len(data)).all()
    txids = compute_txids(lay)
    try:
        check_block(lay, 0, txids)
    except DecodeError:
        pass


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(min_size=0, max_size=600))
def test_fuzz_random_bytes(data: bytes):
    _check_outcome(data)


@FUZZ
@given(st.binary(min_size=0, max_size=200))
def test_fuzz_random_tail_after_header(data: bytes):
    _check_outcome(bytes(80) + data)


@FUZZ
@given(name=st.sampled_from(SMALL), data=st.data())
def test_fuzz_mutated_real_blocks(name: str, data):
    raw = bytearray(block_bytes(name))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        if not raw:
            break
        i = data.draw(st.integers(0, len(raw) - 1))
        if op == "set":
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=9))
        elif op == "delete":
            del raw[i:i + data.draw(st.integers(1, 9))]
        else:
            del raw[i:]
    _check_outcome(bytes(raw))


@settings(max_examples=250, deadline=None)
@given(name=st.sampled_from(SMALL + ["mainnet/raw/block169482.raw", "testnet/raw/block1087400.raw"]),
       data=st.data())
def test_fuzz_one_flipped_byte_is_caught(name: str, data):
    """Any single changed byte after the header fails decoding or a block check."""
    raw = block_bytes(name)
    lay = parse_one(raw)
    i = data.draw(st.integers(80, len(raw) - 1))
    bad = bytearray(raw)
    bad[i] ^= data.draw(st.integers(1, 255))
    # Where the byte sits decides which check must catch it.
    t = int(np.searchsorted(lay.tx_start, i, side="right")) - 1
    in_witness = t >= 0 and lay.tx_body[t] >= 0 and lay.tx_wit[t] <= i < lay.tx_end[t] - 4
    try:
        blay = parse_one(bytes(bad))
    except DecodeError:
        return
    with pytest.raises(DecodeError) as exc:
        check_block(blay, 0, compute_txids(blay))
    if in_witness:
        assert isinstance(exc.value, (WitnessCommitmentError, MerkleMismatchError))
    else:
        assert type(exc.value) is MerkleMismatchError

"""Batched double SHA-256 in vector lanes against hashlib and python-bitcoinlib, on every real block.

Merkle roots are recomputed here with hashlib; the batch block check must name the first
block that fails, as the one-block check (the reference) does. The multi-buffer scheduler is
driven through every padding boundary, SegWit preimages whose pieces straddle blocks, and
message counts below, at and above the lane count.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from bitcoin.core import CBlock
from test_parse import README, block_bytes, tree_root

from chaintrail.chains.bitcoin import sha256_lanes
from chaintrail.chains.bitcoin.parse import compute_txids, compute_txids_hashlib, compute_wtxids, parse_blocks
from chaintrail.chains.bitcoin.validate import check_block, check_blocks
from chaintrail.errors import MerkleMismatchError, WitnessCommitmentError

def all_blocks() -> tuple[list[str], bytes, np.ndarray, np.ndarray]:
    names = sorted(README)
    raws = [block_bytes(n) for n in names]
    sizes = np.array([len(r) for r in raws])
    ends = np.cumsum(sizes)
    return names, b"".join(raws), ends - sizes, ends


def test_txids_equal_hashlib_and_bitcoinlib():
    names, data, starts, ends = all_blocks()
    lay = parse_blocks(np.frombuffer(data, np.uint8), starts, ends)
    fast = compute_txids(lay)
    assert np.array_equal(fast, compute_txids_hashlib(lay))
    ref = [tx.GetTxid() for n in names for tx in CBlock.deserialize(block_bytes(n)).vtx]
    assert [bytes(t) for t in fast] == ref


def test_ranges_and_merkle_roots_against_hashlib():
    names, data, starts, ends = all_blocks()
    buf = np.frombuffer(data, np.uint8)
    lay = parse_blocks(buf, starts, ends)
    txids = compute_txids(lay)
    roots = sha256_lanes.merkle_roots(txids, lay.blk_first_tx)
    for b in range(len(names)):
        f, last = int(lay.blk_first_tx[b]), int(lay.blk_first_tx[b + 1])
        assert roots[b].tobytes() == tree_root([t.tobytes() for t in txids[f:last]]) == data[starts[b] + 36:starts[b] + 68]
        wtx = sha256_lanes.sha256d_ranges(buf, lay.tx_start[f:last], lay.tx_end[f:last])
        assert [w.tobytes() for w in wtx] == compute_wtxids(lay, f, last)
        wroot = sha256_lanes.merkle_roots(wtx, np.array([0, last - f]), zero_first=True)[0]
        assert wroot.tobytes() == tree_root([bytes(32)] + [w.tobytes() for w in wtx[1:]])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100])
def test_merkle_odd_levels_repeat_the_last_hash(n: int):
    rng = np.random.default_rng(n)
    leaves = rng.integers(0, 256, (3 * n, 32), dtype=np.uint8)
    first = np.array([0, n, n + 1, 3 * n])   # blocks of n, 1 and 2n - 1 leaves
    roots = sha256_lanes.merkle_roots(leaves, first)
    for b in range(3):
        assert roots[b].tobytes() == tree_root([x.tobytes() for x in leaves[first[b]:first[b + 1]]])
    assert sha256_lanes.sha256d_ranges(leaves.reshape(-1), np.array([5]), np.array([5 + 31 * n]))[0].tobytes() == \
        hashlib.sha256(hashlib.sha256(leaves.reshape(-1)[5:5 + 31 * n].tobytes()).digest()).digest()


def _flip_and_check(flips: list[tuple[str, str]]) -> tuple[int | None, list[str]]:
    """Flip one byte in each named block (in its witness or outside it), then batch-check all blocks."""
    names, data, starts, ends = all_blocks()
    bad = bytearray(data)
    for name, where in flips:
        b = names.index(name)
        lay = parse_blocks(np.frombuffer(block_bytes(name), np.uint8), np.array([0]), np.array([ends[b] - starts[b]]))
        t = int(np.flatnonzero(lay.tx_body >= 0)[-1]) if where == "witness" else lay.n_tx - 1
        at = int(lay.tx_end[t]) - 5 if where == "witness" else int(lay.tx_end[t]) - 1   # a witness byte / the locktime
        bad[int(starts[b]) + at] ^= 0x01
    lay = parse_blocks(np.frombuffer(bytes(bad), np.uint8), starts, ends)
    return check_blocks(lay, compute_txids(lay)), names


def test_check_blocks_passes_real_blocks():
    assert _flip_and_check([])[0] is None


def test_check_blocks_names_the_first_failing_block():
    seg, legacy = "testnet/raw/block928849.raw", "mainnet/raw/block300025.raw"
    first, names = _flip_and_check([(seg, "witness")])
    assert first == names.index(seg)
    first, names = _flip_and_check([(seg, "witness"), (legacy, "locktime")])
    assert first == min(names.index(seg), names.index(legacy))
    # The one-block reference check raises the matching error for what the batch check found.
    _, data, starts, ends = all_blocks()
    bad = bytearray(block_bytes(seg))
    lay1 = parse_blocks(np.frombuffer(bytes(bad), np.uint8), np.array([0]), np.array([len(bad)]))
    at = int(lay1.tx_end[int(np.flatnonzero(lay1.tx_body >= 0)[-1])]) - 5
    bad[at] ^= 0x01
    lay1 = parse_blocks(np.frombuffer(bytes(bad), np.uint8), np.array([0]), np.array([len(bad)]))
    assert check_blocks(lay1, compute_txids(lay1)) == 0
    with pytest.raises(WitnessCommitmentError):
        check_block(lay1, 0, compute_txids(lay1))
    bad[int(lay1.tx_end[-1]) - 1] ^= 0x01
    lay1 = parse_blocks(np.frombuffer(bytes(bad), np.uint8), np.array([0]), np.array([len(bad)]))
    with pytest.raises(MerkleMismatchError):
        check_block(lay1, 0, compute_txids(lay1))


def _sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def test_ranges_of_every_length_around_the_padding_boundaries():
    # Lengths 0..300 cross 55/56 (the length field spills into a new block), 64, 119/120 and so on, in one
    # call (lanes of different lengths side by side), then a lone long message among short ones.
    rng = np.random.default_rng(3)
    buf = rng.integers(0, 256, 50_000, dtype=np.uint8)
    lens = np.concatenate([np.arange(301), [20_000], np.arange(5)])
    starts = rng.integers(0, len(buf) - lens, len(lens))
    got = sha256_lanes.sha256d_ranges(buf, starts, starts + lens)
    for j, (s, n) in enumerate(zip(starts.tolist(), lens.tolist())):
        assert got[j].tobytes() == _sha256d(buf[s:s + n].tobytes()), (j, n)


@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 33])
def test_ranges_for_fewer_and_more_messages_than_lanes(count: int):
    buf = np.arange(4096, dtype=np.uint64).astype(np.uint8)
    starts = np.arange(count) * 7
    got = sha256_lanes.sha256d_ranges(buf, starts, starts + 100 + np.arange(count))
    assert got.shape == (count, 32)
    assert [g.tobytes() for g in got] == [_sha256d(buf[s:s + 100 + j].tobytes()) for j, s in enumerate(starts)]


def test_segwit_preimages_leave_out_marker_flag_and_witness_at_every_offset():
    # A synthetic "transaction": version, marker+flag, body, witness, locktime. Body lengths 0..200 put the
    # join of version and body, and of body and locktime, at every position in a block.
    rng = np.random.default_rng(5)
    pieces, starts, ends, bodies, wits, want = [], [], [], [], [], []
    at = 0
    for bl in range(201):
        ver, body, wit, lock = (rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (4, bl, 1 + bl % 37, 4))
        tx = ver + b"\x00\x01" + body + wit + lock
        pieces.append(tx)
        starts.append(at)
        bodies.append(at + 6)
        wits.append(at + 6 + bl)
        ends.append(at + len(tx))
        want.append(_sha256d(ver + body + lock))
        at += len(tx)
    buf = np.frombuffer(b"".join(pieces), np.uint8)
    plain = [_sha256d(p) for p in pieces]
    got = sha256_lanes.txids(buf, np.array(starts), np.array(ends), np.array(bodies), np.array(wits))
    assert [g.tobytes() for g in got] == want
    # The same messages hashed whole (-1: no witness) give the wtxid-style digests.
    none = np.full(len(starts), -1)
    assert [g.tobytes() for g in sha256_lanes.txids(buf, np.array(starts), np.array(ends), none, none)] == plain

"""Consistency checks run on every block: merkle root and BIP141 witness commitment."""

from __future__ import annotations

import numpy as np

from chaintrail.chains.bitcoin import sha256_lanes
from chaintrail.chains.bitcoin.parse import BlockLayout, compute_wtxids, merkle_root, sha256d
from chaintrail.errors import MerkleMismatchError, WitnessCommitmentError

_COMMITMENT_PREFIX = bytes.fromhex("6a24aa21a9ed")


def check_blocks(lay: BlockLayout, txids: np.ndarray) -> int | None:
    """Index of the first block of ``lay`` failing its merkle or witness-commitment check, or None.

    Every block is hashed in a few compiled calls; ``check_block`` on the block returned gives the error.
    """
    buf, first = lay.buf, lay.blk_first_tx
    headers = buf[lay.blk_start[:, None] + np.arange(36, 68)]
    bad = np.flatnonzero((sha256_lanes.merkle_roots(txids, first) != headers).any(axis=1))
    # Witness commitments: blocks with witness data only (see _check_witness_commitment).
    has_wit = np.add.reduceat((lay.tx_body >= 0).astype(np.int64), first[:-1]) > 0
    wb = np.flatnonzero(has_wit)
    if len(wb):
        counts = first[wb + 1] - first[wb]
        txs = np.repeat(first[wb] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        wtxids = txids[txs]                    # a tx without witness has its txid as wtxid
        seg = txs[lay.tx_body[txs] >= 0]
        wtxids[lay.tx_body[txs] >= 0] = sha256_lanes.sha256d_ranges(buf, lay.tx_start[seg], lay.tx_end[seg])
        roots = sha256_lanes.merkle_roots(wtxids, np.concatenate([[0], np.cumsum(counts)]), zero_first=True)
        for k, b in enumerate(wb.tolist()):
            cb = int(first[b])
            at, reserved = _find_commitment(lay, cb), _coinbase_reserved_value(lay, cb)
            if at is None or reserved is None or buf[at + 6:at + 38].tobytes() != sha256d(roots[k].tobytes() + reserved):
                bad = np.append(bad, b)
    return int(bad.min()) if len(bad) else None


def check_block(lay: BlockLayout, b: int, txids: np.ndarray) -> None:
    """Raise if block ``b`` of ``lay`` fails its merkle or witness-commitment check.

    Offsets in the raised error are relative to ``lay.buf``; the caller relocates them.
    """
    start = int(lay.blk_start[b])
    first, last = int(lay.blk_first_tx[b]), int(lay.blk_first_tx[b + 1])
    header = lay.buf[start:start + 80].tobytes()
    root = merkle_root([txids[i].tobytes() for i in range(first, last)])
    if root != header[36:68]:
        raise MerkleMismatchError(
            f"merkle root mismatch in block {sha256d(header)[::-1].hex()}: header has "
            f"{header[36:68][::-1].hex()}, transactions give {root[::-1].hex()}", None, start)
    _check_witness_commitment(lay, first, last, start)


def _check_witness_commitment(lay: BlockLayout, first: int, last: int, blk_off: int) -> None:
    # Before SegWit activation some miners already wrote commitments without any
    # witness data (e.g. mainnet 481815), so only blocks with witness data are held to it.
    if not bool((lay.tx_body[first:last] >= 0).any()):
        return
    commitment_at = _find_commitment(lay, first)
    if commitment_at is None:
        raise WitnessCommitmentError("block has witness data but no witness commitment", None, blk_off)
    reserved = _coinbase_reserved_value(lay, first)
    if reserved is None:
        raise WitnessCommitmentError("coinbase witness reserved value missing", None, int(lay.tx_start[first]))
    wtxids = compute_wtxids(lay, first, last)
    wtxids[0] = bytes(32)  # the coinbase's wtxid counts as zero
    expected = sha256d(merkle_root(wtxids) + reserved)
    got = lay.buf[commitment_at + 6:commitment_at + 38].tobytes()
    if got != expected:
        raise WitnessCommitmentError(
            f"witness commitment mismatch: coinbase has {got.hex()}, transactions give {expected.hex()}",
            None, commitment_at)


def _find_commitment(lay: BlockLayout, cb: int) -> int | None:
    """Offset of the last coinbase output script carrying a witness commitment (BIP141)."""
    buf = lay.buf
    for o in range(int(lay.tx_first_out[cb + 1]) - 1, int(lay.tx_first_out[cb]) - 1, -1):
        off, ln = int(lay.out_script[o]), int(lay.out_script_len[o])
        if ln >= 38 and buf[off:off + 6].tobytes() == _COMMITMENT_PREFIX:
            return off
    return None


def _coinbase_reserved_value(lay: BlockLayout, cb: int) -> bytes | None:
    """The coinbase's single 32-byte witness item, or None."""
    if lay.tx_body[cb] < 0:
        return None
    buf, pos = lay.buf, int(lay.tx_wit[cb])
    if buf[pos] != 1 or buf[pos + 1] != 32:
        return None
    return buf[pos + 2:pos + 34].tobytes()

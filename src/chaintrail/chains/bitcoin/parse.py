"""Fast block parsing: one numba pass finds every tx, input and output by byte offset.

The parser never builds Python objects per transaction. It walks a buffer that
holds one or more serialized blocks and fills flat arrays (``BlockLayout``) with
offsets and small integers; txids are then hashed straight from the buffer, 16 at a time in
vector registers (``sha256_lanes``).

Decoding follows Bitcoin Core's ``UnserializeTransaction`` exactly, including the
SegWit marker/flag rules, the "superfluous witness" rule and canonical CompactSize.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin import sha256_lanes
from chaintrail.errors import DecodeError, TrailingBytesError, TruncatedError

# Error codes returned by the numba walker (it cannot raise with an offset).
OK, E_TRUNC, E_TRAIL, E_COMPACT, E_FLAGS, E_WITNESS, E_EMPTY, E_SIZE = range(8)
_MESSAGES = {
    E_TRUNC: "truncated block data",
    E_TRAIL: "trailing bytes after the last transaction of the block",
    E_COMPACT: "non-canonical CompactSize",
    E_FLAGS: "unknown transaction optional data (bad SegWit flag)",
    E_WITNESS: "superfluous witness record",
    E_EMPTY: "block without transactions",
    E_SIZE: "size field too large",
}
_MAX_SIZE = 0x02000000  # Core's MAX_SIZE for any serialized length


@nb.njit(cache=True, inline="always")
def _u32(buf, pos):
    return (np.int64(buf[pos]) | (np.int64(buf[pos + 1]) << 8)
            | (np.int64(buf[pos + 2]) << 16) | (np.int64(buf[pos + 3]) << 24))


@nb.njit(cache=True, inline="always")
def _i64(buf, pos):
    v = np.uint64(0)
    for k in range(8):
        v |= np.uint64(buf[pos + k]) << np.uint64(8 * k)
    return np.int64(v)


@nb.njit(cache=True, inline="always")
def _compact(buf, pos, end):
    """Return (value, new_pos, err)."""
    if pos >= end:
        return 0, pos, E_TRUNC
    b = buf[pos]
    if b < 0xFD:
        return np.int64(b), pos + 1, OK
    n = 2 if b == 0xFD else (4 if b == 0xFE else 8)
    if pos + 1 + n > end:
        return 0, pos, E_TRUNC
    v = np.uint64(0)
    for k in range(n):
        v |= np.uint64(buf[pos + 1 + k]) << np.uint64(8 * k)
    minimum = np.uint64(0xFD) if n == 2 else (np.uint64(0x10000) if n == 4 else np.uint64(0x100000000))
    if v < minimum:
        return 0, pos, E_COMPACT
    if v > np.uint64(_MAX_SIZE):
        return 0, pos, E_SIZE
    return np.int64(v), pos + 1 + n, OK


@nb.njit(cache=True, nogil=True)
def _walk(buf, blk_start, blk_end, fill,
          blk_first_tx,
          tx_start, tx_end, tx_body, tx_wit, tx_version, tx_locktime, tx_first_in, tx_first_out,
          in_prev, in_vout, in_script, in_script_len, in_sequence, in_wit,
          out_value, out_script, out_script_len):
    """Walk every block; count only (fill=False) or also fill the arrays.

    Returns (n_tx, n_in, n_out, err, err_pos, err_block).
    """
    nt = 0
    ni = 0
    no = 0
    for b in range(blk_start.shape[0]):
        pos = blk_start[b] + 80
        end = blk_end[b]
        if pos > end:
            return nt, ni, no, E_TRUNC, blk_start[b], b
        if fill:
            blk_first_tx[b] = nt
        ntx, pos, err = _compact(buf, pos, end)
        if err != OK:
            return nt, ni, no, err, pos, b
        if ntx == 0:
            return nt, ni, no, E_EMPTY, pos, b
        for _t in range(ntx):
            start = pos
            if pos + 4 > end:
                return nt, ni, no, E_TRUNC, pos, b
            version = _u32(buf, pos)
            pos += 4
            segwit = False
            body = pos
            # Core: read vin; if it is empty, the next byte is the flag byte.
            nin, pos, err = _compact(buf, pos, end)
            if err != OK:
                return nt, ni, no, err, pos, b
            if nin == 0:
                if pos >= end:
                    return nt, ni, no, E_TRUNC, pos, b
                flags = buf[pos]
                if flags != 1:
                    return nt, ni, no, E_FLAGS, pos, b
                pos += 1
                segwit = True
                body = pos
                nin, pos, err = _compact(buf, pos, end)
                if err != OK:
                    return nt, ni, no, err, pos, b
            first_in = ni
            for _i in range(nin):
                if pos + 36 > end:
                    return nt, ni, no, E_TRUNC, pos, b
                prev = pos
                vout = _u32(buf, pos + 32)
                pos += 36
                slen, pos, err = _compact(buf, pos, end)
                if err != OK:
                    return nt, ni, no, err, pos, b
                soff = pos
                pos += slen
                if pos + 4 > end:
                    return nt, ni, no, E_TRUNC, min(pos, end), b
                if fill:
                    in_prev[ni] = prev
                    in_vout[ni] = vout
                    in_script[ni] = soff
                    in_script_len[ni] = slen
                    in_sequence[ni] = _u32(buf, pos)
                    in_wit[ni] = -1
                pos += 4
                ni += 1
            nout, pos, err = _compact(buf, pos, end)
            if err != OK:
                return nt, ni, no, err, pos, b
            first_out = no
            for _o in range(nout):
                if pos + 8 > end:
                    return nt, ni, no, E_TRUNC, pos, b
                value = _i64(buf, pos)
                pos += 8
                slen, pos, err = _compact(buf, pos, end)
                if err != OK:
                    return nt, ni, no, err, pos, b
                if pos + slen > end:
                    return nt, ni, no, E_TRUNC, pos, b
                if fill:
                    out_value[no] = value
                    out_script[no] = pos
                    out_script_len[no] = slen
                pos += slen
                no += 1
            wit = pos
            if segwit:
                any_witness = False
                for _i in range(nin):
                    if fill:
                        in_wit[first_in + _i] = pos
                    nitems, pos, err = _compact(buf, pos, end)
                    if err != OK:
                        return nt, ni, no, err, pos, b
                    if nitems > 0:
                        any_witness = True
                    for _k in range(nitems):
                        ilen, pos, err = _compact(buf, pos, end)
                        if err != OK:
                            return nt, ni, no, err, pos, b
                        pos += ilen
                        if pos > end:
                            return nt, ni, no, E_TRUNC, end, b
                if not any_witness:
                    return nt, ni, no, E_WITNESS, wit, b
            if pos + 4 > end:
                return nt, ni, no, E_TRUNC, min(pos, end), b
            if fill:
                tx_start[nt] = start
                tx_body[nt] = body if segwit else -1
                tx_wit[nt] = wit
                tx_version[nt] = version
                tx_locktime[nt] = _u32(buf, pos)
                tx_end[nt] = pos + 4
                tx_first_in[nt] = first_in
                tx_first_out[nt] = first_out
            pos += 4
            nt += 1
        if pos != end:
            return nt, ni, no, E_TRAIL, pos, b
    if fill:
        blk_first_tx[blk_start.shape[0]] = nt
        tx_first_in[nt] = ni
        tx_first_out[nt] = no
    return nt, ni, no, OK, 0, 0


@dataclass(slots=True)
class BlockLayout:
    """Offsets and small integers for every tx, input and output of some blocks.

    Offsets index into ``buf``. ``tx_body[i] == -1`` marks a legacy transaction;
    for SegWit ones it is where the vin count starts (after marker and flag),
    and ``tx_wit[i]`` is where the witness starts. ``*_first_*`` arrays carry one
    extra trailing entry so that ranges are ``[first[i], first[i+1])``.
    """

    buf: np.ndarray
    blk_start: np.ndarray
    blk_end: np.ndarray
    blk_first_tx: np.ndarray
    tx_start: np.ndarray
    tx_end: np.ndarray
    tx_body: np.ndarray
    tx_wit: np.ndarray
    tx_version: np.ndarray
    tx_locktime: np.ndarray
    tx_first_in: np.ndarray
    tx_first_out: np.ndarray
    in_prev: np.ndarray
    in_vout: np.ndarray
    in_script: np.ndarray
    in_script_len: np.ndarray
    in_sequence: np.ndarray
    in_wit: np.ndarray          # offset of the input's witness stack (item count first), -1 if none
    out_value: np.ndarray
    out_script: np.ndarray
    out_script_len: np.ndarray

    @property
    def n_blocks(self) -> int:
        return int(self.blk_start.shape[0])

    @property
    def n_tx(self) -> int:
        return int(self.tx_start.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.in_prev.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.out_value.shape[0])


def parse_blocks(buf: np.ndarray, blk_start: np.ndarray, blk_end: np.ndarray) -> BlockLayout:
    """Parse the blocks at ``buf[blk_start[i]:blk_end[i]]`` into a ``BlockLayout``.

    Raises a ``DecodeError`` subclass whose offset is relative to ``buf`` and whose
    ``block`` attribute is the index of the failing block.
    """
    blk_start = np.ascontiguousarray(blk_start, dtype=np.int64)
    blk_end = np.ascontiguousarray(blk_end, dtype=np.int64)
    e64 = np.empty(0, np.int64)
    nt, ni, no, err, epos, eblk = _walk(buf, blk_start, blk_end, False, e64,
                                        e64, e64, e64, e64, e64, e64, e64, e64,
                                        e64, e64, e64, e64, e64, e64, e64, e64, e64)
    if err != OK:
        _raise(err, epos, eblk)
    i64 = lambda n: np.empty(n, np.int64)  # noqa: E731
    lay = BlockLayout(
        buf, blk_start, blk_end, i64(len(blk_start) + 1),
        i64(nt), i64(nt), i64(nt), i64(nt), i64(nt), i64(nt), i64(nt + 1), i64(nt + 1),
        i64(ni), i64(ni), i64(ni), i64(ni), i64(ni), i64(ni),
        i64(no), i64(no), i64(no),
    )
    _walk(buf, blk_start, blk_end, True, lay.blk_first_tx,
          lay.tx_start, lay.tx_end, lay.tx_body, lay.tx_wit, lay.tx_version, lay.tx_locktime,
          lay.tx_first_in, lay.tx_first_out,
          lay.in_prev, lay.in_vout, lay.in_script, lay.in_script_len, lay.in_sequence, lay.in_wit,
          lay.out_value, lay.out_script, lay.out_script_len)
    return lay


def _raise(err: int, pos: int, blk: int) -> None:
    cls = {E_TRUNC: TruncatedError, E_TRAIL: TrailingBytesError}.get(err, DecodeError)
    exc = cls(_MESSAGES[err], None, int(pos))
    exc.block = int(blk)  # type: ignore[attr-defined]
    raise exc


def compute_txids(lay: BlockLayout) -> np.ndarray:
    """Txids (internal byte order) of every tx as an (n_tx, 32) uint8 array.

    A SegWit txid hashes version | body (vin+vout) | locktime, skipping marker,
    flag and witness, so the three pieces are fed to one hash object.
    """
    return sha256_lanes.txids(lay.buf, lay.tx_start, lay.tx_end, lay.tx_body, lay.tx_wit)


def compute_txids_hashlib(lay: BlockLayout) -> np.ndarray:
    """``compute_txids`` with hashlib, one transaction at a time (the reference the tests hold it to)."""
    mv = memoryview(lay.buf)
    out = bytearray(32 * lay.n_tx)
    sha = hashlib.sha256
    starts = lay.tx_start.tolist()
    ends = lay.tx_end.tolist()
    bodies = lay.tx_body.tolist()
    wits = lay.tx_wit.tolist()
    p = 0
    for s, e, bo, w in zip(starts, ends, bodies, wits):
        if bo < 0:
            out[p:p + 32] = sha(sha(mv[s:e]).digest()).digest()
        else:
            h = sha(mv[s:s + 4])
            h.update(mv[bo:w])
            h.update(mv[e - 4:e])
            out[p:p + 32] = sha(h.digest()).digest()
        p += 32
    return np.frombuffer(bytes(out), np.uint8).reshape(lay.n_tx, 32)


def compute_wtxids(lay: BlockLayout, first: int, last: int) -> list[bytes]:
    """Wtxids of txs ``first..last-1`` (the whole serialization, witness included)."""
    mv = memoryview(lay.buf)
    sha = hashlib.sha256
    return [sha(sha(mv[s:e]).digest()).digest()
            for s, e in zip(lay.tx_start[first:last].tolist(), lay.tx_end[first:last].tolist())]


def merkle_root(hashes: list[bytes]) -> bytes:
    """Bitcoin merkle root of 32-byte hashes (odd levels duplicate their last hash)."""
    if not hashes:
        raise ValueError("merkle root of nothing")
    sha = hashlib.sha256
    level = hashes
    while len(level) > 1:
        if len(level) & 1:
            level = level + [level[-1]]
        level = [sha(sha(level[i] + level[i + 1]).digest()).digest() for i in range(0, len(level), 2)]
    return level[0]


def sha256d(data: bytes | memoryview) -> bytes:
    """Double SHA-256."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()

"""Spent coins as columns: values plus (offset, length) of each script in one buffer.

The ingest consumes undo data in this form so applying it is array work; the
bcoin layout is decoded here in numba, Core rev records are converted from
the decoder in :mod:`.undo`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin.undo import MAX_MONEY, SpentCoin
from chaintrail.errors import TruncatedError, UndoDataError


@dataclass(frozen=True, slots=True)
class UndoColumns:
    """n spent coins: ``values[i]`` and the script ``buf[script_off[i]:script_off[i]+script_len[i]]``."""

    values: np.ndarray
    buf: np.ndarray
    script_off: np.ndarray
    script_len: np.ndarray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @staticmethod
    def from_coins(coins: list[SpentCoin]) -> "UndoColumns":
        lens = np.array([len(c.script) for c in coins], np.int64)
        offs = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64) if len(coins) else np.zeros(0, np.int64)
        buf = np.frombuffer(b"".join(c.script for c in coins) or b"\0", np.uint8)
        return UndoColumns(np.array([c.value for c in coins], np.int64), buf, offs, lens)


@nb.njit(cache=True, nogil=True)
def _scan_bcoin(buf, fill, values, offs, lens):
    """Walk value(8) + CompactSize script records; returns (count, err, err_pos)."""
    pos = 0
    n = 0
    end = buf.shape[0]
    while pos < end:
        if end - pos < 8:
            return n, 1, pos
        v = np.uint64(0)
        for k in range(8):
            v |= np.uint64(buf[pos + k]) << np.uint64(8 * k)
        if v > np.uint64(MAX_MONEY):
            return n, 2, pos
        p = pos + 8
        if p >= end:
            return n, 1, p
        b = buf[p]
        if b < 0xFD:
            ln = np.int64(b)
            p += 1
        else:
            w = 2 if b == 0xFD else (4 if b == 0xFE else 8)
            if p + 1 + w > end:
                return n, 1, p
            ln = np.int64(0)
            for k in range(w):
                ln |= np.int64(buf[p + 1 + k]) << (8 * k)
            if ln < (0xFD if w == 2 else (0x10000 if w == 4 else 0x100000000)) or ln > 0x02000000:
                return n, 3, p
            p += 1 + w
        if p + ln > end:
            return n, 1, p
        if fill:
            values[n] = np.int64(v)
            offs[n] = p
            lens[n] = ln
        pos = p + ln
        n += 1
    return n, 0, 0


_ERRORS = {2: "output value outside 0..MAX_MONEY", 3: "bad script length CompactSize"}


def parse_bcoin_undo_columns(data: bytes, source: str) -> UndoColumns:
    """Decode a bcoin ``*-undo.raw`` file (value i64 LE + CompactSize script per input)."""
    buf = np.frombuffer(data, np.uint8)
    e = np.empty(0, np.int64)
    n, err, pos = _scan_bcoin(buf, False, e, e, e)
    if err == 1:
        raise TruncatedError("bcoin undo data ends inside a spent output", source, int(pos))
    if err:
        raise UndoDataError(_ERRORS[err], source, int(pos))
    values, offs, lens = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    _scan_bcoin(buf, True, values, offs, lens)
    return UndoColumns(values, buf, offs, lens)

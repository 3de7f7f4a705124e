"""Writing a Bitcoin Core ``blocks/`` folder: blk?????.dat, rev?????.dat and xor.dat.

The formats follow Bitcoin Core:

* blk records: ``magic | u32 LE length | block`` (node/blockstorage.cpp WriteBlock).
* rev records: ``magic | u32 LE length | CBlockUndo | sha256d(prev_block_hash || CBlockUndo)``;
  the checksum uses the hash of the block's *parent* (blockstorage.cpp WriteBlockUndo),
  and the genesis block has no undo record.
* CBlockUndo = CompactSize(#non-coinbase txs), then per tx CompactSize(#inputs) and one
  Coin per input (undo.h TxInUndoFormatter): VARINT(height*2 + coinbase), a 0x00 byte
  for heights > 0 (the pre-0.15 nVersion slot), VARINT(CompressAmount(value)) and the
  compressed script (compressor.cpp: templates 0-5 for P2PKH/P2SH/P2PK, else
  VARINT(len + 6) || script).
* VARINT is Core's MSB base-128 encoding with the "minus one" trick (serialize.h WriteVarInt).
* xor.dat (Core 28+): every byte of blk/rev files is xored with an 8-byte key, phase
  counted from offset 0 of each file.
* A new blk file starts when a block would take the current one past 128 MiB
  (MAX_BLOCKFILE_SIZE); each rev file holds the undo data of the blocks in the blk
  file with the same number.

``compress_amount`` and ``write_varint`` are numba functions so the bulk writer in
``chaintrail.scenario`` shares them; they are callable from Python as well.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin.serialize import compact_size

__all__ = [
    "MAX_BLOCKFILE_SIZE",
    "BlockFileWriter",
    "block_undo_bytes",
    "coin_undo_bytes",
    "compress_amount",
    "compress_script",
    "varint_bytes",
    "write_varint",
    "xor_bytes",
]

MAX_BLOCKFILE_SIZE = 0x8000000  # 128 MiB, node/blockstorage.h
_N_SPECIAL_SCRIPTS = 6


@nb.njit(cache=True)
def compress_amount(n: int) -> int:
    """Core's CompressAmount (compressor.cpp): shrink values with trailing decimal zeros."""
    n = np.uint64(n)
    if n == 0:
        return np.uint64(0)
    e = 0
    while (n % np.uint64(10)) == 0 and e < 9:
        n //= np.uint64(10)
        e += 1
    if e < 9:
        d = n % np.uint64(10)
        n //= np.uint64(10)
        return np.uint64(1) + (n * np.uint64(9) + d - np.uint64(1)) * np.uint64(10) + np.uint64(e)
    return np.uint64(1) + (n - np.uint64(1)) * np.uint64(10) + np.uint64(9)


@nb.njit(cache=True)
def write_varint(buf, pos, n):
    """Write Core's VARINT of ``n`` (unsigned) at ``buf[pos]``; return the new position."""
    n = np.uint64(n)
    tmp = np.empty(10, np.uint8)
    length = 0
    while True:
        tmp[length] = np.uint8((n & np.uint64(0x7F)) | (np.uint64(0x80) if length else np.uint64(0)))
        if n <= np.uint64(0x7F):
            break
        n = (n >> np.uint64(7)) - np.uint64(1)
        length += 1
    for k in range(length, -1, -1):
        buf[pos] = tmp[k]
        pos += 1
    return pos


def varint_bytes(n: int) -> bytes:
    """Core's VARINT encoding of ``n`` as bytes."""
    buf = np.zeros(10, np.uint8)
    end = write_varint(buf, 0, n)
    return buf[:end].tobytes()


def compress_script(script: bytes) -> bytes:
    """Core's ScriptCompression: nSize template code plus payload, or VARINT(len+6) || script."""
    s = bytes(script)
    if len(s) == 25 and s[:3] == b"\x76\xa9\x14" and s[23:] == b"\x88\xac":
        return b"\x00" + s[3:23]
    if len(s) == 23 and s[:2] == b"\xa9\x14" and s[22] == 0x87:
        return b"\x01" + s[2:22]
    if len(s) == 35 and s[0] == 33 and s[34] == 0xAC and s[1] in (2, 3):
        return bytes((s[1],)) + s[2:34]
    # Uncompressed P2PK (template 4/5) needs the curve to verify the key; Core only
    # uses the template for valid keys, and the generator never writes P2PK, so the
    # generic form below is what Core would write for any key it cannot compress.
    return varint_bytes(len(s) + _N_SPECIAL_SCRIPTS) + s


def coin_undo_bytes(height: int, is_coinbase: bool, value: int, script: bytes) -> bytes:
    """One spent Coin as TxInUndoFormatter writes it."""
    out = varint_bytes(height * 2 + (1 if is_coinbase else 0))
    if height > 0:
        out += b"\x00"
    return out + varint_bytes(int(compress_amount(value))) + compress_script(script)


def block_undo_bytes(txs: list[list[tuple[int, bool, int, bytes]]]) -> bytes:
    """CBlockUndo from per-tx lists of (height, is_coinbase, value, script), coinbase excluded."""
    parts = [compact_size(len(txs))]
    for coins in txs:
        parts.append(compact_size(len(coins)))
        parts.extend(coin_undo_bytes(*c) for c in coins)
    return b"".join(parts)


def xor_bytes(data: bytes, key: bytes | None, file_offset: int) -> bytes:
    """Obfuscate (or clear) ``data`` that sits at ``file_offset`` of a blk/rev file."""
    if not key:
        return data
    arr = np.frombuffer(data, np.uint8)
    phase = file_offset % len(key)
    k = np.frombuffer((key * (len(data) // len(key) + 2))[phase:phase + len(data)], np.uint8)
    return (arr ^ k).tobytes()


class BlockFileWriter:
    """Append blocks (and their undo data) to blk/rev files the way Core lays them out."""

    def __init__(self, blocks_dir: Path, magic: bytes, xor_key: bytes | None = None,
                 max_file_size: int = MAX_BLOCKFILE_SIZE):
        if len(magic) != 4:
            raise ValueError("network magic must be 4 bytes")
        if xor_key is not None and len(xor_key) != 8:
            raise ValueError("xor key must be 8 bytes")
        self.dir = Path(blocks_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.magic = magic
        self.key = xor_key if xor_key and any(xor_key) else None
        self.max_file_size = max_file_size
        self.file_num = 0
        self.blocks_written = 0
        if xor_key is not None:
            (self.dir / "xor.dat").write_bytes(xor_key)
        self._blk = open(self.dir / "blk00000.dat", "wb")
        self._rev = open(self.dir / "rev00000.dat", "wb")
        self._blk_pos = 0
        self._rev_pos = 0

    def _roll(self) -> None:
        self._blk.close()
        self._rev.close()
        self.file_num += 1
        self._blk = open(self.dir / f"blk{self.file_num:05d}.dat", "wb")
        self._rev = open(self.dir / f"rev{self.file_num:05d}.dat", "wb")
        self._blk_pos = self._rev_pos = 0

    def write_block(self, block: bytes, undo: bytes | None, prev_hash: bytes) -> tuple[int, int]:
        """Append one block and its CBlockUndo (None for genesis); return (file_num, data offset)."""
        if self._blk_pos and self._blk_pos + 8 + len(block) > self.max_file_size:
            self._roll()
        rec = self.magic + len(block).to_bytes(4, "little") + block
        self._blk.write(xor_bytes(rec, self.key, self._blk_pos))
        where = (self.file_num, self._blk_pos + 8)
        self._blk_pos += len(rec)
        if undo is not None:
            check = hashlib.sha256(hashlib.sha256(prev_hash + undo).digest()).digest()
            urec = self.magic + len(undo).to_bytes(4, "little") + undo + check
            self._rev.write(xor_bytes(urec, self.key, self._rev_pos))
            self._rev_pos += len(urec)
        self.blocks_written += 1
        return where

    def close(self) -> None:
        self._blk.close()
        self._rev.close()

    def __enter__(self) -> BlockFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

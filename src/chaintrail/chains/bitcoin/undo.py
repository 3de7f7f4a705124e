"""Bitcoin undo data: the spent outputs of a block, from Core rev?????.dat or bcoin undo files.

Undo data lets a store give every input the value and script of the output it
spends even when the block that created that output was never ingested.

Two formats are read:

* Bitcoin Core ``rev?????.dat``: records of ``magic | u32 LE size | CBlockUndo |
  sha256d(prev_block_hash || CBlockUndo)``.  CBlockUndo holds one CTxUndo per
  non-coinbase tx, each holding one Coin per input, both in block order.  Coins
  use Core's compressed encoding (undo.h TxInUndoFormatter, compressor.cpp).
* bcoin ``*-undo.raw`` (the test-vector format written by bcoin's
  test/util/common.js ``writeBlock``): a bare concatenation of serialized
  outputs (i64 LE value, CompactSize-prefixed script), one per non-coinbase
  input in block order, with no count, height or coinbase flag.

Both decoders are strict: a short read, a bad VARINT or leftover bytes raise a
typed :class:`~chaintrail.errors.DecodeError` naming the source and the
absolute byte offset.  The caller removes ``xor.dat`` obfuscation beforehand.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chaintrail.errors import BadMagicError, TrailingBytesError, TruncatedError, UndoDataError

__all__ = [
    "MAX_MONEY",
    "RevRecord",
    "SpentCoin",
    "decompress_amount",
    "decompress_script",
    "parse_bcoin_undo",
    "parse_rev_file",
    "parse_block_undo",
    "record_matches_block",
    "record_matches_header",
]

MAX_MONEY = 21_000_000 * 100_000_000
_MAX_SCRIPT_SIZE = 10_000          # Core's MAX_SCRIPT_SIZE
_N_SPECIAL_SCRIPTS = 6             # nSize values 0..5 are compressed templates
_MAX_COMPACT_SIZE = 0x02000000     # Core's MAX_SIZE for vector lengths
_U32_MAX = 0xFFFFFFFF
_U64_MAX = 0xFFFFFFFFFFFFFFFF
_SECP256K1_P = 2**256 - 2**32 - 977
_OP_RETURN = b"\x6a"


@dataclass(frozen=True, slots=True)
class SpentCoin:
    """One spent output: its value, script, and where it was created.

    ``height`` is -1 when the format does not record it (bcoin undo files);
    ``is_coinbase`` is then False but means "unknown".  In rev files written by
    Core before 0.15, height 0 marks a non-final spend whose height was not stored.
    """

    value: int
    script: bytes
    height: int
    is_coinbase: bool


@dataclass(frozen=True, slots=True)
class RevRecord:
    """One rev*.dat record: the undo data of one block."""

    offset: int                     # absolute offset of the record's magic
    undo: bytes                     # the CBlockUndo bytes, as hashed for the checksum
    checksum: bytes                 # 32 bytes, sha256d(prev_block_hash || undo)
    txs: list[list[SpentCoin]]      # per non-coinbase tx, per input


# -- primitive readers -------------------------------------------------------
# Each takes the whole buffer, an absolute position and an exclusive end, so
# every error offset is absolute without bookkeeping.

def _read_varint(data: bytes, pos: int, end: int, limit: int, what: str,
                 source: str) -> tuple[int, int]:
    """Core's MSB-first base-128 VARINT (serialize.h ReadVarInt), bounded by ``limit``."""
    start = pos
    n = 0
    while True:
        if pos >= end:
            raise TruncatedError(f"{what}: VARINT runs past the end of the data", source, pos)
        b = data[pos]
        pos += 1
        if n > (limit >> 7):
            raise UndoDataError(f"{what}: VARINT too large", source, start)
        n = (n << 7) | (b & 0x7F)
        if b & 0x80:
            if n == limit:
                raise UndoDataError(f"{what}: VARINT too large", source, start)
            n += 1  # Core's VARINT has no redundant encodings: each continuation adds one
        else:
            return n, pos


def _read_compact_size(data: bytes, pos: int, end: int, limit: int, what: str,
                       source: str) -> tuple[int, int]:
    """CompactSize as Core reads it: canonical encodings only, at most ``limit``."""
    if pos >= end:
        raise TruncatedError(f"{what}: CompactSize runs past the end of the data", source, pos)
    first = data[pos]
    if first < 0xFD:
        n, width, floor = first, 0, 0
    else:
        width, floor = {0xFD: (2, 0xFD), 0xFE: (4, 0x10000), 0xFF: (8, 0x100000000)}[first]
        if pos + 1 + width > end:
            raise TruncatedError(f"{what}: CompactSize runs past the end of the data", source, pos)
        n = int.from_bytes(data[pos + 1:pos + 1 + width], "little")
        if n < floor:
            raise UndoDataError(f"{what}: non-canonical CompactSize", source, pos)
    if n > limit:
        raise UndoDataError(f"{what}: CompactSize {n} too large", source, pos)
    return n, pos + 1 + width


def _take(data: bytes, pos: int, end: int, n: int, what: str, source: str) -> tuple[bytes, int]:
    if pos + n > end:
        raise TruncatedError(f"{what}: needs {n} bytes, {end - pos} left", source, pos)
    return bytes(data[pos:pos + n]), pos + n


# -- Core compression ----------------------------------------------------------

def decompress_amount(x: int) -> int:
    """Invert Core's CompressAmount (compressor.cpp): the amount in satoshis."""
    if x == 0:
        return 0
    x -= 1
    e = x % 10
    x //= 10
    if e < 9:
        d = x % 9 + 1
        n = (x // 9) * 10 + d
    else:
        n = x + 1
    return n * 10**e


def _decompress_pubkey(x_bytes: bytes, odd: bool) -> bytes | None:
    """65-byte uncompressed secp256k1 key from x and the parity of y, or None if off-curve."""
    x = int.from_bytes(x_bytes, "big")
    p = _SECP256K1_P
    if x >= p:
        return None
    a = (pow(x, 3, p) + 7) % p
    y = pow(a, (p + 1) // 4, p)  # p = 3 mod 4, so this is the square root when one exists
    if y * y % p != a:
        return None
    if (y & 1) != odd:
        y = p - y
    return b"\x04" + x_bytes + y.to_bytes(32, "big")


def decompress_script(n_size: int, payload: bytes) -> bytes:
    """Rebuild a scriptPubKey from Core's ScriptCompression (nSize and the bytes after it).

    nSize 0/1: P2PKH/P2SH from a 20-byte hash; 2/3: P2PK with a compressed key
    (nSize is the key's prefix byte); 4/5: P2PK with an uncompressed key whose y
    parity is nSize & 1; otherwise ``payload`` is the raw script of nSize - 6 bytes.
    Raises UndoDataError (without location) for a payload of the wrong length or
    an x coordinate not on the curve, which Core never writes.
    """
    if n_size < _N_SPECIAL_SCRIPTS:
        want = 20 if n_size < 2 else 32
        if len(payload) != want:
            raise UndoDataError(f"compressed script type {n_size} needs {want} bytes, got {len(payload)}")
        if n_size == 0:
            return b"\x76\xa9\x14" + payload + b"\x88\xac"
        if n_size == 1:
            return b"\xa9\x14" + payload + b"\x87"
        if n_size in (2, 3):
            return b"\x21" + bytes((n_size,)) + payload + b"\xac"
        pubkey = _decompress_pubkey(payload, odd=n_size == 5)
        if pubkey is None:
            raise UndoDataError("compressed uncompressed-P2PK key is not on secp256k1")
        return b"\x41" + pubkey + b"\xac"
    if len(payload) != n_size - _N_SPECIAL_SCRIPTS:
        raise UndoDataError(f"script of nSize {n_size} needs {n_size - _N_SPECIAL_SCRIPTS} bytes, "
                            f"got {len(payload)}")
    return bytes(payload)


def _read_coin(data: bytes, pos: int, end: int, source: str) -> tuple[SpentCoin, int]:
    """One Coin as TxInUndoFormatter writes it (undo.h)."""
    start = pos
    code, pos = _read_varint(data, pos, end, _U32_MAX, "coin height code", source)
    height, is_coinbase = code >> 1, bool(code & 1)
    if height > 0:
        # Legacy slot: 0 since Core 0.15, the spent tx's nVersion before that; ignored.
        _, pos = _read_varint(data, pos, end, _U32_MAX, "coin version dummy", source)
    amount_pos = pos
    compressed, pos = _read_varint(data, pos, end, _U64_MAX, "coin amount", source)
    value = decompress_amount(compressed)
    if value > MAX_MONEY:
        raise UndoDataError(f"coin amount {value} exceeds MAX_MONEY", source, amount_pos)
    script_pos = pos
    n_size, pos = _read_varint(data, pos, end, _U32_MAX, "coin script size", source)
    if n_size < _N_SPECIAL_SCRIPTS:
        payload, pos = _take(data, pos, end, 20 if n_size < 2 else 32, "compressed script", source)
    else:
        length = n_size - _N_SPECIAL_SCRIPTS
        payload, pos = _take(data, pos, end, length, "coin script", source)
        if length > _MAX_SCRIPT_SIZE:
            # Core replaces an over-long script by a lone OP_RETURN (compressor.h).
            return SpentCoin(value, _OP_RETURN, height, is_coinbase), pos
    try:
        script = decompress_script(n_size, payload)
    except UndoDataError as exc:
        raise UndoDataError(f"coin at {start}: {exc.reason}", source, script_pos) from exc
    return SpentCoin(value, script, height, is_coinbase), pos


def parse_block_undo(data: bytes, pos: int, end: int, source: str) -> list[list[SpentCoin]]:
    """Decode one CBlockUndo occupying exactly ``data[pos:end]``; offsets stay absolute."""
    n_txs, pos = _read_compact_size(data, pos, end, _MAX_COMPACT_SIZE, "CBlockUndo tx count", source)
    txs: list[list[SpentCoin]] = []
    for _ in range(n_txs):
        n_coins, pos = _read_compact_size(data, pos, end, _MAX_COMPACT_SIZE, "CTxUndo coin count",
                                          source)
        coins: list[SpentCoin] = []
        for _ in range(n_coins):
            coin, pos = _read_coin(data, pos, end, source)
            coins.append(coin)
        txs.append(coins)
    if pos != end:
        raise TrailingBytesError(f"{end - pos} bytes left over inside undo record", source, pos)
    return txs


# -- rev?????.dat files ----------------------------------------------------------

def parse_rev_file(data: bytes, magic: bytes, source: str) -> list[RevRecord]:
    """Decode every record of a Core rev?????.dat file (already de-obfuscated).

    Zeros after the last record are Core's file preallocation and end the data.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if len(magic) != 4:
        raise ValueError("network magic must be 4 bytes")
    records: list[RevRecord] = []
    pos, n = 0, len(data)
    while pos < n:
        head = data[pos:pos + 4]
        if head != magic:
            if data.count(0, pos) == n - pos:
                break  # preallocated zero tail
            if n - pos < 4 and magic.startswith(head):
                raise TruncatedError("rev file ends inside a record's magic", source, pos)
            raise BadMagicError(f"expected magic {magic.hex()}, found {head.hex()}", source, pos)
        if n - pos < 8:
            raise TruncatedError("rev file ends inside a record header", source, pos)
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        body = pos + 8
        body_end = body + size
        if body_end + 32 > n:
            raise TruncatedError(f"undo record of {size} bytes plus checksum runs past the end "
                                 f"of the file", source, pos)
        txs = parse_block_undo(data, body, body_end, source)
        records.append(RevRecord(pos, data[body:body_end], data[body_end:body_end + 32], txs))
        pos = body_end + 32
    return records


def _sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def record_matches_block(record: RevRecord, prev_block_hash: bytes) -> bool:
    """True if ``record`` checks out against ``prev_block_hash`` (internal byte order).

    Core checksums a block's undo data with the hash of that block's *parent*
    (blockstorage.cpp hashes ``pindex->pprev->GetBlockHash()``), so pass the
    undone block's header prev-hash field, or use :func:`record_matches_header`.
    """
    if len(prev_block_hash) != 32:
        raise ValueError("block hash must be 32 bytes")
    return _sha256d(prev_block_hash + record.undo) == record.checksum


def record_matches_header(record: RevRecord, header: bytes) -> bool:
    """True if ``record`` is the undo data of the block with this 80-byte header."""
    if len(header) < 80:
        raise ValueError("block header must be 80 bytes")
    return record_matches_block(record, bytes(header[4:36]))


# -- bcoin undo files ------------------------------------------------------------------

def parse_bcoin_undo(data: bytes, source: str) -> list[SpentCoin]:
    """Decode a bcoin ``*-undo.raw`` file: the spent outputs in the block's input order.

    The format (bcoin test/util/common.js ``serializeUndo``) is one output per
    non-coinbase input, in block and input order, each an i64 LE value and a
    CompactSize-prefixed script, with no count.  It stores no height or coinbase
    flag, so every coin gets ``height=-1``.  (bcoin's chain database keeps a
    different UndoCoins record, read back in reverse with pop(); not this.)
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    coins: list[SpentCoin] = []
    pos, n = 0, len(data)
    while pos < n:
        if n - pos < 8:
            raise TruncatedError("bcoin undo ends inside an output value", source, pos)
        value = int.from_bytes(data[pos:pos + 8], "little", signed=True)
        if not 0 <= value <= MAX_MONEY:
            raise UndoDataError(f"output value {value} outside 0..MAX_MONEY", source, pos)
        length, p = _read_compact_size(data, pos + 8, n, _U32_MAX, "output script length", source)
        script, pos = _take(data, p, n, length, "output script", source)
        coins.append(SpentCoin(value, script, -1, False))
    return coins

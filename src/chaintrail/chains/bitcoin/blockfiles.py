"""Bitcoin Core ``blocks/`` folder: blk?????.dat framing, xor.dat obfuscation, 80-byte headers.

Core appends each block it receives to the current blk file as
``magic(4) | length(u32 LE) | block(length)``, in arrival order, and preallocates
the file in 16 MiB chunks of zeros. Core 28+ xors every byte of blk/rev files
with an 8-byte key from ``xor.dat``, the key phase counted from offset 0 of each
file. This module finds the records and decodes headers only; transactions are
parsed elsewhere, and chain order is rebuilt by :mod:`.chainwork`.
"""

from __future__ import annotations

import hashlib
import mmap
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaintrail.chains.bitcoin.network import Network, network_by_magic
from chaintrail.chains.bitcoin.pow import PowCheck
from chaintrail.errors import (
    BadMagicError,
    DecodeError,
    SourceError,
    TrailingBytesError,
    TruncatedError,
)

__all__ = [
    "BlockLocation",
    "MAX_BLOCK_SERIALIZED_SIZE",
    "deobfuscate",
    "deobfuscate_inplace",
    "detect_network",
    "list_block_files",
    "read_block",
    "read_xor_key",
    "rev_file_for",
    "scan_block_file",
    "scan_blocks_dir",
]

HEADER_SIZE = 80
FRAME_SIZE = 8                        # magic(4) + length(4)
XOR_KEY_SIZE = 8
MAX_BLOCK_SERIALIZED_SIZE = 4_000_000  # consensus limit; a larger length is corruption

_BLK_NAME = re.compile(r"^blk(\d{5,})\.dat$")
_ZERO_MAGIC = b"\x00\x00\x00\x00"


@dataclass(frozen=True, slots=True)
class BlockLocation:
    """Where one block sits in a blk file, with its decoded header fields."""

    file: Path
    file_num: int
    offset: int       # absolute offset of the block's first byte (after magic + length)
    length: int       # serialized block size in bytes
    header: bytes     # the 80-byte header, deobfuscated
    hash: bytes       # sha256d(header), internal byte order
    prev_hash: bytes  # internal byte order; all zero for genesis
    bits: int
    time: int


# --- xor.dat -----------------------------------------------------------------

def read_xor_key(blocks_dir: Path) -> bytes | None:
    """The 8-byte obfuscation key from ``xor.dat``, or None if absent or all zero."""
    path = Path(blocks_dir) / "xor.dat"
    if not path.is_file():
        return None
    key = path.read_bytes()
    if len(key) != XOR_KEY_SIZE:
        raise SourceError(f"{path}: xor.dat holds {len(key)} bytes, expected {XOR_KEY_SIZE}")
    return None if key == bytes(XOR_KEY_SIZE) else key


def deobfuscate(data: bytes | bytearray | memoryview, key: bytes, file_offset: int = 0) -> bytes:
    """Xor ``data`` (read from ``file_offset`` of a blk/rev file) with the repeating key.

    Byte i of the file is xored with ``key[i % 8]``; the operation is its own inverse.
    Use :func:`deobfuscate_inplace` on a writable buffer to skip the output copy.
    """
    src = np.frombuffer(data, dtype=np.uint8)
    n = src.size
    rot = _rotated_key(key, file_offset)
    lanes = np.empty((n + 7) // 8, dtype=np.uint64)
    _xor_lanes(src, rot, lanes.view(np.uint8)[:n])
    return lanes.view(np.uint8)[:n].tobytes()


def deobfuscate_inplace(
    buf: bytearray | memoryview | np.ndarray, key: bytes, file_offset: int = 0,
) -> None:
    """Xor a writable, contiguous buffer in place, as :func:`deobfuscate` would; no allocation."""
    arr = buf.view(np.uint8) if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    _xor_lanes(arr, _rotated_key(key, file_offset), arr)


def _rotated_key(key: bytes, file_offset: int) -> bytes:
    if len(key) != XOR_KEY_SIZE:
        raise ValueError(f"xor key must be {XOR_KEY_SIZE} bytes, got {len(key)}")
    phase = file_offset % XOR_KEY_SIZE
    return key[phase:] + key[:phase]


def _xor_lanes(src: np.ndarray, rot: bytes, out: np.ndarray) -> None:
    # One uint64 lane holds exactly one key period, so the tiled key is a scalar
    # and the xor runs at memory speed; the last n % 8 bytes go bytewise.
    n = src.size
    n8 = n - n % XOR_KEY_SIZE
    k64 = np.frombuffer(rot, dtype=np.uint64)[0]
    np.bitwise_xor(src[:n8].view(np.uint64), k64, out=out[:n8].view(np.uint64))
    if n8 < n:
        np.bitwise_xor(src[n8:], np.frombuffer(rot, dtype=np.uint8)[: n - n8], out=out[n8:])


def _xor_small(raw: bytes, key_cycle: bytes | None, file_offset: int) -> bytes:
    """Xor a short slice (frame or header) without numpy's per-call overhead."""
    if key_cycle is None:
        return raw
    phase = file_offset % XOR_KEY_SIZE
    n = len(raw)
    k = key_cycle[phase : phase + n]
    return (int.from_bytes(raw, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


# --- files -------------------------------------------------------------------

def list_block_files(blocks_dir: Path) -> list[Path]:
    """The ``blk?????.dat`` files in ``blocks_dir``, sorted by file number."""
    blocks_dir = Path(blocks_dir)
    if not blocks_dir.is_dir():
        raise SourceError(f"{blocks_dir}: not a directory")
    found = []
    for p in blocks_dir.iterdir():
        m = _BLK_NAME.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def rev_file_for(blk_path: Path) -> Path | None:
    """The undo file ``rev?????.dat`` written beside ``blk_path``, if it exists."""
    blk_path = Path(blk_path)
    if not _BLK_NAME.match(blk_path.name):
        return None
    rev = blk_path.with_name("rev" + blk_path.name[3:])
    return rev if rev.is_file() else None


def _file_num(path: Path) -> int:
    m = _BLK_NAME.match(path.name)
    return int(m.group(1)) if m else -1


def detect_network(blocks_dir: Path) -> Network:
    """The network whose magic starts the first record of the first blk file."""
    files = list_block_files(blocks_dir)
    if not files:
        raise SourceError(f"{blocks_dir}: no blk?????.dat files")
    key = read_xor_key(blocks_dir)
    with open(files[0], "rb") as fh:
        raw = fh.read(4)
    if len(raw) < 4 or raw == _ZERO_MAGIC:
        raise SourceError(f"{files[0]}: empty block file, cannot tell the network")
    magic = _xor_small(raw, key * 2 if key else None, 0)
    net = network_by_magic(magic)
    if net is None:
        raise SourceError(f"{files[0]}: unknown network magic {magic.hex()}")
    return net


# --- scanning ----------------------------------------------------------------

def scan_block_file(
    path: Path, magic: bytes, xor_key: bytes | None, skipped: list[DecodeError] | None = None,
) -> list[BlockLocation]:
    """Every block record in one blk file, in file order.

    Stops at the zero-filled preallocated tail. Errors name the file and the
    absolute offset of the offending record's magic: BadMagicError for a wrong
    non-zero magic, TruncatedError when the file ends inside a record, DecodeError
    for an impossible length, TrailingBytesError for data after the zero tail.

    With a ``skipped`` list, framing errors are appended to it instead of raised
    and the scan resyncs on the next magic, as Core's reindex does: only the bad
    region is lost. A record cut short (the next frame starts inside it) is
    dropped and the scan resumes at that frame.
    """
    path = Path(path)
    src = str(path)
    file_num = _file_num(path)
    # 96 bytes covers any phase (<8) plus frame or header (<=80); one key period is 8.
    key_cycle = xor_key * 12 if xor_key and xor_key != bytes(XOR_KEY_SIZE) else None
    out: list[BlockLocation] = []
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return out
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            reader = _Records(mm, size, magic, key_cycle, src)
            pos = 0
            sha = hashlib.sha256
            while pos < size:
                try:
                    start, length = reader.frame_at(pos)
                except DecodeError as exc:
                    if skipped is None:
                        raise
                    pos = reader.resync(exc, pos, out, skipped)
                    continue
                if length < 0:      # the zero-filled tail
                    break
                header = _xor_small(mm[start : start + HEADER_SIZE], key_cycle, start)
                out.append(BlockLocation(
                    file=path,
                    file_num=file_num,
                    offset=start,
                    length=length,
                    header=header,
                    hash=sha(sha(header).digest()).digest(),
                    prev_hash=header[4:36],
                    bits=int.from_bytes(header[72:76], "little"),
                    time=int.from_bytes(header[68:72], "little"),
                ))
                pos = start + length
    return out


class _Records:
    """Frame reading and resyncing over one mapped blk file."""

    def __init__(self, mm: mmap.mmap, size: int, magic: bytes, key_cycle: bytes | None, src: str):
        self.mm, self.size, self.magic, self.key_cycle, self.src = mm, size, magic, key_cycle, src

    def frame_at(self, pos: int) -> tuple[int, int]:
        """(body start, length) of the record framed at ``pos``; length -1 at the zero tail."""
        mm, size, src = self.mm, self.size, self.src
        raw = mm[pos : pos + FRAME_SIZE]
        # Preallocation writes zeros to the raw file, below the xor layer.
        if not any(raw[:4]):
            _check_zero_tail(mm, pos, size, src)
            return pos, -1
        if len(raw) < FRAME_SIZE:
            raise TruncatedError(f"file ends {len(raw)} bytes into a record frame", src, pos)
        frame = _xor_small(raw, self.key_cycle, pos)
        if frame[:4] != self.magic:
            raise BadMagicError(f"expected magic {self.magic.hex()}, found {frame[:4].hex()}", src, pos)
        length = int.from_bytes(frame[4:8], "little")
        if length < HEADER_SIZE:
            raise DecodeError(f"record length {length} is shorter than a header", src, pos)
        if length > MAX_BLOCK_SERIALIZED_SIZE:
            raise DecodeError(f"record length {length} exceeds the maximum block size", src, pos)
        start = pos + FRAME_SIZE
        if start + length > size:
            raise TruncatedError(
                f"record of {length} bytes runs {start + length - size} bytes past the end of the file", src, pos)
        return start, length

    def resync(self, exc: DecodeError, pos: int, out: list[BlockLocation], skipped: list[DecodeError]) -> int:
        """Record ``exc`` in ``skipped`` and return where scanning resumes (the file size if nowhere)."""
        if out and out[-1].offset + out[-1].length == pos:
            # The bad frame follows a record: if a real frame starts inside that record, the record
            # was cut short and the bad "frame" is a piece of the next block.
            prev = out[-1]
            q = self._find_magic(prev.offset, pos)
            while q >= 0 and not self._plausible(q):
                q = self._find_magic(q + 1, pos)
            if q >= 0:
                out.pop()
                skipped.append(TruncatedError(
                    f"record of {prev.length} bytes is cut short by the next frame at offset {q}; "
                    f"skipped {q - prev.offset + FRAME_SIZE} bytes", self.src, prev.offset - FRAME_SIZE))
                return q
        # After the zero tail, the first non-zero byte may itself start a frame.
        after = int(exc.offset) if isinstance(exc, TrailingBytesError) and exc.offset is not None else pos + 1
        q = self._find_magic(after, self.size)
        end = q if q >= 0 else self.size
        where = f"to the next magic at offset {q}" if q >= 0 else "to the end of the file"
        skipped.append(type(exc)(f"{exc.reason}; skipped {end - pos} bytes {where}", self.src, exc.offset))
        return end

    def _plausible(self, q: int) -> bool:
        try:
            start, length = self.frame_at(q)
        except DecodeError:
            return False
        if length < 0:
            return False
        header = _xor_small(self.mm[start : start + HEADER_SIZE], self.key_cycle, start)
        sha = hashlib.sha256
        return PowCheck().failure(sha(sha(header).digest()).digest(), int.from_bytes(header[72:76], "little")) is None

    def _find_magic(self, start: int, end: int) -> int:
        """First offset q in [start, end) where the (deobfuscated) magic starts, or -1."""
        mm, magic = self.mm, self.magic
        stop = min(end + len(magic) - 1, self.size)
        if self.key_cycle is None:
            return mm.find(magic, start, stop)
        best = -1
        for phase in range(XOR_KEY_SIZE):
            pattern = bytes(m ^ k for m, k in zip(magic, self.key_cycle[phase : phase + 4]))
            q = mm.find(pattern, start, stop)
            while q >= 0 and q % XOR_KEY_SIZE != phase:
                q = mm.find(pattern, q + 1, stop)
            if q >= 0 and (best < 0 or q < best):
                best = q
        return best


def _check_zero_tail(mm: mmap.mmap, pos: int, size: int, src: str) -> None:
    """Raise if anything but zeros follows the point where records stopped."""
    tail = np.frombuffer(mm, dtype=np.uint8, count=size - pos, offset=pos)
    try:
        nz = np.flatnonzero(tail)
        if nz.size:
            first = pos + int(nz[0])
            raise TrailingBytesError("non-zero bytes after the zero-filled tail", src, first)
    finally:
        del tail  # release the buffer export so the mmap can close


def scan_blocks_dir(
    blocks_dir: Path,
    network: Network | None = None,
    on_file: Callable[[Path, int], None] | None = None,
) -> list[BlockLocation]:
    """Every block record in a ``blocks/`` folder, in file order (file number, then offset).

    ``network`` defaults to the one detected from the first record; ``on_file`` is
    called with each file and its block count, for progress display.
    """
    blocks_dir = Path(blocks_dir)
    files = list_block_files(blocks_dir)
    if not files:
        return []
    net = network if network is not None else detect_network(blocks_dir)
    key = read_xor_key(blocks_dir)
    blocks: list[BlockLocation] = []
    for path in files:
        found = scan_block_file(path, net.magic, key)
        blocks.extend(found)
        if on_file is not None:
            on_file(path, len(found))
    return blocks


def read_block(loc: BlockLocation, xor_key: bytes | None) -> bytes:
    """The serialized block at ``loc``, deobfuscated."""
    with open(loc.file, "rb") as fh:
        fh.seek(loc.offset)
        raw = fh.read(loc.length)
    if len(raw) != loc.length:
        raise TruncatedError(
            f"block of {loc.length} bytes has only {len(raw)} on disk", str(loc.file), loc.offset)
    if xor_key is None or xor_key == bytes(XOR_KEY_SIZE):
        return raw
    return deobfuscate(raw, xor_key, loc.offset)

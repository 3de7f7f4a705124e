"""Where ingested Bitcoin blocks come from: blk-file blocks read lazily, rev-file undo records, raw files."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from chaintrail.chains.bitcoin.blockfiles import BlockLocation, deobfuscate, read_block, rev_file_for
from chaintrail.chains.bitcoin.network import network_by_magic
from chaintrail.chains.bitcoin.undo import RevRecord, parse_rev_file, record_matches_header
from chaintrail.chains.bitcoin.undo_columns import UndoColumns
from chaintrail.errors import DecodeError, TrailingBytesError, TruncatedError


class LazyBlock:
    """A block location whose bytes are read only when needed."""

    def __init__(self, loc: BlockLocation, key: bytes | None):
        self.loc, self.key = loc, key

    def __len__(self) -> int:
        return self.loc.length

    def materialize(self) -> bytes:
        return read_block(self.loc, self.key)


class BlockReader:
    """Reads blocks straight into a batch buffer, keeping the last blk file open."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.fh: io.BufferedReader | None = None

    def read_into(self, lazy: LazyBlock, out: np.ndarray) -> None:
        loc = lazy.loc
        if lazy.key is not None and lazy.key != bytes(len(lazy.key)):
            out[:] = np.frombuffer(lazy.materialize(), np.uint8)
            return
        if self.fh is None or self.path != loc.file:
            self.close()
            self.fh, self.path = open(loc.file, "rb"), loc.file
        self.fh.seek(loc.offset)
        got = self.fh.readinto(out)  # type: ignore[arg-type]
        if got != loc.length:
            raise TruncatedError(f"block of {loc.length} bytes has only {got} on disk", str(loc.file), loc.offset)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh, self.path = None, None

    def __enter__(self) -> "BlockReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RevUndo:
    """Finds each block's record in the rev file paired with its blk file, lazily."""

    def __init__(self, key: bytes | None, magic: bytes):
        self.key, self.magic = key, magic
        self.files: dict[Path, list[RevRecord]] = {}
        self.cursor: dict[Path, int] = {}

    def for_block(self, loc: BlockLocation) -> Callable[[], UndoColumns | None]:
        return lambda: self._lookup(loc)

    def _lookup(self, loc: BlockLocation) -> UndoColumns | None:
        rev = rev_file_for(loc.file)
        if rev is None:
            return None
        if rev not in self.files:
            data = rev.read_bytes()
            if self.key:
                data = deobfuscate(data, self.key, 0)
            self.files[rev] = parse_rev_file(data, self.magic, str(rev))
            self.cursor[rev] = 0
        recs = self.files[rev]
        start = self.cursor[rev]
        # Records are written in connect order, so scanning on from the last match is usually one step.
        for k in list(range(start, len(recs))) + list(range(0, start)):
            if record_matches_header(recs[k], loc.header):
                self.cursor[rev] = k + 1
                return UndoColumns.from_coins([c for tx in recs[k].txs for c in tx])
        return None


def sibling_undo(p: Path) -> str | None:
    cand = p.with_name(p.stem + "-undo" + p.suffix)
    return str(cand) if cand.exists() else None


def split_raw(raw: bytes, source: str) -> list[tuple[bytes, int]]:
    """Blocks in a --raw file: Core-framed records, hex text, or one bare block."""
    if len(raw) >= 8 and network_by_magic(raw[:4]) is not None:
        out, pos = [], 0
        while pos + 8 <= len(raw) and network_by_magic(raw[pos:pos + 4]) is not None:
            n = int.from_bytes(raw[pos + 4:pos + 8], "little")
            if pos + 8 + n > len(raw):
                raise TruncatedError(f"framed block of {n} bytes runs past the end of the file", source, pos)
            out.append((raw[pos + 8:pos + 8 + n], pos + 8))
            pos += 8 + n
        if raw[pos:].strip(b"\0"):
            raise TrailingBytesError("bytes after the last framed block", source, pos)
        return out
    text = raw.strip()
    if text and all(c in b"0123456789abcdefABCDEF" for c in text[:4096]):
        try:
            return [(bytes.fromhex(text.decode("ascii")), 0)]
        except ValueError as exc:
            raise DecodeError(f"not valid hex: {exc}", source, 0) from None
    if len(raw) < 81:
        raise TruncatedError(f"file of {len(raw)} bytes is too short for a block", source, 0)
    return [(raw, 0)]

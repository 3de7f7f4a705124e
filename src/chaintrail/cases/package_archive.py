"""A case package's zip, opened without trusting it: limits checked first, members streamed, never a bomb.

Opening reads only the central directory. Before any member is inflated it
refuses archives with too many members, members that overlap (the
"overlapping files" bomb), compression other than stored or deflate (bzip2
and LZMA inflate without a bound per read), and members whose *declared*
size, the package's declared total, or whose declared compression ratio is
over the limits. ``read_small`` then inflates only the manifest and its
signature (bounded), so the caller can check the signature before anything
else is inflated. ``extract`` streams each member in 1 MiB chunks to a sink
while hashing it, and counts the bytes it *actually* gets, so headers that
lie about sizes are caught at the limit, not after the memory is gone.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from chaintrail.cases.errors import PackageError

_MiB = 1 << 20
_CHUNK = _MiB
_EOCD = b"PK\x05\x06"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
               NotImplementedError, RuntimeError, struct.error)


@dataclass(frozen=True)
class Limits:
    """What a package may hold; ``ratio`` applies to members above ``ratio_floor`` bytes."""

    package: int = 1 << 30            # compressed bytes of the whole .zip
    members: int = 10_000
    manifest: int = 16 * _MiB         # manifest.json and manifest.sig, each
    member: int = 256 * _MiB          # one member, inflated
    total: int = 1 << 30              # all members, inflated
    ratio: int = 100                  # inflated : compressed
    ratio_floor: int = _MiB


DEFAULT_LIMITS = Limits()


def read_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A package file's bytes, refused by its size before any of it is read."""
    size = path.stat().st_size
    if size > limits.package:
        raise PackageError(f"package is {_mib(size)}, over the {_mib(limits.package)} limit", str(path), None)
    return path.read_bytes()


def _mib(n: int) -> str:
    return f"{n / _MiB:,.1f} MiB" if n >= _MiB else f"{n / 1024:,.1f} KiB"


class PackageArchive:
    """The zip of one package: names and declared sizes checked, nothing inflated yet."""

    def __init__(self, data: bytes, source: str = "package", limits: Limits = DEFAULT_LIMITS):
        self.source, self.limits = source, limits
        if len(data) > limits.package:
            self._fail(f"package is {_mib(len(data))}, over the {_mib(limits.package)} limit")
        self._check_directory_size(data)
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            self.infos = self.zip.infolist()
        except _ZIP_ERRORS as exc:   # a damaged archive fails in any of these ways
            self._fail(f"not a readable case package ({exc})")
        self.names = [i.filename for i in self.infos]
        if len(set(self.names)) != len(self.names):
            self._fail("package holds the same file twice")
        self.by_name = {i.filename: i for i in self.infos}
        self._check_declared(len(data))
        self.inflated = 0

    def _fail(self, message: str) -> None:
        raise PackageError(message, self.source, None)

    def _check_directory_size(self, data: bytes) -> None:
        """Refuse a central directory of more than ``limits.members`` entries before zipfile parses it."""
        at = data.rfind(_EOCD, max(0, len(data) - (1 << 16) - 22))
        if at < 0 or len(data) - at < 22:
            self._fail("not a readable case package (no end of central directory)")
        entries, cd_size = struct.unpack("<xxxxxxxxxxHI", data[at:at + 16])
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
            self._fail("package uses ZIP64, which case packages never need")
        if entries > self.limits.members or cd_size > self.limits.members * 1024:
            self._fail(f"package lists {entries:,} members ({cd_size:,} bytes of directory), over the "
                       f"{self.limits.members:,} limit")

    def _check_declared(self, size: int) -> None:
        lim, total, end = self.limits, 0, -1
        for info in sorted(self.infos, key=lambda i: i.header_offset):
            name = info.filename
            if name.startswith("/") or "\\" in name or ".." in name.split("/"):
                self._fail(f"package member {name!r} is not an acceptable file name")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                self._fail(f"package member {name!r} uses compression method {info.compress_type} "
                           f"(only stored and deflate are accepted)")
            if info.flag_bits & 0x1:
                self._fail(f"package member {name!r} is encrypted")
            if info.header_offset < end or info.header_offset + info.compress_size > size:
                self._fail(f"package member {name!r} overlaps another member or runs past the end of the "
                           f"archive: refused as a zip bomb")
            stored_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            end = info.header_offset + 30 + len(stored_name) + info.compress_size
            if info.file_size > lim.member:
                self._fail(f"package member {name!r} declares {_mib(info.file_size)}, over the "
                           f"{_mib(lim.member)} limit per file: refused before inflating it")
            if info.file_size > lim.ratio_floor and info.file_size > lim.ratio * max(info.compress_size, 1):
                self._fail(f"package member {name!r} declares {_mib(info.file_size)} from "
                           f"{info.compress_size:,} compressed bytes (over {lim.ratio}:1): refused as a zip "
                           f"bomb before inflating it")
            total += info.file_size
        if total > lim.total:
            self._fail(f"package declares {_mib(total)} of files in all, over the {_mib(lim.total)} limit: "
                       f"refused before inflating it")

    def read_small(self, name: str) -> bytes:
        """One small member (the manifest or its signature), inflated into memory up to ``limits.manifest``."""
        info = self.by_name[name]
        if info.file_size > self.limits.manifest:
            self._fail(f"package member {name!r} declares {_mib(info.file_size)}, over the "
                       f"{_mib(self.limits.manifest)} limit for it")
        buf = io.BytesIO()
        self._stream(info, buf, self.limits.manifest)
        return buf.getvalue()

    def extract(self, names: Iterable[str],
                sink: Callable[[str], AbstractContextManager[BinaryIO]]) -> dict[str, str]:
        """Stream each named member into ``sink(name)``; returns name -> SHA-256 of the bytes written."""
        out = {}
        for name in names:
            with sink(name) as f:
                out[name] = self._stream(self.by_name[name], f, self.limits.member)
        return out

    def _stream(self, info: zipfile.ZipInfo, out: BinaryIO, cap: int) -> str:
        lim, name, n = self.limits, info.filename, 0
        h = hashlib.sha256()
        try:
            with self.zip.open(info) as f:
                while chunk := f.read(_CHUNK):
                    n += len(chunk)
                    self.inflated += len(chunk)
                    if n > info.file_size or n > cap:
                        self._fail(f"package member {name!r} inflates past its declared "
                                   f"{info.file_size:,} bytes: its headers lie")
                    if self.inflated > lim.total:
                        self._fail(f"package inflates past {_mib(lim.total)} in all: refused as a zip bomb")
                    if n > lim.ratio_floor and n > lim.ratio * max(info.compress_size, 1):
                        self._fail(f"package member {name!r} inflates past {lim.ratio}:1 of its "
                                   f"{info.compress_size:,} compressed bytes: refused as a zip bomb")
                    h.update(chunk)
                    out.write(chunk)
        except _ZIP_ERRORS as exc:
            self._fail(f"package member {name!r} is damaged ({exc})")
        if n != info.file_size:
            self._fail(f"package member {name!r} inflates to {n:,} bytes, not the {info.file_size:,} it declares")
        return h.hexdigest()

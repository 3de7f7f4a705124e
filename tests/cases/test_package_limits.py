"""Hostile case packages: zip bombs and forged signatures are refused before anything is inflated.

The bombs are built here from a real export of agency A, re-signed and re-sealed with A's own key (a trusted
sender gone rogue, or a stolen key), so only the size limits stand between them and B's memory. Each test
watches which members zipfile is asked to open, and the peak of Python's allocations while importing.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tracemalloc
import zipfile

import pytest

from chaintrail.cases.errors import PackageError
from chaintrail.cases.hashing import canonical
from chaintrail.cases.package import _SEAL_PLACEHOLDER, _seal, export_package, import_package, read_package
from chaintrail.cases.package_archive import Limits

MiB = 1 << 20
ZEROS = 50 * MiB          # per bomb member: 50 MB of zeros deflates to ~50 KB
BOMBS = 4


@pytest.fixture
def pair(tmp_path, repos):
    """A (NCA) with a small case, B (BKA) empty; both SQLite (package handling is the same on PostgreSQL)."""
    a, b = repos(str(tmp_path / "a.sqlite")), repos(str(tmp_path / "b.sqlite"))
    pa, pb = a.bootstrap("NCA", "alice")[0], b.bootstrap("BKA", "bob")[0]
    ref = a.create_case(pa, "Seized wallet", "Funds moved in 2009.", "amber")["ref"]
    a.add_note(pa, ref, "Public: block 9 coins moved in January 2009.", level="green")
    return a, pa, b, pb, ref


def _signing_key(repo, agency: str):
    from chaintrail.cases.keys import load_signing_key
    return load_signing_key(repo.db, agency)


def _zeros_sha256(n: int) -> str:
    h, chunk = hashlib.sha256(), bytes(MiB)
    for _ in range(n // MiB):
        h.update(chunk)
    return h.hexdigest()


def _rebuild(pkg: bytes, key, extra: dict[str, int], *, bad_signature: bool = False) -> bytes:
    """``pkg`` plus members of ``extra[name]`` zero bytes, listed in the manifest, signed and sealed by ``key``."""
    z = zipfile.ZipFile(io.BytesIO(pkg))
    files = {n: z.read(n) for n in z.namelist()}
    m = json.loads(files.pop("manifest.json"))
    files.pop("manifest.sig")
    m["files"].update({name: _zeros_sha256(size) for name, size in extra.items()})
    mbytes = canonical(m)
    sig = key.sign(mbytes if not bad_signature else mbytes + b" ")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        zo.writestr("manifest.json", mbytes)
        zo.writestr("manifest.sig", sig.hex().encode())
        for n, d in files.items():
            zo.writestr(n, d)
        chunk = bytes(MiB)
        for name, size in extra.items():      # streamed: the test itself never holds a member in memory
            with zo.open(name, "w") as f:
                for _ in range(size // MiB):
                    f.write(chunk)
        zo.comment = _SEAL_PLACEHOLDER
    return _seal(out.getvalue(), key)


def _set_declared(data: bytes, name: str, *, compress_size: int | None = None) -> bytes:
    """Rewrite a member's central-directory header, as an attacker's tool would."""
    at = data.rfind(name.encode()) - 46
    assert data[at:at + 4] == b"PK\x01\x02"
    buf = bytearray(data)
    if compress_size is not None:
        buf[at + 20:at + 24] = struct.pack("<I", compress_size)
    return bytes(buf)


@pytest.fixture
def opened(monkeypatch):
    """The names zipfile is asked to inflate (the real ZipFile.open, watched)."""
    names: list[str] = []
    real = zipfile.ZipFile.open

    def watch(self, name, *args, **kwargs):
        names.append(name if isinstance(name, str) else name.filename)
        return real(self, name, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", watch)
    return names


def _import_measured(b, pb, data, fp, **kw) -> tuple[PackageError, int]:
    tracemalloc.start()
    try:
        with pytest.raises(PackageError) as err:
            import_package(b, pb, data, trust_fingerprint=fp, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return err.value, peak


def test_zip_bomb_signed_by_a_trusted_key_is_refused_before_inflating(pair, opened):
    a, pa, b, pb, ref = pair
    key, fp = _signing_key(a, "NCA"), a.agency("NCA")["fingerprint"]
    bomb = _rebuild(export_package(a, pa, ref, recipient="BKA"),
                    key, {f"attachments/9{i}-zeros.bin": ZEROS for i in range(BOMBS)})
    assert len(bomb) < 1 * MiB                      # 200 MB of members in well under a megabyte
    opened.clear()
    err, peak = _import_measured(b, pb, bomb, fp)
    assert "attachments/90-zeros.bin" in str(err) and "zip bomb" in str(err) and "\n" not in str(err)
    assert not [n for n in opened if n.startswith("attachments/")], opened
    assert peak < 16 * MiB, peak
    assert len(b.list_cases(pb)) == 0


def test_bad_manifest_signature_inflates_nothing_but_the_manifest(pair, opened):
    a, pa, b, pb, ref = pair
    key, fp = _signing_key(a, "NCA"), a.agency("NCA")["fingerprint"]
    forged = _rebuild(export_package(a, pa, ref, recipient="BKA"), key,
                      {"attachments/90-zeros.bin": ZEROS}, bad_signature=True)
    opened.clear()
    err, peak = _import_measured(b, pb, forged, fp, limits=Limits(ratio=10_000))   # no ratio limit to lean on
    assert "signature does not verify with NCA's key" in str(err)
    assert set(opened) <= {"manifest.json", "manifest.sig"}, opened
    assert peak < 16 * MiB, peak


def test_headers_that_lie_about_compressed_size_are_refused(pair, opened):
    a, pa, b, pb, ref = pair
    key, fp = _signing_key(a, "NCA"), a.agency("NCA")["fingerprint"]
    name = "attachments/90-zeros.bin"
    bomb = _rebuild(export_package(a, pa, ref, recipient="BKA"), key, {name: ZEROS})
    # Claim 1 MB compressed, so the ratio looks like 50:1; re-seal so only the limits can refuse it.
    lying = _seal(_set_declared(bomb, name, compress_size=MiB)[:-128] + _SEAL_PLACEHOLDER, key)
    opened.clear()
    err, peak = _import_measured(b, pb, lying, fp)
    assert f"package member {name!r} overlaps another member or runs past the end" in str(err)
    assert not [n for n in opened if n.startswith("attachments/")] and peak < 16 * MiB


def test_total_and_member_limits_count_declared_and_streamed_bytes(pair, opened):
    a, pa, b, pb, ref = pair
    key, fp = _signing_key(a, "NCA"), a.agency("NCA")["fingerprint"]
    pkg = _rebuild(export_package(a, pa, ref, recipient="BKA"), key, {"attachments/90-zeros.bin": 4 * MiB,
                                                                      "attachments/91-zeros.bin": 4 * MiB})
    loose = dict(ratio=10_000)
    for limits, words in [(Limits(total=6 * MiB, **loose), "package declares 8.0 MiB of files in all, over the 6.0 MiB"),
                          (Limits(member=3 * MiB, **loose), "declares 4.0 MiB, over the 3.0 MiB limit per file"),
                          (Limits(), "over 100:1"),
                          (Limits(package=8 * 1024, **loose), "over the 8.0 KiB limit")]:
        opened.clear()
        err, _ = _import_measured(b, pb, pkg, fp, limits=limits)
        assert words in str(err), (limits, str(err))
        assert not [n for n in opened if n.startswith("attachments/")]
    # Within the limits the same package reads; every member was streamed and hashed.
    manifest, members = read_package(pkg, limits=Limits(**loose))
    assert len(members["attachments/91-zeros.bin"]) == 4 * MiB and set(manifest["files"]) < set(members)


def test_sealed_package_with_a_changed_member_is_named(pair):
    a, pa, b, pb, ref = pair
    key, fp = _signing_key(a, "NCA"), a.agency("NCA")["fingerprint"]
    pkg = export_package(a, pa, ref, recipient="BKA")
    z = zipfile.ZipFile(io.BytesIO(pkg))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        for n in z.namelist():
            zo.writestr(n, z.read(n).replace(b"January 2009", b"January 2010") if n == "case.json" else z.read(n))
        zo.comment = _SEAL_PLACEHOLDER
    with pytest.raises(PackageError, match="package file case.json was changed after signing"):
        import_package(b, pb, _seal(out.getvalue(), key), trust_fingerprint=fp)
    assert import_package(b, pb, pkg, trust_fingerprint=fp).counts["notes"] == 1


def test_cli_refuses_an_oversized_package_file_before_reading_it(tmp_path):
    from typer.testing import CliRunner

    from chaintrail.cli.main import app
    big = tmp_path / "huge.zip"
    with big.open("wb") as f:                # sparse: 2 GiB that take no disk and are never read
        f.truncate(2 << 30)
    res = CliRunner().invoke(app, ["case", "import", str(big), "--db", str(tmp_path / "b.sqlite")])
    assert res.exit_code == 2 and "package is 2,048.0 MiB, over the 1,024.0 MiB limit" in " ".join(res.output.split())

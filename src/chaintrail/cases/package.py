"""Signed case packages: one zip a partner agency can verify, import and attribute.

Layout::

    manifest.json        sender (agency, public key, fingerprint), recipient and its TLP level,
                         the SHA-256 of every other file, what was withheld
    manifest.sig         Ed25519 signature of manifest.json's exact bytes (hex)
    (archive comment)    Ed25519 signature of every byte of the zip before it (hex), so no byte can change
    case.json            the case and its items (each with its TLP marking), its monitoring alerts
                         (retracted ones too, see package_alerts), the sender's custody entries for the case
    stix-bundle.json     the same case as STIX 2.1 (see stix_export)
    ftm.jsonl            the same case as FollowTheMoney entities (see ftm_export)
    attachments/N-name   attachment bytes

Import refuses a package whose signature fails, whose files do not match the
manifest, that holds files the manifest does not name, whose findings do not
reproduce their own hashes, that is addressed to another agency, or that is
signed by a key this server does not trust for the named agency. It inflates
nothing but the manifest and its signature until the signature, the seal and
the sender's key are checked, and then streams each file to a temporary folder
within the limits of ``package_archive`` (no zip bomb gets past them).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from chaintrail.cases import audit, identity, tlp
from chaintrail.cases.errors import AccessDenied, NotFound, PackageError
from chaintrail.cases.findings import finding_hash
from chaintrail.cases.ftm_export import build_entities, parse_jsonl, to_jsonl
from chaintrail.cases.hashing import canonical, digest, sha256_hex
from chaintrail.cases.identity import Principal
from chaintrail.cases.package_alerts import check_alerts, export_alerts
from chaintrail.cases.package_archive import DEFAULT_LIMITS, Limits, PackageArchive
from chaintrail.cases.keys import load_signing_key
from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.stix_export import build_bundle, parse_bundle
from chaintrail.i18n import _
from chaintrail.errors import UsageError

FORMAT = "chaintrail-case-package/1"
_FIXED = ("case.json", "stix-bundle.json", "ftm.jsonl")


@dataclass
class ImportResult:
    case: dict
    sender: dict
    counts: dict[str, int]
    tags_to_tag_store: int = 0

    def to_dict(self) -> dict:
        return {"case": self.case, "sender": self.sender, "counts": self.counts,
                "tags_to_tag_store": self.tags_to_tag_store}


def export_package(repo: CaseRepository, p: Principal, ref: str, *, level: str = "amber",
                   recipient: str | None = None) -> bytes:
    """A signed package of case ``ref`` for a recipient cleared to ``level`` (items above it are withheld)."""
    level = tlp.normalize(level)
    view = repo.case(p, ref, action="case.export")
    if view.access != "owner" or not p.at_least("investigator"):
        repo._log_denied(p, ref, "case.export", f"{p.role} of {p.agency} ({view.access} access)")
        raise AccessDenied(_("only investigators of the agency that owns case {ref} may export it").format(ref=ref))
    view = view.redacted(level)
    me = repo.agency(p.agency)
    key = load_signing_key(repo.db, p.agency)     # from its key file, never from the database
    files: dict[str, bytes] = {}
    atts = []
    for a in view.attachments:
        _meta, content = repo.attachment(p, ref, a["id"])
        name = f"attachments/{a['id']}-{a['filename']}"
        files[name] = content
        atts.append({**a, "file": name})
    try:
        log = [e.to_dict() for e in repo.log(p, ref)]
    except AccessDenied:
        log = []
    body = {"case": {k: view.case[k] for k in ("ref", "title", "summary", "tlp", "status", "created_by",
                                                "created_at", "origin")},
            "subjects": view.subjects, "findings": view.findings, "notes": view.notes, "attachments": atts,
            "tags": view.tags, "alerts": export_alerts(view.alerts), "custody": log}
    files["case.json"] = canonical(body)
    files["stix-bundle.json"] = build_bundle(view, p.agency).serialize(sort_keys=True).encode()
    files["ftm.jsonl"] = to_jsonl(build_entities(view, p.agency)).encode()
    head = repo.audit_head()
    manifest = {"format": FORMAT, "created_at": audit.now(), "case_ref": ref,
                "sender": {"agency": p.agency, "country": me.get("country"), "public_key": me["public_key"],
                           "fingerprint": identity.fingerprint(me["public_key"]), "exported_by": p.username,
                           "audit_head": {"seq": head[0], "hash": head[1]}},
                "recipient": {"agency": recipient, "tlp_max": level},
                "withheld": view.withheld,
                "files": {name: sha256_hex(data) for name, data in sorted(files.items())}}
    mbytes = canonical(manifest)
    sig = key.sign(mbytes)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("manifest.json", mbytes), ("manifest.sig", sig.hex().encode()), *sorted(files.items())]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))   # stable bytes for the same content
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
        z.comment = _SEAL_PLACEHOLDER
    sealed = _seal(out.getvalue(), key)
    repo.record(p, ref, "case.export.signed", {"recipient": recipient, "tlp_max": level,
                                               "manifest_sha256": sha256_hex(mbytes), "withheld": view.withheld})
    return sealed


# The zip's archive comment (its last bytes) holds an Ed25519 signature of every byte before it, so a change
# to any byte of the file -- zip headers and timestamps included -- is refused, not only changed content.
_SEAL_LEN = 128
_SEAL_PLACEHOLDER = b"0" * _SEAL_LEN


def _seal(data: bytes, key) -> bytes:
    assert data.endswith(_SEAL_PLACEHOLDER)
    body = data[:-_SEAL_LEN]
    return body + key.sign(body).hex().encode()


def _check_seal(data: bytes, key, name: str, fp: str, source: str) -> None:
    try:
        key.verify(bytes.fromhex(data[-_SEAL_LEN:].decode("ascii")), data[:-_SEAL_LEN])
    except (InvalidSignature, ValueError, UnicodeDecodeError):
        raise PackageError(f"package bytes were altered after {name} signed them (key {fp})", source, None) from None


def _open(data: bytes, source: str, limits: Limits) -> tuple[PackageArchive, dict, bytes]:
    """The archive, its manifest and the manifest's bytes; of all members, only the manifest and its signature
    are inflated, and the manifest must name exactly the other members."""
    arc = PackageArchive(data, source, limits)
    for need in ("manifest.json", "manifest.sig"):
        if need not in arc.by_name:
            raise PackageError(f"package has no {need}", source, None)
    mbytes = arc.read_small("manifest.json")
    try:
        manifest = json.loads(mbytes)
    except ValueError:
        raise PackageError("package manifest is not JSON", source, None) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PackageError(f"not a {FORMAT} package", source, None)
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise PackageError("package manifest lists no files", source, None)
    extra = sorted(set(arc.names) - set(listed) - {"manifest.json", "manifest.sig"})
    missing = sorted(set(listed) - set(arc.names))
    if extra or missing:
        raise PackageError(f"package files differ from its manifest (extra {extra}, missing {missing})", source, None)
    for need in _FIXED:
        if need not in listed:
            raise PackageError(f"package has no {need}", source, None)
    return arc, manifest, mbytes


def _check_hashes(listed: dict, got: dict[str, str], source: str) -> None:
    for name, want in listed.items():
        if got[name] != want:
            raise PackageError(f"package file {name} was changed after signing (SHA-256 differs)", source, None)


def read_package(data: bytes, source: str = "package",
                 limits: Limits = DEFAULT_LIMITS) -> tuple[dict, dict[str, bytes]]:
    """Open a package and check its own integrity: limits, manifest, files. The signature is checked by the caller."""
    arc, manifest, mbytes = _open(data, source, limits)
    bufs: dict[str, io.BytesIO] = {}
    got = arc.extract(manifest["files"], lambda n: contextlib.nullcontext(bufs.setdefault(n, io.BytesIO())))
    _check_hashes(manifest["files"], got, source)
    members = {n: b.getvalue() for n, b in bufs.items()}
    members["manifest.json"], members["manifest.sig"] = mbytes, arc.read_small("manifest.sig")
    return manifest, members


def import_package(repo: CaseRepository, p: Principal, data: bytes, *, source: str = "package",
                   trust_fingerprint: str | None = None, tag_store_root=None,
                   limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Verify a package and import it as a new case of ``p``'s agency (refused and logged if anything fails)."""
    try:
        return _import(repo, p, data, source, trust_fingerprint, tag_store_root, limits)
    except PackageError as exc:
        with repo.db.tx() as conn:
            audit.append(conn, actor=p.username, agency=p.agency, action="case.import",
                         detail={"package_sha256": sha256_hex(data), "reason": exc.reason}, outcome="refused")
        raise


def _import(repo: CaseRepository, p: Principal, data: bytes, source: str, trust_fingerprint: str | None,
            tag_store_root, limits: Limits) -> ImportResult:
    # Signature, seal and trust first: nothing but the manifest is inflated for a sender we cannot verify.
    arc, manifest, mbytes = _open(data, source, limits)
    sender = manifest.get("sender") or {}
    name, pub = sender.get("agency"), sender.get("public_key") or ""
    if not isinstance(name, str) or not name:
        raise PackageError("package names no sender agency", source, None)
    try:
        key = identity.public_key(pub)
        fp = identity.fingerprint(pub)
    except (UsageError, ValueError, TypeError):
        raise PackageError("package names no valid sender key", source, None) from None
    try:
        key.verify(bytes.fromhex(arc.read_small("manifest.sig").decode().strip()), mbytes)
    except (InvalidSignature, ValueError, UnicodeDecodeError):
        raise PackageError(f"package signature does not verify with {name}'s key {fp}: it was altered or forged",
                           source, None) from None
    _check_seal(data, key, name, fp, source)
    _check_trust(repo, p, name, pub, fp, trust_fingerprint, source)
    rcpt = (manifest.get("recipient") or {}).get("agency")
    if rcpt and rcpt != p.agency:
        raise PackageError(f"package is addressed to {rcpt}, not {p.agency}", source, None)
    with tempfile.TemporaryDirectory(prefix="chaintrail-package-") as tmp:
        paths = {n: Path(tmp) / f"{i}.member" for i, n in enumerate(manifest["files"])}
        _check_hashes(manifest["files"], arc.extract(paths, lambda n: paths[n].open("wb")), source)
        return _import_verified(repo, p, manifest, mbytes, data, paths, name, fp, source, tag_store_root)


def _import_verified(repo: CaseRepository, p: Principal, manifest: dict, mbytes: bytes, data: bytes,
                     paths: dict[str, Path], name: str, fp: str, source: str, tag_store_root) -> ImportResult:
    sender = manifest.get("sender") or {}
    try:
        body = json.loads(paths["case.json"].read_bytes())
        parse_bundle(paths["stix-bundle.json"].read_text())
        parse_jsonl(paths["ftm.jsonl"].read_text())
    except Exception as exc:  # any parse failure of signed content is a bad package
        raise PackageError(f"package content does not parse: {exc}", source, None) from None
    for f in body.get("findings", []):
        if digest(f["result"]) != f["result_hash"] or finding_hash(f) != f["finding_hash"]:
            raise PackageError(f"finding {f.get('id')} does not reproduce its hash", source, None)
    for a in body.get("attachments", []):
        at = paths.get(a.get("file", ""))
        a["content"] = at.read_bytes() if at is not None else b""
        if sha256_hex(a["content"]) != a["sha256"]:
            raise PackageError(f"attachment {a.get('filename')} does not match its SHA-256", source, None)
    origin = {"agency": name, "fingerprint": fp, "case_ref": manifest.get("case_ref"),
              "exported_by": sender.get("exported_by"), "exported_at": manifest.get("created_at"),
              "package_sha256": sha256_hex(data), "manifest_sha256": sha256_hex(mbytes),
              "tlp_max": (manifest.get("recipient") or {}).get("tlp_max")}
    items = {k: body.get(k, []) for k in ("subjects", "findings", "notes", "attachments", "tags")}
    items["alerts"] = check_alerts(body.get("alerts", []), source)
    case = repo.import_case(p, body["case"], items, origin)
    res = ImportResult(case, {"agency": name, "fingerprint": fp}, {k: len(v) for k, v in items.items()})
    if tag_store_root is not None:
        res.tags_to_tag_store = _to_tag_store(tag_store_root, body, name, case["ref"])
    return res


def _check_trust(repo: CaseRepository, p: Principal, name: str, pub: str, fp: str, trust_fp: str | None,
                 source: str) -> None:
    try:
        known = repo.agency(name)
    except NotFound:
        known = None
    if known is not None:
        if known["public_key"] != pub.lower():
            raise PackageError(f"package claims to come from {name}, but {name}'s trusted key is "
                               f"{known['fingerprint']}, not {fp}", source, None)
        return
    if trust_fp is None or trust_fp != fp:
        raise PackageError(f"{name} is not a trusted agency here; check its key fingerprint {fp} with them and "
                           f"import with --trust {fp}", source, None)
    repo.add_agency(p.username, name, kind="foreign", public_key_hex=pub)


def _to_tag_store(root, body: dict, agency: str, ref: str) -> int:
    """Put the case's tags into the recipient's tag store, attributed to the sending agency."""
    from chaintrail.tags.tagstore import TagStore

    ts = TagStore(root)
    n = 0
    for t in body.get("tags", []):
        try:
            ts.add_tag(t["address"], t["label"], category=t.get("category"), actor=t.get("actor"),
                       source=f"{t.get('source') or 'case tag'} (shared by {agency})",
                       confidence=t.get("confidence"), context=t.get("context"), user=f"{agency}:{t['created_by']}",
                       case=ref)
            n += 1
        except UsageError:  # a category the tag vocabulary does not know: it stays a case tag only
            continue
    return n

"""Cross-agency sharing: agency A exports a signed package, agency B imports it into its own database.

Findings and tags must match exactly, keep A's attribution, and items above the recipient's TLP level must
not travel. Any tampering with the package is refused (and the refusal logged). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from ct_cases import EXCHANGE_ADDR, HAL, RANSOM_ADDR

from chaintrail.cases import identity
from chaintrail.cases.audit import entries
from chaintrail.cases.errors import PackageError
from chaintrail.cases.ftm_export import parse_jsonl
from chaintrail.cases.hashing import canonical
from chaintrail.cases.package import (
    _SEAL_PLACEHOLDER,
    _seal,
    export_package,
    import_package,
    read_package,
)
from chaintrail.cases.stix_export import parse_bundle
from chaintrail.cases.verify import verify

RECORDS = (b"entity_name,target_address,bitcoin_address,transaction_id,date,amount_satoshi,amount_btc,amount_usd,"
           b"wallet_address,type\nSuspect,X,1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3,"
           b"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16,2009-01-12 03:30:25,1000000000,10,0,X,"
           b"Incoming\n")


@pytest.fixture
def agencies(new_db, repos, trace9):
    """A (NCA) with a case holding every kind of item at several TLP levels; B (BKA) empty."""
    a, b = repos(new_db()), repos(new_db())
    pa, pb = a.bootstrap("NCA", "alice")[0], b.bootstrap("BKA", "bob")[0]
    ref = a.create_case(pa, "Proceeds of block 9", "Funds mined in block 9 and moved on.", "amber")["ref"]
    a.add_subject(pa, ref, "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "miner")
    a.add_finding(pa, ref, trace9)
    a.add_note(pa, ref, "Informant says the miner sold to a local exchange.", level="red")
    a.add_note(pa, ref, "Public: block 9 coins moved in January 2009.", level="green")
    a.add_tag(pa, ref, HAL, "Hal Finney", category="user", source="public record", confidence="authority_data")
    a.add_tag(pa, ref, "1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW", "Undercover buy", category="exchange",
              source="NCA operation", confidence="ownership", level="red")
    a.add_attachment(pa, ref, "records.csv", RECORDS, kind="exchange_records", media_type="text/csv",
                     meta={"legs": 1})
    return a, pa, b, pb, ref


def _import(b, pb, pkg, fp):
    return import_package(b, pb, pkg, trust_fingerprint=fp)


def test_round_trip_findings_and_tags_match_with_attribution(agencies):
    a, pa, b, pb, ref = agencies
    fp = a.agency("NCA")["fingerprint"]
    pkg = export_package(a, pa, ref, level="amber", recipient="BKA")
    manifest, members = read_package(pkg)
    assert manifest["withheld"] == {"note": 1, "tag": 1}            # the two RED items stay home
    assert manifest["sender"]["fingerprint"] == fp and manifest["recipient"] == {"agency": "BKA", "tlp_max": "amber"}
    res = _import(b, pb, pkg, fp)
    assert res.counts == {"subjects": 1, "findings": 1, "notes": 1, "attachments": 1, "tags": 1, "alerts": 0}
    va, vb = a.case(pa, ref), b.case(pb, res.case["ref"])
    fa, fb = va.findings[0], vb.findings[0]
    for k in ("kind", "title", "spec", "params", "versions", "error_rates", "block_hashes", "tags", "result",
              "result_hash", "store_hash", "finding_hash", "tlp"):
        assert canonical(fa[k]) == canonical(fb[k]), k
    key = ("address", "label", "category", "source", "confidence", "tlp")
    assert [tuple(t[k] for k in key) for t in vb.tags] == [tuple(t[k] for k in key) for t in va.tags if t["tlp"] != "red"]
    assert [n["body"] for n in vb.notes] == ["Public: block 9 coins moved in January 2009."]
    for item in [vb.case, *vb.findings, *vb.tags, *vb.notes, *vb.subjects, *vb.attachments]:
        o = item["origin"]
        assert (o["agency"], o["fingerprint"], o["case_ref"]) == ("NCA", fp, ref)
    assert vb.findings[0]["origin"]["created_by"] == "alice" and vb.findings[0]["created_by"] == "bob"
    _, content = b.attachment(pb, res.case["ref"], vb.attachments[0]["id"])
    assert content == RECORDS and vb.attachments[0]["meta"] == {"legs": 1}
    assert verify(a.db).ok and verify(b.db).ok
    with b.db.read() as conn:
        acts = [(e.action, e.outcome) for e in entries(conn)]
    assert ("agency.create", "ok") in acts and ("case.import", "ok") in acts and ("finding.import", "ok") in acts
    # The trusted key was recorded as a foreign agency on B's side.
    assert b.agency("NCA")["kind"] == "foreign" and b.agency("NCA")["fingerprint"] == fp


def test_stix_and_ftm_in_the_package(agencies):
    a, pa, _, _, ref = agencies
    pkg = export_package(a, pa, ref, level="amber")
    _, m = read_package(pkg)
    bundle = parse_bundle(m["stix-bundle.json"].decode())
    objs = {o.id: o for o in bundle.objects}
    by_type: dict[str, list] = {}
    for o in bundle.objects:
        by_type.setdefault(o.type, []).append(o)
    wallets = {o.value for o in by_type["cryptocurrency-wallet"]}
    assert {EXCHANGE_ADDR, RANSOM_ADDR, HAL, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"} <= wallets
    markings = {o.id for o in by_type["marking-definition"]}
    assert markings == {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",     # TLP:AMBER
                        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"}     # TLP:GREEN
    assert all(o.object_marking_refs[0] in markings for o in bundle.objects if o.type != "marking-definition")
    inds = {o.pattern: o for o in by_type["indicator"]}
    assert f"[cryptocurrency-wallet:value = '{RANSOM_ADDR}']" in inds
    rels = {(objs[r.source_ref].type, r.relationship_type, objs[r.target_ref].type) for r in by_type["relationship"]}
    assert {("indicator", "based-on", "cryptocurrency-wallet"), ("indicator", "indicates", "threat-actor"),
            ("cryptocurrency-wallet", "related-to", "threat-actor")} <= rels
    assert [t.name for t in by_type["threat-actor"]] == ["LockBit-like operator"]
    note = next(n for n in by_type["note"] if getattr(n, "x_chaintrail_finding_hash", None))
    assert note.x_chaintrail_finding_hash == a.case(pa, ref).findings[0]["finding_hash"]
    ident = by_type["identity"][0]
    assert ident.name == "NCA" and set(by_type["report"][0].object_refs) == set(objs) - markings - {
        by_type["report"][0].id, ident.id}
    ents = parse_jsonl(m["ftm.jsonl"].decode())
    schemas = {e.schema.name for e in ents}
    assert {"CryptoWallet", "Payment", "Company", "Person", "LegalEntity"} <= schemas
    wallet = {e.first("publicKey"): e for e in ents if e.schema.name == "CryptoWallet"}
    holder = {e.id: e for e in ents}
    assert holder[wallet[EXCHANGE_ADDR].first("holder")].caption == "Exchange Bravo"
    assert holder[wallet[HAL].first("holder")].schema.name == "Person"
    paid = sum(round(float(e.first("amount")) * 100_000_000) for e in ents if e.schema.name == "Payment")
    assert paid == 50 * 100_000_000          # every traced satoshi ends at an endpoint on this chain
    # Same case, same package content: ids are stable.
    _, m2 = read_package(export_package(a, pa, ref, level="amber"))
    assert m2["stix-bundle.json"] == m["stix-bundle.json"] and m2["ftm.jsonl"] == m["ftm.jsonl"]


def _rezip(pkg: bytes, change, key_hex: str | None = None) -> bytes:
    z = zipfile.ZipFile(io.BytesIO(pkg))
    files = {n: z.read(n) for n in z.namelist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zo:
        for n, d in files.items():
            zo.writestr(n, d)
        zo.comment = _SEAL_PLACEHOLDER
    return _seal(out.getvalue(), identity.private_key(key_hex)) if key_hex else out.getvalue()


def _resign(files, key_hex):
    m = json.loads(files["manifest.json"])
    m["sender"]["public_key"] = identity.private_key(key_hex).public_key().public_bytes_raw().hex()
    m["sender"]["fingerprint"] = identity.fingerprint(m["sender"]["public_key"])
    files["manifest.json"] = canonical(m)
    files["manifest.sig"] = identity.private_key(key_hex).sign(files["manifest.json"]).hex().encode()


def test_tampered_or_untrusted_packages_are_refused_and_logged(agencies):
    a, pa, b, pb, ref = agencies
    fp = a.agency("NCA")["fingerprint"]
    pkg = export_package(a, pa, ref, level="amber", recipient="BKA")
    flips = []
    for at in [*range(0, len(pkg), max(1, len(pkg) // 24)), len(pkg) - 1]:   # headers, data, directory, seal
        f = bytearray(pkg)
        f[at] ^= 0x01
        flips.append(bytes(f))
    for data in flips:
        with pytest.raises(PackageError):
            import_package(b, pb, data, trust_fingerprint=fp)
    flipped = flips[len(flips) // 2]
    mallory, _ = identity.new_keypair()
    cases = {
        "one flipped byte": (bytes(flipped), fp, ""),
        "case.json edited": (_rezip(pkg, lambda f: f.__setitem__("case.json", f["case.json"].replace(
            b"Exchange Bravo", b"Exchange Brav0"))), fp, "altered after NCA signed them"),   # seal, before inflating
        "manifest edited": (_rezip(pkg, lambda f: f.__setitem__("manifest.json", f["manifest.json"].replace(
            b'"tlp_max":"amber"', b'"tlp_max":"red"'))), fp, "signature does not verify"),
        "file added": (_rezip(pkg, lambda f: f.__setitem__("extra.txt", b"x")), fp, "differ from its manifest"),
        "re-signed by another key": (_rezip(pkg, lambda f: _resign(f, mallory), mallory), None,
                                     "is not a trusted agency"),
        "untrusted sender": (pkg, None, "NCA is not a trusted agency here"),
        "wrong fingerprint": (pkg, "SHA256:" + "0" * 32, "NCA is not a trusted agency here"),
    }
    for name, (data, trust, words) in cases.items():
        with pytest.raises(PackageError) as err:
            import_package(b, pb, data, trust_fingerprint=trust)
        assert words in str(err.value), (name, str(err.value))
    # Once NCA's real key is trusted, a package signed by another key that claims to be NCA is refused.
    _import(b, pb, pkg, fp)
    with pytest.raises(PackageError, match="NCA's trusted key is"):
        import_package(b, pb, _rezip(pkg, lambda f: _resign(f, mallory), mallory))
    with b.db.read() as conn:
        refused = [e for e in entries(conn) if e.action == "case.import" and e.outcome == "refused"]
    assert len(refused) == len(flips) + len(cases) + 1
    assert len(b.list_cases(pb)) == 1 and verify(b.db).ok


def test_package_addressed_to_another_agency_is_refused(agencies):
    a, pa, b, pb, ref = agencies
    pkg = export_package(a, pa, ref, level="red", recipient="FBI")
    with pytest.raises(PackageError, match="addressed to FBI, not BKA"):
        _import(b, pb, pkg, a.agency("NCA")["fingerprint"])

"""Alerts travel in a case package's case.json: signed with it, imported as read-only alerts of the new case.

One live alert and one retracted by a reorganisation are exported; the package verifies, case.json holds both
(with the watch, transaction, amount, asset, block and the retraction), the partner's case view and report
timeline show them, its own monitor never retracts them, and an alert edited in case.json is refused.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from chaintrail.cases.errors import PackageError
from chaintrail.cases.keys import load_signing_key
from chaintrail.cases.package import _SEAL_PLACEHOLDER, _seal, export_package, import_package, read_package
from chaintrail.cases.report import build_report
from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.verify import verify
from chaintrail.monitor import alerts as A
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import add_watch

SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
TX170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
B170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
B170_ALT = "00000000" + "7" * 56
REORG = "reorganisation: the block is no longer in the node's best chain"


def _found(w: dict, ref: str, block_hash: str) -> dict:
    return {"watch_id": w["id"], "case_id": w["case_id"], "case_ref": ref, "agency": "FBI", "tlp": w["tlp"],
            "chain": "btc", "block_number": 170, "block_hash": block_hash, "tx_hash": TX170, "direction": "out",
            "address": SATOSHI, "counterparty": HAL, "asset": "BTC", "amount": "1000000000",
            "reason": "the watched address paid"}


@pytest.fixture
def shared(tmp_path):
    a = CaseRepository.open(tmp_path / "fbi.sqlite")
    b = CaseRepository.open(tmp_path / "bka.sqlite")
    pa, pb = a.bootstrap("FBI", "agent")[0], b.bootstrap("BKA", "bob")[0]
    ref = a.create_case(pa, "First payment", "Block 170.", "amber")["ref"]
    w = add_watch(a, pa, ref, check_spec("btc", "address", SATOSHI, {"direction": "out"}))
    old = A.raise_alerts(a.db, [_found(w, ref, B170_ALT)])[0]
    A.retract(a.db, "btc", lambda n, h: h != B170_ALT, REORG)
    new = A.raise_alerts(a.db, [_found(w, ref, B170)])[0]
    yield a, pa, b, pb, ref, w, old, new
    a.close()
    b.close()


def test_alerts_travel_in_case_json_and_are_imported_read_only(shared):
    a, pa, b, pb, ref, w, old, new = shared
    pkg = export_package(a, pa, ref, level="amber", recipient="BKA")
    manifest, members = read_package(pkg)                 # integrity: every file matches the signed manifest
    body = json.loads(members["case.json"])
    sent = {x["id"]: x for x in body["alerts"]}
    assert set(sent) == {old["id"], new["id"]}
    live, gone = sent[new["id"]], sent[old["id"]]
    assert (live["tx_hash"], live["amount"], live["asset"], live["block_number"], live["block_hash"],
            live["retracted"], live["watch_id"], live["watch_kind"], live["watch_target"]) == (
        TX170, "1000000000", "BTC", 170, B170, False, w["id"], "address", SATOSHI)
    assert gone["retracted"] is True and gone["status"] == "retracted" and gone["retract_reason"] == REORG
    assert gone["block_hash"] == B170_ALT and live["retract_reason"] is None

    res = import_package(b, pb, pkg, trust_fingerprint=a.agency("FBI")["fingerprint"])
    assert res.counts["alerts"] == 2
    view = b.case(pb, res.case["ref"])
    got = {x["origin"]["item_id"]: x for x in view.alerts}
    assert set(got) == {old["id"], new["id"]}
    g = got[new["id"]]
    assert (g["tx_hash"], g["amount"], g["block_hash"], g["status"], g["watch_target"], g["created_at"]) == (
        TX170, "1000000000", B170, "active", SATOSHI, new["created_at"])
    assert got[old["id"]]["status"] == "retracted" and got[old["id"]]["retract_reason"] == REORG
    assert g["origin"]["agency"] == "FBI"
    # Read-only: the partner's own watches list nothing to evaluate, and its monitor never retracts them.
    from chaintrail.monitor.watches import active_watches
    with b.db.read() as conn:
        assert active_watches(conn, "btc") == []
    assert A.retract(b.db, "btc", lambda n, h: False, REORG) == []
    assert b.case(pb, res.case["ref"]).alerts[1]["status"] == "active"
    html = build_report(b, pb, res.case["ref"], "html").decode()
    section = html.split("Timeline</h2>", 1)[1].split("<h2>", 1)[0]
    assert TX170 in section and B170 in section and B170_ALT in section and "RETRACTED" in section
    assert verify(b.db).ok
    # The partner may pass them on: its own export carries them again.
    again = json.loads(read_package(export_package(b, pb, res.case["ref"], level="amber"))[1]["case.json"])
    assert sorted(x["block_hash"] for x in again["alerts"]) == sorted([B170, B170_ALT])


def test_alerts_above_the_recipients_level_stay_home(shared):
    a, pa, b, pb, ref, *_ = shared
    body = json.loads(read_package(export_package(a, pa, ref, level="green"))[1]["case.json"])
    assert body["alerts"] == []


def _rezip(pkg: bytes, change, key) -> bytes:
    z = zipfile.ZipFile(io.BytesIO(pkg))
    files = {n: z.read(n) for n in z.namelist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zo:
        for n, d in files.items():
            zo.writestr(n, d)
        zo.comment = _SEAL_PLACEHOLDER
    return _seal(out.getvalue(), key) if key is not None else out.getvalue()


def test_an_alert_edited_in_case_json_is_refused(shared):
    a, pa, b, pb, ref, w, old, new = shared
    pkg = export_package(a, pa, ref, level="amber", recipient="BKA")
    fp = a.agency("FBI")["fingerprint"]

    def edit(files):
        body = json.loads(files["case.json"])
        for x in body["alerts"]:
            if x["id"] == old["id"]:
                x.update(status="active", retracted=False, retract_reason=None)
        files["case.json"] = json.dumps(body).encode()

    # Re-sealed with the sender's own key, so only the manifest's SHA-256 of case.json can catch it.
    for data, words in ((_rezip(pkg, edit, load_signing_key(a.db, "FBI")), "case.json was changed after signing"),
                        (_rezip(pkg, edit, None), "altered after FBI signed them")):
        with pytest.raises(PackageError, match=words):
            import_package(b, pb, data, trust_fingerprint=fp)
    assert b.list_cases(pb) == []   # nothing imported


def test_a_malformed_alert_is_named_in_a_one_line_error():
    from chaintrail.cases.package_alerts import check_alerts

    ok = {"id": 1, "watch_id": 1, "block_number": 170, "tlp": "amber", "chain": "btc", "block_hash": B170,
          "tx_hash": TX170, "direction": "out", "address": SATOSHI, "asset": "BTC", "amount": "5", "reason": "r",
          "status": "active", "retracted": False, "created_at": "2026-01-01T00:00:00Z"}
    assert check_alerts([ok], "p") == [ok]
    for bad, words in (({"amount": "-5"}, "alert 1 amount '-5' is not a whole number"),
                       ({"block_number": "170"}, "alert 1 lacks or mistypes block_number"),
                       ({"retracted": True}, "alert 1 status 'active' and retracted flag disagree"),
                       ({"tlp": "purple"}, "alert 1 has no valid TLP level")):
        with pytest.raises(PackageError, match=words):
            check_alerts([{**ok, **bad}], "p")

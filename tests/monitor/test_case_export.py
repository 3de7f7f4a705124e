"""Alerts leave with the case: STIX sightings in the case's bundle and rows in the court report's timeline,
a retracted alert exported as revoked and shown struck through with its reason."""

from __future__ import annotations

import json
import re

import pytest
import stix2

from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.stix_export import build_bundle, parse_bundle
from chaintrail.monitor import alerts as A
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import add_watch

SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
TX170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
B170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
B170_ALT = "00000000" + "7" * 56


def _found(w: dict, ref: str, agency: str, block_hash: str, amount: str) -> dict:
    return {"watch_id": w["id"], "case_id": w["case_id"], "case_ref": ref, "agency": agency, "tlp": w["tlp"],
            "chain": "btc", "block_number": 170, "block_hash": block_hash, "tx_hash": TX170, "direction": "out",
            "address": SATOSHI, "counterparty": HAL, "asset": "BTC", "amount": amount,
            "reason": "the watched address paid"}


@pytest.fixture
def case_with_alerts(tmp_path):
    repo = CaseRepository.open(tmp_path / "cases.sqlite")
    p = repo.ensure_operator("FBI", "agent")
    ref = repo.create_case(p, "First payment")["ref"]
    w = add_watch(repo, p, ref, check_spec("btc", "address", SATOSHI, {"direction": "out"}))
    # Raised in block 170 as first seen, retracted when a reorganisation dropped it, raised again in the new 170.
    old = A.raise_alerts(repo.db, [_found(w, ref, "FBI", B170_ALT, "5000000000")])[0]
    A.retract(repo.db, "btc", lambda n, h: h != B170_ALT, "reorganisation: the block is no longer in the node's "
                                                             "best chain")
    new = A.raise_alerts(repo.db, [_found(w, ref, "FBI", B170, "5000000000")])[0]
    yield repo, p, ref, w, old, new
    repo.close()


def test_stix_bundle_holds_each_alert_as_a_sighting(case_with_alerts):
    repo, p, ref, w, old, new = case_with_alerts
    text = build_bundle(repo.case(p, ref), p.agency).serialize(sort_keys=True)
    bundle = parse_bundle(text)                       # the stix2 library validates every object on parse
    sightings = {s["x_chaintrail_alert_id"]: s for s in bundle.objects if s["type"] == "sighting"}
    assert set(sightings) == {old["id"], new["id"]}
    s = sightings[new["id"]]
    assert isinstance(s, stix2.v21.Sighting)
    assert (s["x_chaintrail_tx_hash"], s["x_chaintrail_block_hash"], s["x_chaintrail_block_number"],
            s["x_chaintrail_amount"], s["x_chaintrail_asset"]) == (TX170, B170, 170, "5000000000", "BTC")
    assert s.revoked is False and TX170 in s.description and B170 in s.description
    by_id = {o["id"]: o for o in bundle.objects}
    ind = by_id[s.sighting_of_ref]
    assert ind["type"] == "indicator" and ind.pattern == f"[cryptocurrency-wallet:value = '{SATOSHI}']"
    seen = by_id[s.observed_data_refs[0]]
    assert {by_id[r]["value"] for r in seen.object_refs} == {SATOSHI, HAL}
    agency = [o for o in bundle.objects if o["type"] == "identity"][0]
    assert s.where_sighted_refs == [agency.id]
    # The retracted one: revoked, with the reason and the block it was first seen in.
    r = sightings[old["id"]]
    assert r.revoked is True and r["x_chaintrail_status"] == "retracted"
    assert r["x_chaintrail_block_hash"] == B170_ALT and "reorganisation" in r["x_chaintrail_retract_reason"]
    assert r.description.startswith("RETRACTED") and r.modified >= r.created
    # Both are in the case's STIX report, and the bundle is the same when exported again.
    report = [o for o in bundle.objects if o["type"] == "report"][0]
    assert {s.id for s in sightings.values()} <= set(report.object_refs)
    assert json.loads(build_bundle(repo.case(p, ref), p.agency).serialize(sort_keys=True)) == json.loads(text)


def test_alerts_withheld_above_the_readers_level(case_with_alerts):
    repo, p, ref, *_ = case_with_alerts
    view = repo.case(p, ref).redacted("clear")        # the watch (so its alerts) carry the case's amber
    assert view.alerts == [] and view.withheld.get("alert") == 2
    bundle = parse_bundle(build_bundle(view, p.agency).serialize())
    assert not [o for o in bundle.objects if o["type"] == "sighting"]


def test_report_timeline_lists_alerts_and_the_retraction(case_with_alerts):
    from chaintrail.cases.report import build_report

    repo, p, ref, w, old, new = case_with_alerts
    html = build_report(repo, p, ref, "html").decode()
    section = html.split("Timeline</h2>", 1)[1].split("<h2>", 1)[0]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(.*?)</td></tr>", section)
    texts = [t for _, t in rows]
    live = [t for t in texts if f"Alert {new['id']}:" in t]
    assert len(live) == 1 and TX170 in live[0] and B170 in live[0] and "50.00000000 BTC" in live[0]
    assert f"{SATOSHI} paid" in live[0] and "<s>" not in live[0]
    gone = [t for t in texts if f"Alert {old['id']}:" in t]
    assert len(gone) == 1 and gone[0].startswith("<s>") and "RETRACTED" in gone[0] and B170_ALT in gone[0]
    retraction = [t for t in texts if t.startswith(f"Alert {old['id']} retracted")]
    assert len(retraction) == 1 and "reorganisation" in retraction[0]
    # In time order: the case opened first, the raised alert before its retraction, before the new alert.
    assert texts[0].startswith(f"Case {ref} opened")
    assert texts.index(gone[0]) < texts.index(retraction[0]) < texts.index(live[0])
    assert [w for w, _ in rows] == sorted(w for w, _ in rows)

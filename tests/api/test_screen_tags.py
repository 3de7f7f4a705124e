"""Screening and tags over HTTP: the same answers as the CLI's library calls, and tags added by hand take effect."""

from __future__ import annotations

import json
import shutil

import pytest
from ct_workbench import DEMO_TRACE, serve_store

from chaintrail.analysis.screening import Screener, ScreenParams


def test_screen_equals_the_cli_screener(demo, demo_api):
    got = demo_api.ok("/screen", subject=demo.subject, hops=3)
    sc = Screener.open(demo.store, ScreenParams(hops=3))
    assert got == json.loads(json.dumps(sc.screen(demo.subject).to_dict()))     # tuples arrive as lists
    assert got["in_store"] and got["risk"]["level"] in ("low", "medium", "high", "severe")
    assert any(e["category"] == "exchange" and e["direction"] == "incoming" for e in got["exposures"])


def test_screen_of_things_outside_the_store(demo_api, shared_data):
    ofac = (shared_data / "tags" / "ofac-sdn" / "sanctioned_addresses_XBT.txt").read_text().split()[0]
    r = demo_api.ok("/screen", subject=ofac)
    assert not r["in_store"] and r["risk"]["level"] == "severe"
    assert demo_api.get("/screen", subject="ab" * 32).status_code == 404
    assert demo_api.get("/screen", subject=ofac, hops=99).status_code == 422


@pytest.fixture(params=[0, 1], ids=["in-process", "trace-worker"])
def own_api(demo, tmp_path, request):
    """A server on a copy of the demo store (these tests write tags), tracing in-process or in a worker."""
    store = tmp_path / "store"
    shutil.copytree(demo.store, store)
    with serve_store(store, trace_workers=request.param) as api:
        yield api


def test_a_tag_added_by_hand_changes_risk_and_stops_traces(own_api, demo):
    a = own_api.ok(f"/addresses/{demo.subject}")
    before = own_api.ok("/trace", source=demo.subject, **DEMO_TRACE)
    # An untagged address the laundering passes through: an output of the first tx on the longest path.
    longest = max(before["endpoints"], key=lambda e: len(e["path"]))
    step = own_api.ok("/graph/expand", node=f"t:{longest['path'][1]}")
    via = next(n["address"] for n in step["nodes"] if n["kind"] == "address" and not n["risk"]
               and any(e["source"] == step["nodes"][0]["id"] and e["target"] == n["id"] for e in step["edges"]))
    hop1 = {"address": via}
    assert via not in {e["address"] for e in before["endpoints"]}
    body = {"address": hop1["address"], "label": "Suspect wallet", "category": "ransomware",
            "source": "investigator note", "case": "C-1"}
    r = own_api.http.post("/api/v1/tags", json=body)
    assert r.status_code == 201, r.text
    tags = r.json()["items"]
    assert tags[0]["label"] == "Suspect wallet" and tags[0]["risk_categories"] == ["ransomware"]
    assert "added by workbench" in tags[0]["provenance"] and "case C-1" in tags[0]["provenance"]
    assert own_api.ok(f"/addresses/{hop1['address']}")["risk"] == ["ransomware"]
    after = own_api.ok("/trace", source=demo.subject, max_hops=DEMO_TRACE["max_hops"],
                       stop=DEMO_TRACE["stop"] + ["ransomware"])
    hit = next(e for e in after["endpoints"] if e["address"] == hop1["address"])
    assert hit["kind"] == "tagged" and hit["label"] == "Suspect wallet"
    # Adding the same tag again changes nothing.
    again = own_api.http.post("/api/v1/tags", json=body).json()["items"]
    assert len(again) == len(tags)
    assert a["address"] == demo.subject


def test_bad_tags_are_refused(demo_api):
    r = demo_api.http.post("/api/v1/tags", json={"address": "x", "label": "y", "category": "no-such-category"})
    assert r.status_code == 400 and "unknown category" in r.json()["error"]
    r = demo_api.http.post("/api/v1/tags", json={"address": "", "label": "y"})
    assert r.status_code == 422 and "address" in r.json()["error"]

"""`chaintrail demo`: the generated case is ingested, clustered and tagged, and a trace finds its answer key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ct_workbench import DEMO_TRACE

from chaintrail.api import demo_case
from chaintrail.api.demo_case import MAINNET_SUBJECT, build_demo, pick_case
from chaintrail.store.chainstore import ChainStore


@pytest.fixture(scope="module")
def key(demo) -> dict:
    return json.loads(Path(demo.answer_key).read_text())


def test_store_holds_the_generated_chain(demo, key):
    assert demo.source == "scenario" and Path(demo.store, "MANIFEST.json").exists()
    with ChainStore(demo.store) as st:
        c = st.counts
        assert st.network == "regtest"
    t = key["totals"]
    assert (c["blocks"], c["txs"], c["outputs"]) == (t["blocks"], t["txs"], t["outputs"])
    assert c["inputs"] == t["inputs"] + t["coinbase_inputs"]
    saved = json.loads((Path(demo.store).parent / "demo.json").read_text())
    assert saved["subject"] == demo.subject and saved["case_id"] == demo.case_id


def test_tags_are_the_scenario_services_and_the_real_ofac_list(demo, demo_api, shared_data, key):
    sources = {Path(s["origin_file"]).name: s for s in demo_api.ok("/tags/sources")}
    ofac = shared_data / "tags" / "ofac-sdn" / "sanctioned_addresses_XBT.txt"
    ofac_lines = [x for x in ofac.read_text().split() if x.strip()]
    assert sources[ofac.name]["kind"] == "ofac" and sources[ofac.name]["tags"] == len(ofac_lines)
    # The services as an investigator has them (scenario.attribution, realistic coverage): hot wallets and
    # part of the deposit addresses, fewer than the answer key's every address.
    from chaintrail.scenario.attribution import REALISTIC, service_addresses

    known = {e["name"]: [a for a, _ in addrs] for e, addrs in service_addresses(Path(demo.answer_key).parent, REALISTIC)}
    services = [e for e in key["entities"] if e["kind"] in ("exchange", "p2p_trader", "mixer", "gambling")]
    assert sources["scenario-services.csv"]["tags"] == sum(map(len, known.values()))
    assert sum(map(len, known.values())) < sum(len(e["addresses"]) for e in services)
    sanctioned = demo_api.ok("/tags", address=ofac_lines[0])
    assert not sanctioned["in_store"] and sanctioned["items"][0]["risk_categories"] == ["sanctioned"]
    alpha = known["Exchange Alpha"]
    tags = demo_api.ok("/tags", address=alpha[0])
    assert tags["in_store"] and tags["items"][0]["label"] == "Exchange Alpha"
    assert "scenario-services.csv line" in tags["items"][0]["provenance"]
    found = demo_api.ok("/tags/search", q="exchange alpha", limit=500)["items"]
    assert {t["address"] for t in found} == set(alpha)


def test_trace_of_the_ransom_wallet_finds_the_answer_key(demo, demo_api, key):
    case, expected = pick_case(demo_api.app.state.wb.view, key)
    assert case["id"] == demo.case_id and len({e["exchange"] for e in expected}) >= 2
    a = demo_api.ok(f"/addresses/{demo.subject}")
    members = [m["address"] for m in demo_api.ok(f"/entities/{a['cluster']}/members")["items"]]
    assert sorted(members) == sorted(p["address"] for p in case["victim_payments"])
    r = demo_api.ok("/trace", source=f"cluster:{a['cluster']}", **DEMO_TRACE)
    assert r["totals"]["traced_sat"] == case["source_total_sat"]
    got = {e["address"]: e for e in r["endpoints"] if e["kind"] == "tagged"}
    for e in expected:
        assert got[e["address"]]["amount_sat"] == e["amount_sat"], e
        assert got[e["address"]]["label"] == e["exchange"]
        assert got[e["address"]]["risk"] == ["exchange"]
    t = r["totals"]
    assert t["traced_sat"] == t["to_endpoints_sat"] + t["fees_sat"] + t["unspent_sat"] + t["below_threshold_sat"] \
        + t["stopped_sat"]


def test_demixing_trace_of_the_ransom_wallet_finds_every_cash_out(demo, demo_api, key):
    """The guided trace demixes: the cash-outs behind the chip mixer come out at the key's amounts too."""
    from chaintrail.api.demo_case import traceable_cash_outs

    view = demo_api.app.state.wb.view
    case, direct = pick_case(view, key)
    every = traceable_cash_outs(view, case, through_mixer=True)
    assert sum(e["amount_sat"] for e in every) > sum(e["amount_sat"] for e in direct)
    a = demo_api.ok(f"/addresses/{demo.subject}")
    r = demo_api.ok("/trace", source=f"cluster:{a['cluster']}", **{**DEMO_TRACE, "mixer_policy": "demix"})
    got = {e["address"]: e["amount_sat"] for e in r["endpoints"] if e["kind"] == "tagged"}
    unspent = {e["address"]: e["amount_sat"] for e in r["endpoints"] if e["kind"] == "unspent" and not e["tags"]}
    # With realistic tags a deposit address that is neither tagged nor swept yet is not known as the
    # exchange's: the trace leaves its coins there, unspent, at the key's amount.
    want = {e["address"]: e["amount_sat"] for e in every}
    assert want.items() <= (got | unspent).items()
    assert len(want.keys() & got.keys()) == 2 and len(want.keys() & unspent.keys()) == 1
    step = demo_api.ok("/meta")["case"]["steps"][1]
    assert step["action"] == "trace" and step["mixer_policy"] == "demix"


def test_guided_steps_name_the_ransom_address(demo, demo_api):
    meta = demo_api.ok("/meta")
    assert meta["case"]["subject"] == demo.subject and meta["features"]["tags"]
    steps = meta["case"]["steps"]
    assert [s["action"] for s in steps] == ["search", "trace", "endpoints"]
    assert demo.subject in steps[0]["text"] and steps[0]["arg"] == demo.subject


def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path):
    from chaintrail.errors import UsageError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="not a chaintrail demo folder"):
        build_demo(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_without_the_generator_the_demo_uses_real_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_case, "_generator", lambda: None)
    case = build_demo(tmp_path / "d")
    assert case.source == "mainnet" and case.subject == MAINNET_SUBJECT and case.answer_key is None
    from chaintrail.api.workbench import Workbench

    wb = Workbench(case.store)
    try:
        a = wb.view.addr_num(MAINNET_SUBJECT)
        assert a is not None and int(wb.view.addr_received[a]) > 50 * 10**8
        assert wb.tags.n_tags > 0                      # the OFAC list
    finally:
        wb.close()

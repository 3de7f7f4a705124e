"""The court report of an Ethereum-only case (issue 21): Section 4.1 names the Ethereum blockchain; a trace through
Tornado Cash carries the rates of the leads it rested on and shows, per tainted deposit, the lead (heuristic,
measured precision, chance-match rate, 'a lead, not proof'); bridge crossings are shown with their events and
nonce, in the findings and in the methodology."""

from __future__ import annotations

import re

import pytest
from eth_inv_served import prepared_store

from chaintrail.store.chainstore import ChainStore


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    from chaintrail.cases.eth_findings import eth_trace_finding, eth_trace_params
    from chaintrail.cases.repository import CaseRepository

    store, key = prepared_store(tmp_path_factory)
    found = {}
    with ChainStore(store) as st:
        for case in key["cases"]:
            for src in case["sources"]:
                f = eth_trace_finding(st, src["tx"], eth_trace_params(until_exchange=True), until_exchange=True)
                for part in ("demix", "bridges"):
                    if f["result"].get(part) and part not in found:
                        found[part] = f
    assert set(found) == {"demix", "bridges"}, "the scenario's traces enter no Tornado pool or no bridge"
    repo = CaseRepository.open(tmp_path_factory.mktemp("eth-report") / "cases.sqlite")
    p = repo.bootstrap("NCA", "alice")[0]
    ref = repo.create_case(p, "Sanctions evasion", "Through Tornado and a bridge", "amber")["ref"]
    for f in {id(f): f for f in found.values()}.values():
        repo.add_finding(p, ref, f)
    yield found, repo, p, ref
    repo.close()


def test_tornado_rates_are_attached_when_a_trace_goes_through_a_pool(traced) -> None:
    from chaintrail.analysis.eth.trace import LEAD_HEURISTICS

    f = traced[0]["demix"]
    used = {d["lead"]["heuristic"] for d in f["result"]["demix"] if d.get("lead")}
    assert used, "no tainted deposit has a lead"
    rates = f["error_rates"]
    assert {f"eth:tornado:{h}" for h in LEAD_HEURISTICS} <= set(rates)      # every lead the policy could pair by
    for h in used:
        figs = rates[f"eth:tornado:{h}"]["figures"]
        assert any(x.get("chance_match_rate") is not None for x in figs.values()), h


def test_report_names_the_chain_and_shows_leads_and_bridge_crossings(traced) -> None:
    from chaintrail.cases.report import build_report

    found, repo, p, ref = traced
    html = build_report(repo, p, ref, fmt="html").decode()
    data = html.split("<h3>4.1 Data</h3>")[1].split("</p>")[0]
    assert "the Ethereum blockchain" in data and "Bitcoin" not in data
    f = found["demix"]
    assert "Tornado Cash deposits the trace entered" in html and "a lead, not proof" in html
    assert "Tornado deposits the trace entered." in html                      # the method, in Section 4.5
    assert f"policy &#x27;{f['params']['mixer_policy']}&#x27;" in html
    for d in f["result"]["demix"]:
        row = html.split(d["deposit_tx"])[1].split("</tr>")[0]
        if d.get("lead"):
            assert d["withdrawal_tx"] in row and d["lead"]["heuristic"] in row
            assert f"{100 * d['lead']['precision']:.1f}%" in row and f"{100 * d['lead']['chance_match_rate']:.1f}%" in row
        else:
            assert "no lead" in row
    n_leads = sum(1 for d in f["result"]["demix"] if d.get("lead"))
    assert re.search(rf"for {n_leads} deposits? a linking heuristic proposes the withdrawal", html)
    b = found["bridges"]["result"]["bridges"][0]
    assert "Bridge crossings" in html and "Bridge crossings. Each crossing is reported with both of its events" in html
    row = html.split("<h3>Bridge crossings</h3>")[1].split("</table>")[0]
    assert b["tx_hash"] in row and b["block_hash"] in row and f">{b['nonce']}<" in row and b["event"] in row
    assert f"nonce {b['nonce']}, to chain {b['dst_chain_id']}" in html


def test_a_followed_crossing_shows_both_events() -> None:
    from chaintrail.cases.eth_report import bridges_table

    leg = {"event": "Locked", "chain_id": 31337, "tx_hash": "0x" + "a1" * 32, "block_number": 7,
           "block_hash": "0x" + "b1" * 32, "log_index": 3, "nonce": 42, "asset": "ETH", "tainted": "5", "amount": "9",
           "dst_chain_id": 31338}
    far = {"event": "Minted", "chain_id": 31338, "tx_hash": "0x" + "c1" * 32, "block_number": 11,
           "block_hash": "0x" + "d1" * 32, "log_index": 0}
    html = bridges_table({"result": {"bridges": [{**leg, "followed": True, "to": far}]}})
    for v in (leg["tx_hash"], leg["block_hash"], far["tx_hash"], far["block_hash"], "Locked on chain 31337",
              "Minted on chain 31338", ">42<"):
        assert v in html
    assert "not followed" in bridges_table({"result": {"bridges": [leg]}})

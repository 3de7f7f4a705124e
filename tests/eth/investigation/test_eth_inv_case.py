"""Ethereum case files (issue 21): findings from traces and Tornado leads with block hashes, parameters and a
reproducible hash; the court report's Ethereum methodology and records requests; STIX 2.1 and FtM exports that
parse and validate, with CryptoWallet currencies and Payments in token units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_inv_served import cli, prepared_store

from chaintrail.analysis.eth.trace import EthTraceParams
from chaintrail.store.chainstore import ChainStore

PARAMS = EthTraceParams(max_hops=1000, stop_categories=("exchange", "gambling", "merchant", "mixer",
                                                          "payment_processor"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from chaintrail.cases.eth_findings import eth_leads_finding, eth_trace_finding
    from chaintrail.cases.repository import CaseRepository

    store, key = prepared_store(tmp_path_factory)
    case = next(c for c in key["cases"] if c["kind"] == "defi_exploit")
    src = case["sources"][0]
    with ChainStore(store) as st:
        f = eth_trace_finding(st, src["tx"], PARAMS, until_exchange=True)
        dep = cli("tornado", "leads", "--store", str(store))["leads"][0]["deposit_tx"]
        leads = eth_leads_finding(st, deposit=dep)
    repo = CaseRepository.open(tmp_path_factory.mktemp("eth-case") / "cases.sqlite")
    p = repo.bootstrap("NCA", "alice")[0]
    ref = repo.create_case(p, "DeFi exploit proceeds", "Where did the stolen tokens go?", "amber")["ref"]
    repo.add_finding(p, ref, f)
    repo.add_finding(p, ref, leads)
    yield store, key, src, f, leads, repo, p, ref
    repo.close()


def test_trace_finding_records_blocks_params_and_reproduces(world) -> None:
    from chaintrail.cases.eth_findings import eth_trace_finding
    from chaintrail.cases.findings import rerun

    store, _, src, f, leads, repo, p, ref = world
    want = cli("trace", "--chain", "eth", "--from", src["tx"], "--until-exchange", "--store", str(store))
    assert f["result"]["trace_hash"] == want["trace_hash"] and f["params"] == want["params"]
    assert f["spec"] == {"source": src["tx"], "chain": "eth", "until_exchange": True}
    steps = {s["tx_hash"]: s["block_hash"] for s in want["steps"]}
    assert f["block_hashes"] == list(dict.fromkeys(steps.values()))
    got = cli("sql", "--chain", "eth", "--store", str(store),
              f"SELECT b.hash FROM transactions t JOIN blocks b ON b.number = t.block_number WHERE t.hash = '{src['tx']}'")
    assert got[0]["hash"] == steps[src["tx"]]
    assert f["result"]["source_account"] == src["to"]     # the tx source's sender holds the stolen funds
    with ChainStore(store) as st:
        assert eth_trace_finding(st, src["tx"], PARAMS, until_exchange=True)["finding_hash"] == f["finding_hash"]
        stored = next(x for x in repo.case(p, ref).findings if x["kind"] == "eth_trace")
        r = rerun(st, stored)
        assert r.reproduced and r.same_store and r.new_hash == f["finding_hash"]
        other = eth_trace_finding(st, src["tx"], EthTraceParams(max_hops=2), until_exchange=False)
        assert other["finding_hash"] != f["finding_hash"]
        assert rerun(st, next(x for x in repo.case(p, ref).findings if x["kind"] == "eth_leads")).reproduced
    assert f["versions"]["inputs"]["eth_conversions"] and f["versions"]["inputs"]["eth_deposit_addresses"]
    assert "not proof" in leads["result"]["note"] and leads["error_rates"]
    assert all(k.startswith("eth:tornado:") for k in leads["error_rates"])


def test_records_request_lists_assets_and_token_contracts_per_exchange(world) -> None:
    from chaintrail.cases.exchange_records import eth_records_requests

    _, _, src, f, _, _, _, _ = world
    reqs = eth_records_requests([f])
    by = {q["service"]: q for q in reqs}
    for q in f["result"]["requests"]:
        got = by[q["service"]]
        assert {a["asset"]: a["amount"] for a in got["assets"]} == q["assets"]
        assert [c["address"] for c in got["token_contracts"]] == sorted(q["token_contracts"])
        assert len(got["deposit_addresses"]) == len(q["deposits"])
    tokens = {c["address"]: c["symbol"] for q in reqs for c in q["token_contracts"]}
    assert src["asset"] in tokens and tokens[src["asset"]]      # the stolen token, named by its symbol


def test_report_states_eth_methodology_rates_and_requests(world) -> None:
    from chaintrail.cases.report import build_report

    _, _, src, f, leads, repo, p, ref = world
    html = build_report(repo, p, ref, fmt="html").decode()
    assert "4.5 Ethereum" in html and "executed" in html and "message id or nonce" in html
    assert "a lead, not proof" in html.lower() and "chance-match rate" in html
    assert "eth:deposit-forwarding" in html and "deposits-1" in html
    assert "Records requests per service" in html and src["asset"] in html
    assert f["finding_hash"] in html and leads["finding_hash"] in html
    for h in f["block_hashes"][:5]:
        assert h in html


def test_stix_and_ftm_exports_validate(world) -> None:
    from followthemoney import model

    from chaintrail.cases.ftm_export import build_entities, parse_jsonl, to_jsonl
    from chaintrail.cases.stix_export import build_bundle, parse_bundle

    _, _, src, f, _, repo, p, ref = world
    view = repo.case(p, ref)
    bundle = parse_bundle(build_bundle(view, "NCA").serialize())
    wallets = {o.value for o in bundle.objects if o.type == "cryptocurrency-wallet"}
    ends = {e["address"] for e in f["result"]["endpoints"] if e["address"]}
    assert src["to"] in wallets and ends & wallets
    rels = [o for o in bundle.objects if o.type == "relationship" and "Traced transfer on Ethereum" in
            o.get("description", "")]
    assert rels and all(f["finding_hash"] in r.description for r in rels)
    text = to_jsonl(build_entities(view, "NCA"))
    ents = parse_jsonl(text)
    for e in ents:
        model.get_proxy(e.to_dict(), cleaned=False)        # every property known to its schema
        assert not e.schema.abstract
    info = f["result"]["asset_info"]
    sym = info[src["asset"]]["symbol"]
    w = {e.first("publicKey"): e for e in ents if e.schema.name == "CryptoWallet"}
    assert w[src["to"]].first("blockchain") == "Ethereum" and sym in w[src["to"]].get("currency")
    pays = [e for e in ents if e.schema.name == "Payment"]
    assert {x.first("currency") for x in pays} >= {sym}
    # Payments in the stolen token add up, in its units, to what the trace puts at endpoints with an address.
    dec = info[src["asset"]]["decimals"]
    want = sum(int(e["amount"]) for e in f["result"]["endpoints"] if e["asset"] == src["asset"] and e["address"]
               and e["kind"] in ("tagged", "deposit_address", "unspent", "bridged", "stopped_max_hops",
                                 "stopped_mixer"))
    paid = sum(Decimal(x.first("amount")) for x in pays if x.first("currency") == sym)
    assert paid.scaleb(dec) == want > 0


def test_records_requests_include_the_far_chain_of_a_bridged_trace() -> None:
    """A trace that crossed a bridge reached services on both chains: each chain's are requested under its id
    (ETH on chain B is another asset than on chain A), and the report names the chain."""
    from chaintrail.cases.eth_report import records_requests_html
    from chaintrail.cases.exchange_records import eth_records_requests

    dep = {"address": "0x" + "11" * 20, "asset": "ETH", "amount": "5", "kind": "deposit_address", "txs": ["0x" + "aa" * 32]}
    far_dep = {**dep, "address": "0x" + "22" * 20, "amount": "7"}
    f = {"kind": "eth_trace", "finding_hash": "h1", "result": {
        "chain_id": 31337, "requests": [{"service": "Alpha", "assets": {"ETH": "5"}, "token_contracts": [],
                                         "deposits": [dep]}],
        "other_chain": {"chain_id": 31338, "requests": [{"service": "Alpha", "assets": {"ETH": "7"},
                                                         "token_contracts": [], "deposits": [far_dep]}]}}}
    reqs = eth_records_requests([f])
    assert [(q["service"], q["chain_id"], q["assets"][0]["amount"]) for q in reqs] == [("Alpha", 31337, "5"),
                                                                                       ("Alpha", 31338, "7")]
    assert reqs[1]["deposit_addresses"][0]["address"] == far_dep["address"]
    html = records_requests_html([f])
    assert "on chain 31338" in html and far_dep["address"] in html

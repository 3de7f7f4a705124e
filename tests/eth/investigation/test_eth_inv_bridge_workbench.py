"""A trace across a bridge in the workbench API and the case file (issue 21): served with the far chain's store
(`serve --other-store`), /eth/trace gives the CLI's `trace --other-store` result (same hash, the far chain's
endpoints) and a graph whose bridge hops join the two chains, one edge per crossing with its nonce and both
events; an eth_trace finding across it holds both chains' block hashes, the other store's identity, reruns to
the same hash (and says what it needs without the other store), and the report describes the hop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chaintrail.store.chainstore import ChainStore

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
TOKEN = "eth-bridge-wb-token-0123456789"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from anvil_needed import need_anvil

    from chaintrail.api.demo_eth_case import build_eth_demo

    need_anvil()
    return build_eth_demo(tmp_path_factory.mktemp("bridge-wb") / "demo", seed=7, scale=2)


@pytest.fixture(scope="module")
def cli_trace(demo):
    r = subprocess.run([*CLI, "trace", "--chain", "eth", "--from", demo["start"]["tx"], "--until-exchange",
                        "--other-store", demo["store_b"], "--store", demo["store"], "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [b for b in d["bridges"] if b["followed"]], "the demo's trace follows no crossing"
    return d


@pytest.fixture(scope="module")
def api(demo):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.repository import CaseRepository

    app = create_app(demo["store"], token=TOKEN, other_store=demo["store_b"])
    repo = CaseRepository.open(Path(demo["store"]).parent / "bridge-cases.sqlite")
    p = repo.bootstrap("NCA", "alice")[1]
    app.state.cases = repo
    with ServerThread(app) as url:
        c = httpx.Client(base_url=url + "/api/v1", timeout=300,
                         headers={"Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": p})
        yield c
        c.close()
    repo.close()


def test_api_trace_follows_the_bridge_as_the_cli_and_draws_each_crossing(demo, cli_trace, api) -> None:
    r = api.get("/eth/trace", params={"source": demo["start"]["tx"], "until_exchange": True, "graph": True})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["trace_hash"] == cli_trace["trace_hash"]
    assert (b["chain_id"], b["other_chain"]["chain_id"]) == (31337, 31338)
    assert b["bridges"] == cli_trace["bridges"]
    assert b["other_chain"]["endpoints"] == cli_trace["other_chain"]["endpoints"]
    assert b["other_chain"]["totals"] == cli_trace["other_chain"]["totals"]
    g = b["graph"]
    followed = [s for s in cli_trace["bridges"] if s["followed"]]
    hops = {e["nonce"]: e for e in g["edges"] if e["kind"] == "bridge"}
    assert set(hops) == {s["nonce"] for s in followed}
    nodes = {n["id"]: n for n in g["nodes"]}
    for s in followed:
        e = hops[s["nonce"]]
        # from the bridge contract on chain A to the recipient's node on chain B, carrying the leg's taint
        assert (e["source"], e["target"]) == (s["contract"], f"31338:{s['to']['recipient']}")
        assert e["amount"] == s["tainted"] and e["txs"] == [s["tx_hash"], s["to"]["tx_hash"]]
        assert e["block_hashes"] == [s["block_hash"], s["to"]["block_hash"]]
        assert f"nonce {s['nonce']}" in e["evidence"] and s["to"]["tx_hash"] in e["evidence"]
        far = nodes[e["target"]]
        assert far["chain_id"] == 31338 and far["far"] and far["address"] == s["to"]["recipient"]
        assert nodes[s["contract"]]["chain_id"] == 31337
    # every far endpoint is on the canvas in the far chain's asset naming; no "far chain, not followed" node
    far_ends = {(e["address"], f"31338:{e['asset']}" if e["asset"] != "ETH" else "ETH", e["amount"])
                for e in cli_trace["other_chain"]["endpoints"] if e["address"]}
    drawn = {(n["address"], x["asset"], x["amount"]) for n in g["nodes"] if n.get("far") for x in n["endpoints"]}
    assert far_ends <= drawn
    assert not [n for n in g["nodes"] if n["kind"] == "chain"]
    assert all(a in g["assets"] for a in {x[1] for x in far_ends})
    spec = httpx.get(str(api.base_url).removesuffix("/api/v1/").removesuffix("/api/v1") + "/openapi.json").json()
    props = spec["components"]["schemas"]["EthTraceResponse"]["properties"]
    assert {"other_chain", "bridges", "chain_id"} <= set(props)


def test_case_finding_across_the_bridge_reruns_and_reports_the_hop(demo, cli_trace, api) -> None:
    from chaintrail.cases.eth_findings import eth_trace_finding, eth_trace_params
    from chaintrail.cases.findings import rerun
    from chaintrail.errors import UsageError

    ref = api.post("/cases", json={"title": "DeFi exploit", "summary": "across the bridge", "tlp": "amber"}).json()["ref"]
    r = api.post(f"/cases/{ref}/findings", json={"kind": "eth_trace", "source": demo["start"]["tx"],
                                                 "until_exchange": True})
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["result"]["trace_hash"] == cli_trace["trace_hash"]
    here = list(dict.fromkeys(s["block_hash"] for s in cli_trace["steps"]))
    there = list(dict.fromkeys(s["block_hash"] for s in cli_trace["other_chain"]["steps"]))
    assert there and f["block_hashes"] == here + [h for h in there if h not in here]
    assert f["result"]["other_chain"]["block_hashes"] == there
    with ChainStore(demo["store"]) as a, ChainStore(demo["store_b"]) as b:
        who = f["params"]["other_store"]
        n = b.counts["eth_blocks"]
        assert who == {"chain_id": 31338, "tip_block": b.manifest["eth"]["first_block"] + n - 1,
                       "tip_hash": "0x" + bytes(b.column("eth_blk_hash")[n - 1]).hex(), "store_hash": b.content_hash()}
        # the library gives the same finding; a rerun reproduces it; without the far store it says what it needs
        lib = eth_trace_finding(a, demo["start"]["tx"], eth_trace_params(until_exchange=True), f["title"], True, b)
        assert lib["finding_hash"] == f["finding_hash"]
        assert rerun(a, f, b).reproduced
        with pytest.raises(UsageError, match="onto chain 31338"):
            rerun(a, f)
        with pytest.raises(UsageError, match="holds chain 31337, not chain 31338"):
            rerun(a, f, a)
    assert api.post(f"/cases/{ref}/findings/{f['id']}/rerun").json()["reproduced"]
    html = api.get(f"/cases/{ref}/report", params={"format": "html"}).text
    for s in (x for x in cli_trace["bridges"] if x["followed"]):
        assert s["tx_hash"] in html and s["to"]["tx_hash"] in html and s["to"]["block_hash"] in html
    assert "On chain 31338, the bridge&#x27;s far chain" in html or "On chain 31338, the bridge's far chain" in html
    assert "Endpoints on chain 31338" in html and who["store_hash"] in html
    for e in cli_trace["other_chain"]["endpoints"]:
        assert e["address"] in html
    assert "crossed the bridge (followed on chain 31338)" in html


def test_ethereum_exchange_records_read_in_their_assets_and_reconcile_per_asset(demo, cli_trace, api) -> None:
    """Section 5 words an Ethereum reply in ETH/token units ("received at the account"), never in BTC or
    outputs/inputs, and reconciles it per asset with the Ethereum trace's endpoints."""
    deposits = [d for q in cli_trace["requests"] for d in q["deposits"]]
    assert deposits, "the trace reaches no exchange deposit address"
    with ChainStore(demo["store"]) as st:
        from chaintrail.store.sql import query
        rows = []
        for d in deposits:
            got = query(st, "SELECT transaction_hash AS tx, amount FROM value_flows WHERE to_address = $a AND "
                            "asset = 'ETH' AND kind IN ('tx_value', 'internal') ORDER BY block_number, flow_index",
                        {"a": d["address"]}, chain="eth").to_pylist()
            rows += [(r["tx"], d["address"], int(r["amount"])) for r in got]
    csv = "transaction_hash,address,asset,amount_base_units,type,date,entity_name\n" + "".join(
        f"{tx},{a},ETH,{amt},deposit,2026-01-01,Mallory\n" for tx, a, amt in rows)
    ref = api.post("/cases", json={"title": "records", "summary": "eth records", "tlp": "amber"}).json()["ref"]
    assert api.post(f"/cases/{ref}/findings", json={"kind": "eth_trace", "source": demo["start"]["tx"],
                                                    "until_exchange": True}).status_code == 201
    r = api.post(f"/cases/{ref}/attachments", params={"filename": "exchange-reply.csv", "kind": "exchange_records",
                                                     "chain": "eth"}, content=csv.encode())
    assert r.status_code == 201, r.text
    html = api.get(f"/cases/{ref}/report", params={"format": "html"}).text
    sec5 = html[html.index("Exchange records received under legal process"):html.index("Data provenance")]
    assert "BTC" not in sec5 and "output" not in sec5 and "input" not in sec5
    assert "received at the account in that transaction" in sec5
    total = sum(amt for _, _, amt in rows)
    from chaintrail.cases.eth_report import units
    assert units(total, {"symbol": "ETH", "decimals": 18}) in sec5          # the records' total in ETH
    # per asset: what the records show received at the deposit accounts the trace reached, against the trace
    received = sum(amt for _, a, amt in rows)
    traced = sum(int(d["amount"]) for d in deposits)
    words = "agree exactly." if received == traced else "differ by"
    assert f"records show {units(received, {'symbol': 'ETH', 'decimals': 18})} received at the account" in sec5
    assert f"attributes {units(traced, {'symbol': 'ETH', 'decimals': 18})} of the traced funds" in sec5
    assert words in sec5
    summary = html[:html.index("Exchange records received under legal process")]
    assert "Corroboration." in summary and "BTC received" not in summary


def test_trace_csv_lists_both_chains_endpoints_with_their_chain_id(demo, cli_trace, api, tmp_path) -> None:
    """/eth/trace?format=csv and `trace --csv` across the bridge: the traced chain's endpoints, then the far chain's
    (the page's and the JSON's), each row's chain in a chain_id column added last; the far rows carry their fiat."""
    import csv
    import io

    from chaintrail.api.eth_csv import TRACE_COLUMNS

    r = api.get("/eth/trace", params={"source": demo["start"]["tx"], "until_exchange": True, "format": "csv"})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.text.splitlines()[0].split(",") == [*TRACE_COLUMNS, "missing", "chain_id"]

    def ends(d: dict) -> list[tuple]:
        return [(e["kind"], e.get("address") or "", e["asset"], e["amount"],
                 "" if (e.get("fiat") or {}).get("usd") is None else f"{e['fiat']['usd']:.2f}") for e in d["endpoints"]]

    def got(chain: str) -> list[tuple]:
        return [(x["kind"], x["address"], x["asset"], x["amount_base"], x["value_usd"]) for x in rows
                if x["chain_id"] == chain]

    far = cli_trace["other_chain"]
    assert far["endpoints"] and {x["chain_id"] for x in rows} == {"31337", "31338"}
    assert got("31337") == ends(cli_trace) and got("31338") == ends(far)
    assert len(rows) == len(cli_trace["endpoints"]) + len(far["endpoints"])
    assert any(v for *_, v in got("31338")), "no far endpoint is valued: nothing checks their fiat"
    out = tmp_path / "trace.csv"
    c = subprocess.run([*CLI, "trace", "--chain", "eth", "--from", demo["start"]["tx"], "--until-exchange",
                        "--other-store", demo["store_b"], "--store", demo["store"], "--csv", str(out), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert c.returncode == 0, c.stderr
    assert out.read_text() == r.text

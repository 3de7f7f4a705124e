"""Ethereum findings from the CLI and the REST API (issue 21): `chaintrail case finding trace --chain eth` and
`case finding leads`, and `POST /cases/{ref}/findings` with kinds eth_trace/eth_leads, give the same finding (hash,
params, block hashes) as the library, reproduce by rerun, and keep the Bitcoin findings' rules: a user token, the
case visible to the caller's agency (404 otherwise, logged as denied), a role that may write (403), every step in
the audit log."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest
from eth_inv_served import CLI, TOKEN, cli, prepared_store

from chaintrail.store.chainstore import ChainStore


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from chaintrail.cases.eth_findings import eth_leads_finding, eth_trace_finding, eth_trace_params

    store, key = prepared_store(tmp_path_factory)
    src = next(c for c in key["cases"] if c["kind"] == "defi_exploit")["sources"][0]
    dep = cli("tornado", "leads", "--store", str(store))["leads"][0]["deposit_tx"]
    with ChainStore(store) as st:
        want = eth_trace_finding(st, src["tx"], eth_trace_params(until_exchange=True), until_exchange=True)
        want_leads = eth_leads_finding(st, deposit=dep)
    return store, src, dep, want, want_leads


def _case(store, *args, db, ok=0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINTRAIL_USER")}
    r = subprocess.run([*CLI, "case", *args, "--store", str(store), "--db", str(db), "--json"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == ok, r.stderr
    return json.loads(r.stdout) if ok == 0 else r.stderr


def test_cli_saves_eth_trace_and_leads_findings_that_rerun(prepared, tmp_path) -> None:
    store, src, dep, want, want_leads = prepared
    db = tmp_path / "cases.sqlite"
    ref = _case(store, "new", "DeFi exploit", db=db)["ref"]
    saved = _case(store, "finding", "trace", ref, "--chain", "eth", "--from", src["tx"], "--until-exchange", db=db)
    assert saved["finding_hash"] == want["finding_hash"]
    leads = _case(store, "finding", "leads", ref, "--deposit", dep.upper().replace("0X", "0x"), db=db)
    assert leads["finding_hash"] == want_leads["finding_hash"]
    view = _case(store, "show", ref, db=db)
    f = {x["kind"]: x for x in view["findings"]}
    trace = cli("trace", "--chain", "eth", "--from", src["tx"], "--until-exchange", "--store", str(store))
    assert f["eth_trace"]["result"]["trace_hash"] == trace["trace_hash"]
    assert f["eth_trace"]["result"]["requests"] == trace["requests"]
    assert f["eth_trace"]["block_hashes"] == list(dict.fromkeys(s["block_hash"] for s in trace["steps"]))
    assert f["eth_leads"]["spec"]["deposit"] == dep
    for fid in (f["eth_trace"]["id"], f["eth_leads"]["id"]):
        assert _case(store, "finding", "rerun", ref, str(fid), db=db)["reproduced"]
    # Ethereum parameters change the finding; bad input is one line, exit 5, and nothing is saved.
    other = _case(store, "finding", "trace", ref, "--chain", "eth", "--from", src["tx"], "--max-hops", "2", db=db)
    assert other["finding_hash"] != want["finding_hash"]
    for bad, words in [(["finding", "leads", ref, "--deposit", "0x12"], "deposit transaction must be 0x and 64"),
                       (["finding", "trace", ref, "--chain", "eth", "--from", src["tx"], "--mixer", "coinjoin"],
                        "mixer policy must be one of"),
                       (["finding", "trace", ref, "--chain", "eth", "--from", src["tx"], "--tornado-heuristics",
                         "astrology"], "unknown Tornado heuristic"),
                       (["finding", "trace", ref, "--from", src["tx"], "--until-exchange"], "are for --chain eth")]:
        err = _case(store, *bad, db=db, ok=5)
        assert words in err and len(err.strip().splitlines()) == 1
    assert len(_case(store, "show", ref, db=db)["findings"]) == 3


@pytest.fixture(scope="module")
def team(prepared, tmp_path_factory):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.repository import CaseRepository

    store = prepared[0]
    repo = CaseRepository.open(tmp_path_factory.mktemp("eth-team") / "cases.sqlite")
    root, _ = repo.bootstrap("NCA", "root")
    repo.add_agency(root.username, "BKA")
    tokens = {}
    for user, agency, role in [("carol", "BKA", "admin"), ("alice", "NCA", "investigator"),
                               ("dave", "NCA", "viewer"), ("bob", "BKA", "investigator")]:
        actor = repo.principal("carol") if agency == "BKA" and user != "carol" else root
        tokens[user] = repo.add_user(actor, user, agency, role)[1]
    ref = repo.create_case(repo.principal("alice"), "DeFi exploit", "Where did the tokens go?", "amber")["ref"]
    app = create_app(store, token=TOKEN)
    app.state.cases = repo
    with ServerThread(app) as url:
        clients = {u: httpx.Client(base_url=url + "/api/v1", timeout=300, headers={
            "Authorization": f"Bearer {TOKEN}", **({"X-Chaintrail-User-Token": t} if t else {})})
            for u, t in {**tokens, "nobody": None}.items()}
        try:
            yield repo, clients, ref
        finally:
            for c in clients.values():
                c.close()
    repo.close()


def test_api_saves_eth_findings_under_the_case_rules(prepared, team) -> None:
    from chaintrail.cases.audit import entries

    _, src, dep, want, want_leads = prepared
    repo, c, ref = team
    body = {"kind": "eth_trace", "source": src["tx"], "until_exchange": True}
    with repo.db.read() as conn:
        before = len(entries(conn))
    assert c["nobody"].post(f"/cases/{ref}/findings", json=body).status_code == 401
    r = c["bob"].post(f"/cases/{ref}/findings", json=body)             # another agency: no such case
    assert r.status_code == 404 and r.json() == {"error": f"no case {ref}"}
    assert c["dave"].post(f"/cases/{ref}/findings", json=body).status_code == 403     # a viewer may not write
    r = c["alice"].post(f"/cases/{ref}/findings", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["finding_hash"] == want["finding_hash"] and r.json()["kind"] == "eth_trace"
    r = c["alice"].post(f"/cases/{ref}/findings", json={"kind": "eth_leads", "deposit": dep})
    assert r.status_code == 201 and r.json()["finding_hash"] == want_leads["finding_hash"]
    for bad in [{"kind": "eth_leads", "deposit": "0xnothex"}, {"kind": "eth_trace"},
                {"kind": "eth_trace", "source": src["tx"], "mixer_policy": "leads", "lead_heuristics": "astrology"},
                {"kind": "trace", "source": src["tx"], "mixer_policy": "leads"}]:
        r = c["alice"].post(f"/cases/{ref}/findings", json=bad)
        assert r.status_code == 400 and r.json()["error"], (bad, r.text)
    assert c["alice"].post(f"/cases/{ref}/findings", json={**body, "asset": "BTC"}).status_code == 422
    found = c["alice"].get(f"/cases/{ref}/findings").json()
    assert sorted(f["kind"] for f in found) == ["eth_leads", "eth_trace"]
    fid = next(f["id"] for f in found if f["kind"] == "eth_trace")
    assert c["alice"].post(f"/cases/{ref}/findings/{fid}/rerun").json()["reproduced"]
    with repo.db.read() as conn:
        new = [e for e in entries(conn)[before:] if e.case_ref == ref]
    denied = [e for e in new if e.outcome == "denied"]
    assert {(e.actor, e.action) for e in denied} >= {("bob", "finding.request"), ("dave", "finding.add")}
    adds = [e for e in new if e.action == "finding.add" and e.outcome == "ok"]
    assert [(e.actor, json.loads(e.detail)["kind"]) for e in adds] == [("alice", "eth_trace"), ("alice", "eth_leads")]
    assert json.loads(adds[0].detail)["finding_hash"] == want["finding_hash"]

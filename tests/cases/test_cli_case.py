"""`chaintrail case` end to end: open, add, save and rerun a finding, attach records, report, export, import, verify."""

from __future__ import annotations

import json

from ct_cases import CB9, HAL, SATOSHI9, TX170
from typer.testing import CliRunner

from chaintrail.cli.main import app


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, ["case", *args])
    assert res.exit_code == code, (args, res.exit_code, res.output)
    return res.output


def test_case_workflow_between_two_agencies(tmp_path, chain_store, monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_CASES_DB", raising=False)
    a = ["--db", str(tmp_path / "nca.sqlite"), "--store", str(chain_store), "--user", "alice", "--agency", "NCA"]
    b = ["--db", str(tmp_path / "bka.sqlite"), "--store", str(chain_store), "--user", "bob", "--agency", "BKA"]
    ref = json.loads(run("new", "Block 9 proceeds", "--summary", "Where did they go?", "--tlp", "amber", *a,
                         "--json"))["ref"]
    assert ref.startswith("NCA-")
    run("add", ref, SATOSHI9, "--label", "miner", *a)
    saved = json.loads(run("finding", "trace", ref, "--from", f"{CB9}:0", "--max-hops", "20", *a, "--json"))
    again = json.loads(run("finding", "rerun", ref, str(saved["id"]), *a, "--json"))
    assert again["reproduced"] and again["new_hash"] == saved["finding_hash"]
    run("note", ref, "Exchange served on 4 March.", *a)
    run("note", ref, "Source VIOLET.", "--tlp", "red", *a)
    records = tmp_path / "return.csv"
    records.write_text("entity_name,target_address,bitcoin_address,transaction_id,date,amount_satoshi,amount_btc,"
                       f"amount_usd,wallet_address,type\nS,{HAL},{HAL},{TX170},2009-01-12,1000000000,10,0,{HAL},"
                       "Incoming\n")
    att = json.loads(run("attach", ref, str(records), "--exchange-records", *a, "--json"))
    assert att["mapping"]["by_status"] == {"matched_output": 1}
    out = run("report", ref, "-o", str(tmp_path / "r.html"), "--format", "html", *a)
    assert "wrote" in out and "Exchange records received under legal process" in (tmp_path / "r.html").read_text()
    pkg = tmp_path / "case.zip"
    run("export", ref, "-o", str(pkg), "--tlp", "amber", "--to", "BKA", *a)
    fp = next(x["fingerprint"] for x in json.loads(run("agency", "list", "--db", str(tmp_path / "nca.sqlite"),
                                                       "--json")) if x["name"] == "NCA")
    refused = run("import", str(pkg), *b, code=2)
    assert "not a trusted agency" in refused
    imported = json.loads(run("import", str(pkg), "--trust", fp, *b, "--json"))
    assert imported["counts"] == {"subjects": 1, "findings": 1, "notes": 1, "attachments": 1, "tags": 0, "alerts": 0}
    view = json.loads(run("show", imported["case"]["ref"], *b, "--json"))
    assert view["findings"][0]["finding_hash"] == saved["finding_hash"]
    assert view["findings"][0]["origin"]["agency"] == "NCA" and [n["body"] for n in view["notes"]] == \
        ["Exchange served on 4 March."]
    assert "verified" in run("verify", *b) and "verified" in run("verify", ref, *a)
    assert "audit.verify by alice (NCA)" in run("log", ref, *a)   # a clean check is logged as a checkpoint
    log = run("log", ref, *a)
    assert "finding.add by alice (NCA)" in log and "case.export.signed" in log
    assert "no case NOPE-1" in run("show", "NOPE-1", *a, code=5)


def test_cli_enrolment_needs_an_admin_after_bootstrap(tmp_path, chain_store, monkeypatch):
    """`--user x --agency A` used to enrol anyone into A as an admin, who could then sign packages with A's key."""
    monkeypatch.delenv("CHAINTRAIL_CASES_DB", raising=False)
    monkeypatch.delenv("CHAINTRAIL_USER_TOKEN", raising=False)
    db = ["--db", str(tmp_path / "team.sqlite"), "--store", str(chain_store)]
    admin = json.loads(run("admin", "bootstrap", "--user", "root", "--agency", "NCA", *db, "--json"))
    assert admin["role"] == "admin" and len(admin["token"]) >= 32
    assert "already has users" in run("admin", "bootstrap", "--user", "mallory", "--agency", "NCA", *db, code=5)
    # Without a token nobody acts on a team database, whatever name and agency they give.
    assert "team database" in run("new", "x", "--user", "mallory", "--agency", "NCA", *db, code=5)
    assert "needs an admin" in run("user", "add", "mallory", "--agency", "NCA", "--role", "admin", *db, code=5)
    assert "team database" in run("agency", "add", "EVIL", *db, code=5)
    monkeypatch.setenv("CHAINTRAIL_USER_TOKEN", admin["token"])
    alice = json.loads(run("user", "add", "alice", "--agency", "NCA", *db, "--json"))
    assert alice["role"] == "investigator"
    monkeypatch.setenv("CHAINTRAIL_USER_TOKEN", alice["token"])
    assert "only an admin" in run("user", "add", "mallory", "--agency", "NCA", "--role", "admin", *db, code=5)
    ref = json.loads(run("new", "Block 9 proceeds", *db, "--json"))["ref"]
    assert ref.startswith("NCA-") and "created_by" in run("show", ref, *db, "--json")
    monkeypatch.setenv("CHAINTRAIL_USER_TOKEN", "not-a-token-of-anybody-here")
    assert "unknown or revoked user token" in run("export", ref, "-o", str(tmp_path / "p.zip"), *db, code=5)
    assert not (tmp_path / "p.zip").exists()
    from chaintrail.cases.repository import CaseRepository
    with CaseRepository.open(tmp_path / "team.sqlite") as repo, repo.db.read() as conn:
        from chaintrail.cases.audit import entries
        users = [e.details["username"] for e in entries(conn) if e.action in ("admin.bootstrap", "user.create")
                 and e.outcome == "ok"]
        refused = [e for e in entries(conn) if e.outcome == "denied"]
    assert users == ["root", "alice"]
    assert {e.action for e in refused} >= {"identity", "user.create"}

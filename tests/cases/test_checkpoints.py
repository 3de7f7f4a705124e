"""Signed audit checkpoints: a log rewritten or cut short by someone who can write the database is caught.

The attacks are done as a DBA would, with SQL and chaintrail's own hash functions: every hash after the change
recomputed, the head row moved. Without the checkpoint file (kept outside the database, lines signed with the
agency's key file) each of them verifies as clean; with it, `case verify` names the checkpoint that disagrees.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from chaintrail.cases import schema as S
from chaintrail.cases.audit import entries
from chaintrail.cases.db import Database
from chaintrail.cases.hashing import GENESIS, dumps, entry_hash, row_hash
from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.verify import verify
from chaintrail.cli.main import app

NOTE = "Suspect admitted owning the wallet in interview 2."


@pytest.fixture
def case_db(new_db, tmp_path):
    """A repository with one case of a few items, its checkpoint file and key folder under tmp_path."""
    repo = CaseRepository(Database.open(new_db(), key_dir=tmp_path / "keys", checkpoints=tmp_path / "cp.jsonl"))
    p, _ = repo.bootstrap("NCA", "alice")
    ref = repo.create_case(p, "Seized wallet", "Funds moved in 2009.", "amber")["ref"]
    repo.add_subject(p, ref, "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "miner")
    repo.add_note(p, ref, NOTE, level="red")
    repo.add_tag(p, ref, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "Hal Finney", category="user", source="press")
    repo.case(p, ref)
    yield repo, p, ref
    repo.close()


def _log(repo):
    with repo.db.read() as conn:
        return entries(conn)


def _lines(repo) -> list[dict]:
    return [json.loads(x) for x in repo.db.checkpoints.read_text().splitlines()]


def _rehash_from(conn, seq: int, change=None) -> None:
    """Recompute every entry hash from ``seq`` on (applying ``change`` to entries first) and move the head."""
    rows = [dict(r._mapping) for r in conn.execute(sa.select(S.audit).order_by(S.audit.c.seq))]
    prev = GENESIS
    for e in rows:
        if e["seq"] >= seq:
            if change:
                change(e)
            e["prev_hash"] = prev
            e["entry_hash"] = entry_hash(e)
            conn.execute(sa.update(S.audit).where(S.audit.c.seq == e["seq"])
                         .values(detail=e["detail"], prev_hash=e["prev_hash"], entry_hash=e["entry_hash"]))
        prev = e["entry_hash"]
    conn.execute(sa.update(S.audit_head).values(seq=rows[-1]["seq"], entry_hash=prev))


def _only_checkpoints_object(rep) -> bool:
    return bool(rep.problems) and all("checkpoint" in p.message for p in rep.problems)


def test_every_write_is_anchored_by_a_signed_line(case_db):
    repo, p, ref = case_db
    log, lines = _log(repo), _lines(repo)
    assert [ln["n"] for ln in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["seq"] == log[-1].seq and lines[-1]["head"] == log[-1].entry_hash
    assert {ln["agency"] for ln in lines} == {"NCA"} and lines[-1]["case"] == ref
    by_seq = {e.seq: e.entry_hash for e in log}
    assert all(by_seq[ln["seq"]] == ln["head"] for ln in lines)
    rep = verify(repo.db)
    assert rep.ok and rep.checkpoints["anchored_seq"] == log[-1].seq and not rep.warnings


def test_truncating_the_log_and_moving_the_head_is_named(case_db):
    repo, p, ref = case_db
    log = _log(repo)
    assert [e.action for e in log[-2:]] == ["tag.add", "case.read"]
    with repo.db.engine.begin() as conn:     # drop the last two entries, point the head at the one before
        conn.execute(sa.delete(S.audit).where(S.audit.c.seq > log[-3].seq))
        conn.execute(sa.update(S.audit_head).values(seq=log[-3].seq, entry_hash=log[-3].entry_hash))
        conn.execute(sa.delete(S.case_tags))  # and the row the tag.add entry recorded
    rep = verify(repo.db)
    assert _only_checkpoints_object(rep), [p.message for p in rep.problems]
    msg = rep.problems[0].message
    assert f"(entry #{log[-2].seq}, signed by NCA at" in msg and "anchors an entry the log no longer has" in msg
    assert f"the log ends at #{log[-3].seq}" in msg


def test_rewriting_a_note_and_every_hash_after_it_is_named(case_db):
    repo, p, ref = case_db
    log = _log(repo)
    note_entry = next(e for e in log if e.action == "note.add")
    with repo.db.engine.begin() as conn:
        row = dict(conn.execute(sa.select(S.notes)).one()._mapping)
        row["body"] = "Suspect denied owning the wallet."
        row["row_hash"] = row_hash("notes", row)
        conn.execute(sa.update(S.notes).values(body=row["body"], row_hash=row["row_hash"]))

        def reseal(e: dict) -> None:
            if e["seq"] == note_entry.seq:
                e["detail"] = dumps({**json.loads(e["detail"]), "row_hash": row["row_hash"]})
        _rehash_from(conn, note_entry.seq, reseal)
    rep = verify(repo.db)
    assert _only_checkpoints_object(rep), [p.message for p in rep.problems]
    msg = rep.problems[0].message
    assert rep.problems[0].entry == note_entry.seq
    assert f"audit entry #{note_entry.seq} (note.add by alice) is not the entry checkpoint" in msg
    assert f"rewritten after #{note_entry.seq - 1}" in msg and "later checkpoints disagree too" in msg


def test_deleting_the_checkpoint_file_is_named_and_not_restarted(case_db):
    repo, p, ref = case_db
    repo.db.checkpoints.unlink()
    repo.add_note(p, ref, "written after the file was deleted")     # must not start a fresh, forgeable file
    assert not repo.db.checkpoints.exists()
    rep = verify(repo.db)
    assert not rep.ok and "no audit checkpoints at" in rep.problems[0].message


def test_lines_forged_or_removed_in_the_file_are_named(case_db, tmp_path):
    repo, p, ref = case_db
    path = repo.db.checkpoints
    good = path.read_bytes()
    lines = good.splitlines()
    forged = json.loads(lines[-1])
    forged["head"] = "ab" * 32                              # a head the writer never signed
    for name, data, words in [
            ("forged head", b"\n".join([*lines[:-1], dumps(forged).encode()]) + b"\n", "signature does not verify"),
            ("middle line removed", b"\n".join(lines[:2] + lines[3:]) + b"\n", "does not follow line 2"),
            ("not JSON", good + b"{oops\n", "is not JSON")]:
        path.write_bytes(data)
        rep = verify(repo.db)
        assert any(words in pr.message for pr in rep.problems), (name, [pr.message for pr in rep.problems])
    path.write_bytes(good)
    assert verify(repo.db).ok


def test_concurrent_writers_keep_one_chain(case_db):
    repo, p, ref = case_db
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                repo.add_note(p, ref, f"note {i}.{j}")
        except BaseException as exc:   # surfaced below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    lines = _lines(repo)
    assert all(a["seq"] < b["seq"] for a, b in zip(lines, lines[1:]))
    rep = verify(repo.db)
    assert rep.ok and rep.checkpoints["anchored_seq"] == _log(repo)[-1].seq


def test_cli_verify_against_a_copy_and_starting_an_older_database(tmp_path):
    db = tmp_path / "cases.sqlite"
    run = CliRunner().invoke
    assert run(app, ["case", "new", "Seized wallet", "--db", str(db)]).exit_code == 0
    cp = tmp_path / "cases.checkpoints.jsonl"
    copy = tmp_path / "offsite.jsonl"
    copy.write_bytes(cp.read_bytes())                  # e.g. shipped to another host after each write
    res = run(app, ["case", "verify", "--db", str(db), "--checkpoints", str(copy), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["ok"] and out["checkpoints"]["path"] == str(copy)
    cp.unlink()                                        # an older database: no file yet
    res = run(app, ["case", "verify", "--db", str(db)])
    assert res.exit_code == 2 and "chaintrail case checkpoint" in " ".join(res.output.split())
    res = run(app, ["case", "checkpoint", "--db", str(db)])
    assert res.exit_code == 0 and "anchored entry #" in res.output, res.output
    assert run(app, ["case", "verify", "--db", str(db)]).exit_code == 0
    assert run(app, ["case", "checkpoint", "--db", str(db)]).exit_code == 0   # idempotent once started


def test_swapping_the_agency_key_and_resigning_everything_is_named(case_db):
    """An attacker with both the database and the checkpoint file, but not the key file, re-signs it all."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from chaintrail.cases.hashing import canonical, sha256_hex
    repo, p, ref = case_db
    mallory = Ed25519PrivateKey.generate()
    pub = mallory.public_key().public_bytes_raw().hex()
    agency_entry = next(e for e in _log(repo) if e.action == "agency.create")
    with repo.db.engine.begin() as conn:
        row = dict(conn.execute(sa.select(S.agencies)).one()._mapping)
        row["public_key"] = pub
        row["row_hash"] = row_hash("agencies", row)
        conn.execute(sa.update(S.agencies).values(public_key=pub, row_hash=row["row_hash"]))

        def reseal(e: dict) -> None:
            if e["seq"] == agency_entry.seq:
                e["detail"] = dumps({**json.loads(e["detail"]), "row_hash": row["row_hash"]})
        _rehash_from(conn, agency_entry.seq, reseal)
    heads = {e.seq: e.entry_hash for e in _log(repo)}
    out, prev = [], None
    for ln in _lines(repo):
        ln = {**ln, "head": heads[ln["seq"]], "key": "SHA256:" + sha256_hex(bytes.fromhex(pub))[:32],
              "prev": GENESIS if prev is None else sha256_hex(prev)}
        ln["sig"] = mallory.sign(canonical({k: v for k, v in ln.items() if k != "sig"})).hex()
        prev = canonical(ln)
        out.append(prev)
    repo.db.checkpoints.write_bytes(b"\n".join(out) + b"\n")
    rep = verify(repo.db)
    assert [pr.message for pr in rep.problems] == [
        f"agency NCA's public key on record matches none of its key files in {repo.db.key_dir}: the agency's key "
        f"was replaced in the database"]

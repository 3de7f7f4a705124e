"""Chain of custody: every action is logged and hash-chained; verify names the entry behind any altered byte.

SQLite: bytes of the database file are flipped in place and `chaintrail case verify` must exit 2 naming the
entry. PostgreSQL: one character of a stored value is changed with SQL (its files are not ours to edit).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from chaintrail.cases import schema as S
from chaintrail.cases.audit import entries
from chaintrail.cases.verify import verify
from chaintrail.cli.main import app

NOTE = "Wallet seized at the suspect's flat on 3 March; seed phrase photographed."


def populate(repo, trace9) -> tuple[str, dict]:
    p = repo.bootstrap("NCA", "alice")[0]
    c = repo.create_case(p, "Proceeds of block 9", "Funds mined in block 9.", "amber")
    ref = c["ref"]
    repo.add_subject(p, ref, "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "miner")
    repo.add_finding(p, ref, trace9)
    repo.add_note(p, ref, NOTE, level="red")
    repo.add_attachment(p, ref, "statement.txt", b"Exchange statement: account 4711, three deposits.\n")
    repo.add_tag(p, ref, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "Hal Finney", category="user", source="press")
    repo.case(p, ref)   # a read is logged too
    return ref, {"principal": p}


def test_every_action_is_logged_and_the_chain_verifies(new_db, repos, trace9):
    repo = repos(new_db())
    ref, _ = populate(repo, trace9)
    with repo.db.read() as conn:
        log = entries(conn)
    assert [e.action for e in log] == ["agency.create", "admin.bootstrap", "case.create", "subject.add", "finding.add",
                                       "note.add", "attachment.add", "tag.add", "case.read"]
    assert [e.seq for e in log] == list(range(1, 10))
    assert all(b.prev_hash == a.entry_hash for a, b in zip(log, log[1:]))
    assert log[4].details["finding_hash"] == trace9["finding_hash"] and log[4].target == "findings:1"
    rep = verify(repo.db)
    assert rep.ok and rep.entries == 9 and rep.rows == 8 and rep.head_hash == log[-1].entry_hash


def _flip(path: Path, needle: bytes, at: int = 0) -> None:
    data = bytearray(path.read_bytes())
    hits = [m.start() for m in re.finditer(re.escape(needle), data)]
    assert len(hits) == 1, (needle, len(hits))
    data[hits[0] + at] ^= 0x01
    path.write_bytes(bytes(data))


def _verify_cli(db: Path) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["case", "verify", "--db", str(db)])
    return res.exit_code, res.output


@pytest.mark.parametrize("needle,at,expect", [
    (NOTE.encode(), 7, r"notes:1 was altered after #6 note\.add by alice"),
    (b"Exchange statement", 3, r"attachments:1 was altered after #7 attachment\.add"),
    (b'"unspent_sat":4000000000', 14, r"findings:1 was altered after #5 finding\.add"),
    (b"tag.add", 1, r"audit entry #8 was altered"),
    (b"Funds mined in block 9", 0, r"cases:1 was altered after #3 case\.create"),
])
def test_one_flipped_byte_in_the_sqlite_file_is_named(tmp_path, repos, trace9, needle, at, expect):
    db = tmp_path / "cases.sqlite"
    repo = repos(str(db))
    populate(repo, trace9)
    repo.close()
    assert _verify_cli(db)[0] == 0
    _flip(db, needle, at)
    code, out = _verify_cli(db)
    assert code == 2 and re.search(expect, " ".join(out.split())), out


def test_every_audit_entry_hash_byte_is_covered(tmp_path, repos, trace9):
    """Flip a byte of each entry's stored hash in turn: verify must name exactly that entry."""
    db = tmp_path / "cases.sqlite"
    repo = repos(str(db))
    populate(repo, trace9)
    with repo.db.read() as conn:
        log = entries(conn)
    repo.close()
    clean = db.read_bytes()
    for e in log[:-1]:   # the last entry's hash is also in the head row; that case is tested below
        db.write_bytes(clean)
        _flip(db, (e.prev_hash + e.entry_hash).encode(), 64 + 10)   # the record stores them side by side
        r = repos(str(db))
        rep = verify(r.db)
        r.close()
        assert not rep.ok
        assert {p.entry for p in rep.problems} >= {e.seq}, (e.seq, [p.message for p in rep.problems])
        assert any(f"#{e.seq} was altered" in p.message for p in rep.problems)


def test_sql_edits_deletions_and_insertions_are_named(new_db, repos, trace9):
    dsn = new_db()
    repo = repos(dsn)
    ref, _ = populate(repo, trace9)
    eng = repo.db.engine
    with eng.begin() as conn:   # one character of a finding's stored result, as a DBA could
        conn.execute(sa.update(S.findings).values(result=sa.func.replace(S.findings.c.result, '"hops":2',
                                                                         '"hops":3')))
    rep = verify(repo.db)
    assert [(p.entry, p.target) for p in rep.problems][:1] == [(5, "findings:1")]
    assert "findings:1 was altered after #5 finding.add by alice (NCA)" in rep.problems[0].message
    with eng.begin() as conn:   # restore, then hide a note by deleting it
        conn.execute(sa.update(S.findings).values(result=sa.func.replace(S.findings.c.result, '"hops":3',
                                                                         '"hops":2')))
    assert verify(repo.db).ok
    with eng.begin() as conn:
        conn.execute(sa.delete(S.notes))
    msgs = [p.message for p in verify(repo.db).problems]
    assert any("notes:1 was removed" in m and "#6 note.add" in m for m in msgs), msgs
    with eng.begin() as conn:   # a row written behind the log's back
        conn.execute(sa.insert(S.notes).values(id=1, case_id=1, body="planted", tlp="amber", created_by="x",
                                               created_at="2026", row_hash="0" * 64))
    assert any("notes:1" in m and "altered" in m for m in (p.message for p in verify(repo.db).problems))


def test_removing_the_last_entries_is_caught_by_the_head(new_db, repos, trace9):
    repo = repos(new_db())
    populate(repo, trace9)
    with repo.db.engine.begin() as conn:
        conn.execute(sa.delete(S.audit).where(S.audit.c.seq == 9))
    rep = verify(repo.db)
    assert not rep.ok and "the audit head says entry #9" in rep.problems[0].message


def test_a_damaged_sqlite_page_fails_verify_not_crashes(tmp_path, repos, trace9):
    db = tmp_path / "cases.sqlite"
    repo = repos(str(db))
    populate(repo, trace9)
    repo.close()
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[page_size + 0] = 0xFF      # the b-tree page-type byte of page 2
    db.write_bytes(bytes(data))
    code, out = _verify_cli(db)
    assert code == 2 and out.strip()

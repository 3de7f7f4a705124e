"""Who may act, and on what records: bootstrap, enrolment, the local operator, key files, audited access.

Each test replays an attack that worked before: anyone enrolled into any agency, a private key in the
database, a share row or a case's owner written by SQL behind the audit log's back. Runs on SQLite and
PostgreSQL where the backend matters.
"""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
import sqlalchemy as sa

from chaintrail.cases import schema as S
from chaintrail.cases.audit import entries
from chaintrail.cases.errors import AccessDenied, NotFound
from chaintrail.cases.hashing import row_hash
from chaintrail.cases.keys import SigningKeyError, key_file, load_signing_key
from chaintrail.cases.verify import verify
from chaintrail.errors import UsageError


@pytest.fixture
def team(new_db, repos):
    """A team database: NCA (admin root, investigator alice) and BKA (admin carol, viewer erin)."""
    repo = repos(new_db())
    root, root_token = repo.bootstrap("NCA", "root")
    repo.add_agency(root.username, "BKA")
    repo.add_user(root, "carol", "BKA", "admin")
    carol = repo.principal("carol")
    repo.add_user(carol, "erin", "BKA", "viewer")
    repo.add_user(root, "alice", "NCA", "investigator")
    return repo, root, repo.principal("alice"), carol, repo.principal("erin")


def test_bootstrap_once_then_only_an_admin_enrols(team):
    repo, root, alice, carol, erin = team
    with pytest.raises(AccessDenied, match="already has users"):
        repo.bootstrap("NCA", "mallory")
    with pytest.raises(AccessDenied, match="only an admin"):
        repo.add_user(alice, "mallory", "NCA", "admin")               # an investigator
    with pytest.raises(AccessDenied, match="only an admin of NCA"):
        repo.add_user(carol, "mallory", "NCA", "admin")               # an admin of another agency
    with pytest.raises(UsageError, match="team database|no local operator"):
        repo.ensure_operator("NCA", "mallory")                       # no operator beside enrolled users
    with pytest.raises(NotFound):
        repo.principal("mallory")
    with repo.db.read() as conn:
        denied = [e for e in entries(conn) if e.outcome == "denied" and e.action == "user.create"]
    assert [(e.actor, e.agency) for e in denied] == [("alice", "NCA"), ("carol", "BKA")]


def test_a_refusal_reads_in_ukrainian_and_is_logged_in_english(team):
    import json

    from chaintrail.i18n import use_language

    repo, root, alice, carol, erin = team
    with use_language("uk"):
        with pytest.raises(AccessDenied, match="^додавати користувачів NCA може лише адміністратор NCA$"):
            repo.add_user(carol, "mallory", "NCA", "admin")
        with pytest.raises(AccessDenied, match=r"може лише адміністратор \(alice має роль investigator\)"):
            repo.add_user(alice, "mallory", "NCA", "admin")
        with pytest.raises(AccessDenied, match="^у цій базі справ уже є користувачі: нових реєструє адміністратор"):
            repo.bootstrap("NCA", "mallory")
    with repo.db.read() as conn:
        denied = [json.loads(e.detail)["reason"] for e in entries(conn)
                  if e.outcome == "denied" and e.action == "user.create"]
    assert denied == ["only an admin of NCA may add its users",                # the log stays in one language
                      "only an admin may add users (alice is a investigator)"]


def test_the_operator_exists_only_alone_on_sqlite(new_db, repos, request):
    repo = repos(new_db())
    if repo.db.kind != "sqlite":
        with pytest.raises(UsageError, match="no local operator"):
            repo.ensure_operator("NCA", "alice")
        assert repo.local_operator() is None
        return
    op = repo.ensure_operator("NCA", "alice")
    assert (op.username, op.agency, op.role) == ("alice", "NCA", "operator") and op.at_least("admin")
    assert repo.ensure_operator(None, "alice") == op == repo.local_operator()
    with pytest.raises(AccessDenied, match="belongs to its local operator alice"):
        repo.ensure_operator("NCA", "mallory")
    with pytest.raises(AccessDenied, match="already has users"):
        repo.bootstrap("NCA", "mallory")
    with pytest.raises(AccessDenied, match="single-user"):
        repo.add_user(op, "mallory", "NCA", "admin")
    with repo.db.read() as conn:
        assert [e.action for e in entries(conn)][:2] == ["agency.create", "operator.create"]
        assert conn.execute(sa.select(S.users.c.token_hash)).scalars().all() == [None]   # no token to steal


def test_the_database_holds_no_private_key(new_db, repos, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_KEY_DIR", str(tmp_path / "keys"))
    repo = repos(new_db())
    repo.bootstrap("NCA", "root")
    repo.add_agency("root", "BKA")
    for name in ("NCA", "BKA"):
        key = load_signing_key(repo.db, name)
        pub = repo.agency(name)["public_key"]
        assert key.public_key().public_bytes_raw().hex() == pub
        path = key_file(tmp_path / "keys", name, pub)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
        seed = key.private_bytes_raw()
        with repo.db.read() as conn:
            dumped = repr([tuple(r) for t in S.metadata.sorted_tables for r in conn.execute(sa.select(t))])
        assert seed.hex() not in dumped and seed.hex().upper() not in dumped
        if repo.db.sqlite_path is not None:
            assert seed not in repo.db.sqlite_path.read_bytes()
    with repo.db.read() as conn:
        assert conn.execute(sa.select(S.agencies.c.private_key)).scalars().all() == [None, None]


def test_a_key_file_others_can_read_is_refused(tmp_path, repos):
    repo = repos(str(tmp_path / "cases.sqlite"))
    repo.ensure_operator("NCA", "alice")
    path = key_file(repo.db.key_dir, "NCA", repo.agency("NCA")["public_key"])
    assert path.parent == tmp_path / "cases.keys"
    os.chmod(path, 0o644)
    with pytest.raises(SigningKeyError, match="readable by others"):
        load_signing_key(repo.db, "NCA")


def test_a_plaintext_key_of_an_older_release_moves_out_on_open(tmp_path, repos):
    from chaintrail.cases import rows

    db = tmp_path / "cases.sqlite"
    repo = repos(str(db))
    repo.ensure_operator("NCA", "alice")
    pub = repo.agency("NCA")["public_key"]
    path = key_file(repo.db.key_dir, "NCA", pub)
    seed = load_signing_key(repo.db, "NCA").private_bytes_raw()
    path.unlink()          # as an older release left it: the seed in the database, no key file
    with repo.db.tx() as conn:
        rows.update(conn, S.agencies, 1, {"private_key": seed.hex()}, actor="old-release", agency=None,
                    action="agency.create", case_ref=None)
    repo.close()
    assert seed.hex().encode() in db.read_bytes()
    again = repos(str(db))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT private_key FROM agencies").fetchall() == [(None,)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(again.db, "NCA").private_bytes_raw() == seed
    with again.db.read() as conn:
        moved = [e for e in entries(conn) if e.action == "agency.key.moved"]
    assert len(moved) == 1 and moved[0].details["key_file"] == str(path) and moved[0].target == "agencies:1"
    assert verify(again.db).ok


def test_a_share_row_written_behind_the_log_grants_nothing(team):
    repo, root, alice, carol, erin = team
    ref = repo.create_case(alice, "Operation Harbour", "secret", "red")["ref"]
    with pytest.raises(NotFound):
        repo.case(erin, ref)
    with repo.db.engine.begin() as conn:   # a self-consistent row (its own hash is right), but no audit entry
        case_id = conn.execute(sa.select(S.cases.c.id).where(S.cases.c.ref == ref)).scalar_one()
        bka = conn.execute(sa.select(S.agencies.c.id).where(S.agencies.c.name == "BKA")).scalar_one()
        row = {"id": 99, "case_id": case_id, "agency_id": bka, "tlp_max": "red", "tlp": "red", "created_by": "alice",
               "created_at": "2026-01-01T00:00:00.000000Z", "origin": None}
        conn.execute(sa.insert(S.shares).values(**row, row_hash=row_hash("shares", row)))
    with pytest.raises(NotFound):
        repo.case(erin, ref)
    assert repo.list_cases(erin) == []
    assert repo.case(alice, ref).case["summary"] == "secret"
    # A share made properly is honoured, and taken back when its row is changed behind the log's back.
    with repo.db.engine.begin() as conn:
        conn.execute(sa.delete(S.shares))
    repo.share(alice, ref, "BKA", "green")
    assert repo.case(erin, ref).access == "shared"
    with repo.db.engine.begin() as conn:
        conn.execute(sa.update(S.shares).values(tlp_max="red"))
    with pytest.raises(NotFound):
        repo.case(erin, ref)


def test_a_case_moved_to_another_agency_by_sql_is_nobodys(team):
    repo, root, alice, carol, erin = team
    ref = repo.create_case(alice, "Operation Harbour", "secret", "red")["ref"]
    with repo.db.engine.begin() as conn:
        bka = conn.execute(sa.select(S.agencies.c.id).where(S.agencies.c.name == "BKA")).scalar_one()
        conn.execute(sa.update(S.cases).where(S.cases.c.ref == ref).values(agency_id=bka))
    for who in (carol, erin, alice):
        with pytest.raises(NotFound):
            repo.case(who, ref)


def test_a_user_row_written_behind_the_log_is_no_login(team):
    from chaintrail.cases.identity import token_hash

    repo, root, alice, carol, erin = team
    with repo.db.engine.begin() as conn:
        row = {"id": 77, "username": "mallory", "agency_id": 1, "role": "admin", "token_hash": token_hash("m" * 32),
               "active": 1, "created_at": "2026-01-01T00:00:00.000000Z"}
        conn.execute(sa.insert(S.users).values(**row, row_hash=row_hash("users", row)))
    assert repo.principal_for_token("m" * 32) is None


def test_an_older_single_user_database_keeps_working_as_its_operator(tmp_path, repos):
    """A release before enrolment made the CLI's login name an admin on first use ('system:NAME'); it is adopted."""
    from chaintrail.cases import identity

    repo = repos(str(tmp_path / "cases.sqlite"))
    with repo.db.tx() as conn:      # what the older release wrote
        identity.create_agency(conn, "system:alice", "local", key_dir=repo.db.key_dir)
        identity.create_user(conn, "system:alice", "local", "alice", "local", "admin")
    p = repo.ensure_operator(None, "alice")
    assert (p.username, p.agency, p.role) == ("alice", "local", "operator")
    with pytest.raises(AccessDenied, match="belongs to its local operator alice"):
        repo.ensure_operator(None, "mallory")
    with repo.db.read() as conn:
        assert [e.action for e in entries(conn)][-1] == "operator.adopt"
    assert verify(repo.db).ok
    team = repos(str(tmp_path / "team.sqlite"))      # a bootstrapped admin is never adopted
    team.bootstrap("NCA", "root")
    with pytest.raises(UsageError, match="team database"):
        team.ensure_operator(None, "root")

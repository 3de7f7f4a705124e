"""Who may join a case database: the first admin, the single-user operator, and users an admin enrols.

There is no implicit identity. A case database is one of:

* **single-user** (SQLite only): its one user is the *local operator*, made
  explicitly (``ensure_operator``: `chaintrail case admin operator`, or the
  first `chaintrail case` command on a new SQLite database). Nobody can be
  enrolled beside it; the CLI acts as it, and a server on the database admits
  it with the server's own bearer token.
* **team** (SQLite or PostgreSQL): its first user is an admin made by
  ``bootstrap`` (`chaintrail case admin bootstrap`), which works only on a
  database with no users. After that only an admin enrols users: of its own
  agency, or the first user of an agency that has none yet. Every user acts
  with its own API token.

Each step is a hashed row written with its audit entry; refusals are logged.
"""

from __future__ import annotations

import sqlalchemy as sa

from chaintrail.cases import audit, identity, rows
from chaintrail.cases import schema as S
from chaintrail.cases.db import Database
from chaintrail.cases.errors import AccessDenied
from chaintrail.cases.identity import OPERATOR, Principal
from chaintrail.cases.integrity import recorded
from chaintrail.errors import UsageError
from chaintrail.i18n import N_, _

TEAM_HINT = N_("act as an enrolled user with $CHAINTRAIL_USER_TOKEN (or $CHAINTRAIL_USER_TOKEN_FILE)")


def _denied(db: Database, actor: str, agency: str | None, action: str, reason: str) -> None:
    with db.tx() as conn:
        audit.append(conn, actor=actor, agency=agency, action=action, detail={"reason": reason}, outcome="denied")


def _home(conn, db: Database, actor: str, agency: str, country: str | None) -> None:
    a = identity.agency_row(conn, agency)
    if a is None:
        identity.create_agency(conn, actor, agency, kind="home", country=country, key_dir=db.key_dir)
    elif a["kind"] != "home":
        raise UsageError(f"agency {agency!r} is a foreign agency here")


def bootstrap(db: Database, agency: str, username: str, *, country: str | None = None) -> tuple[Principal, str]:
    """Make the first admin of a database with no users (and its home agency); returns it and its token."""
    with db.tx() as conn:
        if identity.user_count(conn):
            raise AccessDenied(_("this case database already has users: an admin enrols new ones "
                                 "(chaintrail case user add, with an admin's token)"))
        _home(conn, db, f"bootstrap:{username}", agency, country)
        row, token = identity.create_user(conn, f"bootstrap:{username}", agency, username, agency, "admin",
                                          action="admin.bootstrap")
        assert token is not None          # only the operator is made without one
        return identity.principal_of_user(conn, row), token


def _operator(conn) -> dict | None:
    """The operator's row if this database is single-user: one user, the operator, recorded by the log."""
    found = [dict(r._mapping) for r in conn.execute(sa.select(S.users).limit(2))]
    if len(found) != 1 or found[0]["role"] != OPERATOR or not found[0]["active"]:
        return None
    return found[0] if recorded(conn, S.users, found[0]) else None


def _adopt_legacy(conn) -> dict | None:
    """A database an older release made for one implicit user ('system:NAME' made NAME an admin): its operator now."""
    found = [dict(r._mapping) for r in conn.execute(sa.select(S.users).limit(2))]
    if len(found) != 1 or found[0]["role"] != "admin" or not recorded(conn, S.users, found[0]):
        return None
    u = found[0]
    made = conn.execute(sa.select(S.audit.c.actor).where(S.audit.c.target == f"users:{u['id']}",
                                                         S.audit.c.action == "user.create")).first()
    if made is None or made.actor != f"system:{u['username']}":
        return None
    return rows.update(conn, S.users, int(u["id"]), {"role": OPERATOR}, actor=f"system:{u['username']}",
                       agency=None, action="operator.adopt", case_ref=None,
                       detail={"username": u["username"], "reason": "single implicit user of an older release"})


def local_operator(db: Database) -> Principal | None:
    """The local operator of a single-user SQLite database, or None (any other database)."""
    if db.kind != "sqlite":
        return None
    with db.read() as conn:
        row = _operator(conn)
        return None if row is None else identity.principal_of_user(conn, row)


def ensure_operator(db: Database, agency: str | None, username: str) -> Principal:
    """The local operator of this SQLite database, made now if the database has no users at all."""
    if db.kind != "sqlite":
        raise UsageError(_("a team case database on PostgreSQL has no local operator: {hint}").format(
            hint=_(TEAM_HINT)))
    with db.tx() as conn:
        row = _operator(conn) or _adopt_legacy(conn)
        if row is not None:
            p = identity.principal_of_user(conn, row)
            if username != p.username or (agency is not None and agency != p.agency):
                who = f"{username} ({agency})" if agency else username
                raise AccessDenied(_("this single-user case database belongs to its local operator {operator} "
                                     "({agency}), not {who}; other users need a team database (chaintrail case "
                                     "admin bootstrap)").format(operator=p.username, agency=p.agency, who=who))
            return p
        if identity.user_count(conn):
            raise AccessDenied(_("this case database has enrolled users (a team database): {hint}").format(
                hint=_(TEAM_HINT)))
        agency = agency or "local"
        _home(conn, db, f"operator:{username}", agency, None)
        row, _token = identity.create_user(conn, f"operator:{username}", agency, username, agency, OPERATOR,
                                      action="operator.create")
        return identity.principal_of_user(conn, row)


def enrol(db: Database, actor: Principal, username: str, agency: str, role: str) -> tuple[dict, str]:
    """An admin adds a user (of its own agency, or the first of an agency with none); returns it and its token."""
    identity.check_role(role)
    why: tuple[str, dict] | None = None       # the refusal (English in the audit log, translated when raised)
    if actor.role == OPERATOR:
        why = (N_("a single-user database has only its local operator; start a team database with "
                  "`chaintrail case admin bootstrap`"), {})
    elif actor.role != "admin":
        why = (N_("only an admin may add users ({user} is a {role})"), {"user": actor.username, "role": actor.role})
    else:
        with db.read() as conn:
            a = identity.agency_row(conn, agency)
            has_users = a is not None and conn.execute(
                sa.select(S.users.c.id).where(S.users.c.agency_id == a["id"]).limit(1)).first() is not None
        if agency != actor.agency and has_users:
            why = (N_("only an admin of {agency} may add its users"), {"agency": agency})
    if why is not None:
        _denied(db, actor.username, actor.agency, "user.create", why[0].format(**why[1]))
        raise AccessDenied(_(why[0]).format(**why[1]))
    with db.tx() as conn:
        row, token = identity.create_user(conn, actor.username, actor.agency, username, agency, role)
    assert token is not None
    return row, token

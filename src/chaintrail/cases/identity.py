"""Who acts: agencies (with their Ed25519 signing keys), users, roles and API tokens.

A *home* agency has users and a signing key (in a key file, see ``keys``); a
*foreign* agency is a partner whose public key this server trusts for incoming
case packages. Roles, least to most: viewer (read), investigator (read and
write its agency's cases, share them), admin (also manage its agency's users).
The *operator* is the one user of a single-user SQLite database, with an
admin's rights (see ``enrolment``). API tokens are random and stored only as
their SHA-256; a user row counts only if the audit log recorded it
(``integrity.recorded``).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy.engine import Connection

from chaintrail.cases import keys, rows
from chaintrail.cases import schema as S
from chaintrail.cases.audit import now
from chaintrail.cases.errors import NotFound
from chaintrail.errors import UsageError

ROLES: tuple[str, ...] = ("viewer", "investigator", "admin")
OPERATOR = "operator"          # the single-user database's one user: an admin's rights, never enrolled
ROLE_RANK = {r: i for i, r in enumerate(ROLES)} | {OPERATOR: 2}
AGENCY_KINDS = ("home", "foreign")


@dataclass(frozen=True)
class Principal:
    """An authenticated user acting for one agency."""

    user_id: int | None
    username: str
    agency_id: int
    agency: str
    role: str

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def check_name(name: str, what: str) -> str:
    s = (name or "").strip()
    if not s or len(s) > 80 or any(c in s for c in "\n\r\t"):
        raise UsageError(f"{what} must be 1-80 characters on one line")
    return s


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint(public_key_hex: str) -> str:
    """A short, comparable name for a public key: 'SHA256:ab12cd34…' (first 16 bytes of its SHA-256)."""
    return "SHA256:" + hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:32]


def new_keypair() -> tuple[str, str]:
    """(private seed hex, public key hex) for Ed25519 (tests and tools; agencies' keys go through ``keys``)."""
    k = Ed25519PrivateKey.generate()
    return k.private_bytes_raw().hex(), k.public_key().public_bytes_raw().hex()


def private_key(seed_hex: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def public_key(public_hex: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    except ValueError as exc:
        raise UsageError(f"not an Ed25519 public key: {public_hex[:20]}…") from exc


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # containers without a login name
        return "local"


# -- agencies ------------------------------------------------------------------------
def agency_row(conn: Connection, name: str) -> dict | None:
    r = conn.execute(sa.select(S.agencies).where(S.agencies.c.name == name)).first()
    return None if r is None else dict(r._mapping)


def agency_by_id(conn: Connection, agency_id: int) -> dict:
    r = conn.execute(sa.select(S.agencies).where(S.agencies.c.id == agency_id)).one()
    return dict(r._mapping)


def create_agency(conn: Connection, actor: str, name: str, *, kind: str = "home", country: str | None = None,
                  public_key_hex: str | None = None, key_dir: Path | None = None) -> dict:
    """A home agency gets a fresh signing key (written to ``key_dir``, see ``keys``); a foreign one needs its public key."""
    name = check_name(name, "an agency name")
    if kind not in AGENCY_KINDS:
        raise UsageError(f"agency kind must be home or foreign, not {kind!r}")
    if agency_row(conn, name) is not None:
        raise UsageError(f"agency {name!r} already exists")
    if kind == "home":
        if key_dir is None:
            raise UsageError("a home agency needs a key directory for its signing key")
        key = Ed25519PrivateKey.generate()
        pub = key.public_key().public_bytes_raw().hex()
        keys.write_key(key_dir, name, key)
    else:
        if not public_key_hex:
            raise UsageError("a foreign agency needs the public key its packages are signed with")
        public_key(public_key_hex)
        pub = public_key_hex.lower()
    return rows.insert(conn, S.agencies, {"name": name, "kind": kind, "country": country, "public_key": pub,
                                          "private_key": None, "created_at": now()},
                       actor=actor, agency=None, action="agency.create", case_ref=None,
                       detail={"name": name, "kind": kind, "fingerprint": fingerprint(pub)})


# -- users ---------------------------------------------------------------------------
def create_user(conn: Connection, actor: str, actor_agency: str | None, username: str, agency: str,
                role: str, *, action: str = "user.create") -> tuple[dict, str | None]:
    """A user of a home agency, with a fresh API token (returned once, stored only as its hash)."""
    username = check_name(username, "a user name")
    if role != OPERATOR:
        check_role(role)
    a = agency_row(conn, agency)
    if a is None or a["kind"] != "home":
        raise NotFound(f"no home agency {agency!r}")
    if conn.execute(sa.select(S.users.c.id).where(S.users.c.username == username)).first() is not None:
        raise UsageError(f"user {username!r} already exists")
    token = None if role == OPERATOR else secrets.token_urlsafe(24)     # the operator has no API token
    row = rows.insert(conn, S.users, {"username": username, "agency_id": a["id"], "role": role,
                                      "token_hash": token and token_hash(token), "active": 1, "created_at": now()},
                      actor=actor, agency=actor_agency, action=action, case_ref=None,
                      detail={"username": username, "agency": agency, "role": role})
    return row, token


def user_count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(S.users)).scalar_one())


def user_row(conn: Connection, username: str) -> dict | None:
    r = conn.execute(sa.select(S.users).where(S.users.c.username == username)).first()
    return None if r is None else dict(r._mapping)


def principal_of_user(conn: Connection, user: dict) -> Principal:
    a = agency_by_id(conn, user["agency_id"])
    return Principal(user["id"], user["username"], a["id"], a["name"], user["role"])


def principal_for_name(conn: Connection, username: str) -> Principal:
    r = conn.execute(sa.select(S.users).where(S.users.c.username == username, S.users.c.active == 1)).first()
    if r is None:
        raise NotFound(f"no active user {username!r}")
    return principal_of_user(conn, dict(r._mapping))


def principal_for_token(conn: Connection, token: str) -> Principal | None:
    """The user an API token belongs to, or None (by hash, in constant time; only a user row the log recorded)."""
    from chaintrail.cases.integrity import recorded

    if not token:
        return None
    want = token_hash(token)
    r = conn.execute(sa.select(S.users).where(S.users.c.token_hash == want, S.users.c.active == 1)).first()
    if r is None or not hmac.compare_digest(r.token_hash, want) or not recorded(conn, S.users, dict(r._mapping)):
        return None
    return principal_of_user(conn, dict(r._mapping))


def set_token(conn: Connection, actor: str, actor_agency: str | None, username: str, token: str) -> None:
    """Bind a given token (e.g. the one `chaintrail serve` printed) to a user."""
    r = conn.execute(sa.select(S.users.c.id).where(S.users.c.username == username)).first()
    if r is None:
        raise NotFound(f"no user {username!r}")
    rows.update(conn, S.users, int(r.id), {"token_hash": token_hash(token)}, actor=actor, agency=actor_agency,
                action="user.token", case_ref=None, detail={"username": username})

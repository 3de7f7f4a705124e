"""Agency signing keys, kept outside the case database: one 0600 key file per home agency.

The database holds each agency's *public* key (in its audited, hashed row);
the Ed25519 private key lives in a key directory: ``$CHAINTRAIL_KEY_DIR``,
else ``<db stem>.keys/`` beside a SQLite case database, else
``~/.chaintrail/keys`` (a PostgreSQL team server). A key file is PKCS#8 PEM,
named after the key's fingerprint, created 0600 in a 0700 directory, and
encrypted when ``$CHAINTRAIL_KEY_PASSPHRASE`` is set. A key file that others
can read, or that does not match the public key on record, is refused.

``load_signing_key(db, agency)`` is the one way to get an agency's private key
(package export, audit checkpoints). ``migrate_plaintext_keys`` moves a key an
older release stored in the database out to its file and blanks the column,
logged in the audit log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chaintrail.errors import UsageError

log = logging.getLogger(__name__)
KEY_DIR_ENV = "CHAINTRAIL_KEY_DIR"
PASSPHRASE_ENV = "CHAINTRAIL_KEY_PASSPHRASE"


class SigningKeyError(UsageError):
    """An agency's signing key is missing, unreadable, exposed or not the one on record."""


def default_key_dir(sqlite_path: Path | None) -> Path:
    """Where keys live for a case database (``$CHAINTRAIL_KEY_DIR`` wins)."""
    env = os.environ.get(KEY_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if sqlite_path is not None:
        return sqlite_path.parent / f"{sqlite_path.stem}.keys"
    return Path.home() / ".chaintrail" / "keys"


def key_file(key_dir: Path, agency: str, public_key_hex: str) -> Path:
    """The file an agency's key is kept in: named after the agency and its public key's fingerprint."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", agency)[:40] or "agency"
    fp = hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:32]
    return key_dir / f"{safe}-{fp}.ed25519.pem"


def _passphrase() -> bytes | None:
    p = os.environ.get(PASSPHRASE_ENV)
    return p.encode() if p else None


def write_key(key_dir: Path, agency: str, key: Ed25519PrivateKey) -> Path:
    """Write a new key file (0600, never over an existing one); returns its path."""
    pub = key.public_key().public_bytes_raw().hex()
    path = key_file(key_dir, agency, pub)
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pw = _passphrase()
    enc = serialization.BestAvailableEncryption(pw) if pw else serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    if path.exists():           # the same key again (e.g. a retried migration): keep the file, check it
        if _read(path, agency).public_key().public_bytes_raw().hex() != pub:
            raise SigningKeyError(f"key file {path} holds another key than {agency}'s")
        return path
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def _read(path: Path, agency: str) -> Ed25519PrivateKey:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SigningKeyError(f"no signing key for agency {agency}: {path} is missing (set ${KEY_DIR_ENV} if the "
                        f"keys are elsewhere)") from None
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}): "
                        f"chmod 600 it") from None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=_passphrase())
    except TypeError:
        raise SigningKeyError(f"key file {path} is encrypted: set ${PASSPHRASE_ENV}") from None
    except ValueError:
        raise SigningKeyError(f"key file {path} cannot be read (wrong ${PASSPHRASE_ENV}, or not a key)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"key file {path} does not hold an Ed25519 key")
    return key


def load_key(key_dir: Path, agency: str, public_key_hex: str) -> Ed25519PrivateKey:
    """The private key matching ``public_key_hex`` from ``key_dir`` (refused if it does not match)."""
    path = key_file(key_dir, agency, public_key_hex)
    key = _read(path, agency)
    if key.public_key().public_bytes_raw().hex() != public_key_hex.lower():
        raise SigningKeyError(f"key file {path} does not match {agency}'s public key on record")
    return key


def load_signing_key(db, agency: str) -> Ed25519PrivateKey:
    """Agency ``agency``'s Ed25519 signing key, from its key file, checked against the public key on record.

    ``db`` is an open ``chaintrail.cases.db.Database`` (``repo.db``).
    """
    from chaintrail.cases import integrity
    from chaintrail.cases import schema as S

    with db.read() as conn:
        r = conn.execute(sa.select(S.agencies).where(S.agencies.c.name == agency)).first()
        row = None if r is None else dict(r._mapping)
        if row is not None and not integrity.recorded(conn, S.agencies, row):
            raise SigningKeyError(f"agency {agency}'s record does not match the audit log: run `chaintrail case verify`")
    if row is None:
        raise SigningKeyError(f"no agency {agency!r}")
    if row["kind"] != "home" or not row["public_key"]:
        raise SigningKeyError(f"agency {agency} is not a home agency here: it has no signing key")
    return load_key(db.key_dir, agency, row["public_key"])


def migrate_plaintext_keys(db) -> int:
    """Move private keys an older release kept in the database to key files, blank the column, log it."""
    from chaintrail.cases import rows
    from chaintrail.cases import schema as S

    with db.read() as conn:
        found = conn.execute(sa.select(S.agencies.c.id).where(S.agencies.c.private_key.is_not(None))).first()
    if found is None:
        return 0
    moved = 0
    with db.tx() as conn:
        for r in conn.execute(sa.select(S.agencies).where(S.agencies.c.private_key.is_not(None))).all():
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(r.private_key))
            if key.public_key().public_bytes_raw().hex() != (r.public_key or "").lower():
                raise SigningKeyError(f"agency {r.name}'s stored private key does not match its public key")
            path = write_key(db.key_dir, r.name, key)
            rows.update(conn, S.agencies, int(r.id), {"private_key": None}, actor="system:keys", agency=None,
                        action="agency.key.moved", case_ref=None, detail={"name": r.name, "key_file": str(path)})
            log.warning("moved agency %s's private key out of the case database into %s", r.name, path)
            moved += 1
    return moved

"""Open the case database: SQLite (embedded default) or PostgreSQL (team server), one interface.

``Database.open(dsn)`` takes a file path, ``sqlite:///path`` or
``postgresql://user@host/db`` (``?host=/socket/dir`` for a unix socket) and
creates the schema if it is missing. Writes go through ``tx()``: one
transaction, begun so that two writers can never interleave their audit
appends (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a row lock on the audit head).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from chaintrail.cases import schema as S
from chaintrail.cases.errors import CaseDbError
from chaintrail.cases.hashing import GENESIS

log = logging.getLogger(__name__)
AUDIT_FIRST_SEQ = "chaintrail_audit_first_seq"   # conn.info key: the first entry this transaction appended


def normalize_dsn(dsn: str | os.PathLike) -> str:
    """A SQLAlchemy URL for a path or DSN; PostgreSQL goes through psycopg 3."""
    s = str(dsn)
    if s.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + s.split("://", 1)[1]
    if s.startswith(("postgresql+", "sqlite:")):
        return s
    if "://" in s:
        raise CaseDbError(f"unsupported case database {s!r}: give a file path, sqlite:///PATH or postgresql://...")
    return "sqlite:///" + str(Path(s).expanduser().resolve())


def redact_dsn(url: str) -> str:
    """The DSN without its password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say nothing about it
        return "<case database>"


class Database:
    """An engine on the case database, with the schema in place."""

    def __init__(self, engine: Engine, url: str, key_dir: Path | None = None, checkpoints: Path | None = None):
        self.engine = engine
        self.url = url
        self.kind = engine.dialect.name          # sqlite | postgresql
        self._key_dir = key_dir
        self._checkpoints = checkpoints

    @property
    def key_dir(self) -> Path:
        """Where this database's agencies keep their signing keys (see ``keys``)."""
        from chaintrail.cases.keys import default_key_dir
        return self._key_dir or default_key_dir(self.sqlite_path)

    @property
    def checkpoints(self) -> Path:
        """The append-only file of this database's signed audit heads (see ``checkpoints``)."""
        from chaintrail.cases.checkpoints import default_path
        return self._checkpoints or default_path(self.sqlite_path, redact_dsn(self.url))

    @classmethod
    def open(cls, dsn: str | os.PathLike, *, create: bool = True, key_dir: Path | None = None,
             checkpoints: Path | None = None) -> "Database":
        url = normalize_dsn(dsn)
        if url.startswith("sqlite:"):
            path = url.split("sqlite:///", 1)[-1]
            if path and path != ":memory:":
                if not create and not Path(path).exists():
                    raise CaseDbError(f"no case database at {path}")
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})
            _sqlite_immediate(engine)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        db = cls(engine, url, key_dir, checkpoints)
        try:
            db._ensure_schema()
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise CaseDbError(f"cannot open case database {redact_dsn(url)}: {str(exc).splitlines()[0]}") from exc
        from chaintrail.cases.keys import migrate_plaintext_keys
        try:
            migrate_plaintext_keys(db)      # an older release kept private keys in the database
        except sa.exc.DatabaseError as exc:  # a damaged file: left for `case verify` to name
            log.warning("cannot check %s for plaintext keys: %s", redact_dsn(url), str(exc).splitlines()[0])
        except Exception:
            engine.dispose()
            raise
        return db

    def _ensure_schema(self) -> None:
        with self.tx() as conn:
            S.metadata.create_all(conn)
            for ix in S.LATE_INDEXES:       # indexes added after a table existed: create_all skips them
                ix.create(conn, checkfirst=True)
            if conn.execute(sa.select(S.audit_head.c.id)).first() is None:
                conn.execute(sa.insert(S.audit_head).values(id=1, seq=0, entry_hash=GENESIS))

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction (committed on success, rolled back on any error).

        Once a transaction that appended audit entries commits, the new head is signed into the checkpoint file.
        """
        try:
            with self.engine.begin() as conn:
                conn.info.pop(AUDIT_FIRST_SEQ, None)
                yield conn
                first = conn.info.pop(AUDIT_FIRST_SEQ, None)
        except sa.exc.OperationalError as exc:
            raise CaseDbError(f"case database error: {str(exc.orig).splitlines()[0]}") from exc
        if first is not None:
            from chaintrail.cases.checkpoints import anchor
            anchor(self, first)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only look (a transaction that is never committed)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise CaseDbError(f"case database error: {str(exc.orig).splitlines()[0]}") from exc

    @property
    def sqlite_path(self) -> Path | None:
        if self.kind != "sqlite":
            return None
        p = self.url.split("sqlite:///", 1)[-1]
        return Path(p) if p and p != ":memory:" else None

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_immediate(engine: Engine) -> None:
    """pysqlite's own transaction handling defers the write lock; take it at BEGIN instead."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")

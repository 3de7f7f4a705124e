"""The case database's tables (SQLAlchemy Core): the only place their column names are spelled.

The same tables serve SQLite (the embedded default) and PostgreSQL (the team
server). Column types are chosen so both hand back identical values: text for
timestamps and JSON (their exact bytes are hashed), integers, and bytes for
attachment content. No booleans or floats, whose round trips differ.

Every table but ``audit`` has a ``row_hash`` over all its other columns; the
audit entry that last wrote the row records that hash, and each audit entry
hashes its predecessor's hash. ``verify`` checks all three.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_ID = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column:
    return Column("id", _ID, primary_key=True, autoincrement=True)


def _item_columns() -> list[Column]:
    """Columns every case item has: its marking, who made it, when, where it came from, its hash."""
    return [Column("tlp", Text, nullable=False),
            Column("created_by", Text, nullable=False),
            Column("created_at", Text, nullable=False),
            Column("origin", Text),            # JSON: the sending agency's attribution for imported items
            Column("row_hash", Text, nullable=False)]


agencies = Table(
    "agencies", metadata, _id(),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),          # home (has users, signs) | foreign (a trusted peer's key)
    Column("country", Text),
    Column("public_key", Text),                    # Ed25519, hex
    Column("private_key", Text),                   # always NULL: keys live in key files (cases/keys.py)
    Column("created_at", Text, nullable=False),
    Column("row_hash", Text, nullable=False),
)

users = Table(
    "users", metadata, _id(),
    Column("username", Text, nullable=False, unique=True),
    Column("agency_id", _ID, ForeignKey("agencies.id"), nullable=False),
    Column("role", Text, nullable=False),          # viewer | investigator | admin | operator (single-user)
    Column("token_hash", Text),                    # SHA-256 of the API token; the token itself is never kept
    Column("active", Integer, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("row_hash", Text, nullable=False),
)

cases = Table(
    "cases", metadata, _id(),
    Column("ref", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("agency_id", _ID, ForeignKey("agencies.id"), nullable=False),
    Column("status", Text, nullable=False),        # open | closed
    *_item_columns(),
)

shares = Table(
    "shares", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("agency_id", _ID, ForeignKey("agencies.id"), nullable=False),
    Column("tlp_max", Text, nullable=False),       # the most restricted level that agency may read
    *_item_columns(),
    UniqueConstraint("case_id", "agency_id"),
)

subjects = Table(
    "subjects", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("kind", Text, nullable=False),          # address | transaction | entity
    Column("value", Text, nullable=False),
    Column("label", Text),
    *_item_columns(),
)

findings = Table(
    "findings", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("kind", Text, nullable=False),          # trace | screen | explain
    Column("title", Text, nullable=False),
    Column("spec", Text, nullable=False),          # JSON: what was asked (source, addresses)
    Column("params", Text, nullable=False),        # JSON
    Column("versions", Text, nullable=False),      # JSON: engine and heuristic versions
    Column("error_rates", Text, nullable=False),   # JSON: measured error rates of the heuristics used
    Column("block_hashes", Text, nullable=False),  # JSON list: every block the analysis read
    Column("tags", Text, nullable=False),          # JSON list: the tags the result rests on
    Column("result", Text, nullable=False),        # JSON: the analysis' own output
    Column("result_hash", Text, nullable=False),
    Column("store_hash", Text),                    # content hash of the chain store it ran on
    Column("finding_hash", Text, nullable=False),  # reproduced by a rerun on the same store
    *_item_columns(),
)

notes = Table(
    "notes", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("about", Text),                         # optional: an address, txid or "finding:N"
    Column("body", Text, nullable=False),
    *_item_columns(),
)

attachments = Table(
    "attachments", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("kind", Text, nullable=False),          # file | exchange_records
    Column("filename", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("meta", Text),                          # JSON: e.g. exchange records mapped onto chain data
    *_item_columns(),
)

case_tags = Table(
    "case_tags", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("address", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("category", Text),
    Column("actor", Text),
    Column("source", Text),
    Column("confidence", Text),
    Column("context", Text),
    *_item_columns(),
)

watches = Table(
    "watches", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("chain", Text, nullable=False),         # btc | eth
    Column("kind", Text, nullable=False),          # address | entity | category | exposure
    Column("target", Text, nullable=False),        # an address, cluster:N or 0x..., or a category
    Column("params", Text, nullable=False),        # JSON: direction, to_category, min_amount, max_hops, ...
    Column("notify", Text, nullable=False),        # JSON: webhook URL, e-mail recipients
    Column("label", Text),
    Column("active", Integer, nullable=False),     # 1, or 0 once removed (kept: alerts name it)
    *_item_columns(),
)

alerts = Table(
    "alerts", metadata, _id(),
    Column("case_id", _ID, ForeignKey("cases.id"), nullable=False),
    Column("watch_id", _ID, ForeignKey("watches.id"), nullable=False),
    Column("chain", Text, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", Text, nullable=False),    # hex, as explorers show it
    Column("tx_hash", Text, nullable=False),
    Column("direction", Text, nullable=False),     # out (the watched side paid) | in (it received)
    Column("address", Text, nullable=False),       # the watched side's address in this transaction
    Column("counterparty", Text),
    Column("asset", Text, nullable=False),         # BTC | ETH | 0xTOKEN
    Column("amount", Text, nullable=False),        # exact base units, decimal text
    Column("reason", Text, nullable=False),        # why the watch fired, in words
    Column("status", Text, nullable=False),        # active | retracted
    Column("retracted_at", Text),
    Column("retract_reason", Text),
    *_item_columns(),
    UniqueConstraint("watch_id", "tx_hash", "block_hash", "direction", "asset"),
)

# Operational logs (not case records): each delivery attempt, and which user has read which alert.
alert_deliveries = Table(
    "alert_deliveries", metadata, _id(),
    Column("alert_id", _ID, ForeignKey("alerts.id"), nullable=False),
    Column("channel", Text, nullable=False),       # webhook | email
    Column("destination", Text, nullable=False),
    Column("event", Text, nullable=False),         # alert | retraction
    Column("attempt", Integer, nullable=False),
    Column("outcome", Text, nullable=False),       # delivered | failed | gave_up
    Column("detail", Text),
    Column("ts", Text, nullable=False),
)

alert_reads = Table(
    "alert_reads", metadata,
    Column("alert_id", _ID, ForeignKey("alerts.id"), primary_key=True),
    Column("username", Text, primary_key=True),
    Column("ts", Text, nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", Text, nullable=False),            # UTC, ISO 8601 with microseconds
    Column("actor", Text, nullable=False),
    Column("agency", Text),
    Column("action", Text, nullable=False),        # e.g. case.create, finding.add, case.read
    Column("case_ref", Text),
    Column("target", Text),                        # "<table>:<id>" of the row written, if any
    Column("detail", Text, nullable=False),        # JSON; holds the written row's hash
    Column("outcome", Text, nullable=False),       # ok | denied | failed
    Column("prev_hash", Text, nullable=False),
    Column("entry_hash", Text, nullable=False),
)

# Access checks look up the entry that last wrote a row (integrity.recorded).
audit_target = Index("ix_audit_target", audit.c.target, audit.c.seq)
LATE_INDEXES = (audit_target,)

# One row (id 1): the last entry's number and hash. Appends lock it, so the chain never forks.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", Text, nullable=False),
)

# The tables whose rows carry a row_hash and are checked against the log, in verify's order.
HASHED = {t.name: t for t in (agencies, users, cases, shares, subjects, findings, notes, attachments, case_tags,
                                watches, alerts)}

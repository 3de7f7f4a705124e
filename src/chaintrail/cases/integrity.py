"""Is a row the one the audit log says was written? Access checks trust only rows that are.

A row counts as recorded when its content still gives its ``row_hash`` and the
last audit entry that wrote it (ok outcome, same target, a ``row_hash`` in its
detail) records exactly that hash and is itself intact (its content gives its
``entry_hash``). A row put in by SQL behind the log's back, changed after its
write, or brought back after the log deleted it is not recorded, so it grants
nothing: no share, no user token, no case ownership.

This is a per-row check, cheap enough for every request; ``case verify``
walks the whole chain.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chaintrail.cases import schema as S
from chaintrail.cases.hashing import entry_hash, row_hash


def recorded(conn: Connection, table: sa.Table, row: dict) -> bool:
    """True when ``row`` (every column, as stored) is exactly what its last audited write left."""
    if not row.get("row_hash") or row_hash(table.name, row) != row["row_hash"]:
        return False
    target = f"{table.name}:{row['id']}"
    q = (sa.select(S.audit).where(S.audit.c.target == target, S.audit.c.outcome == "ok")
         .order_by(S.audit.c.seq.desc()))
    for r in conn.execute(q):
        e = dict(r._mapping)
        try:
            detail = json.loads(e["detail"])
        except ValueError:
            return False
        if not isinstance(detail, dict) or "row_hash" not in detail:
            continue                      # a read of the row (e.g. attachment.read), not a write
        return detail["row_hash"] == row["row_hash"] and \
            entry_hash({k: v for k, v in e.items() if k != "entry_hash"}) == e["entry_hash"]
    return False


def recorded_rows(conn: Connection, table: sa.Table, rows: list[dict]) -> list[dict]:
    """The rows of ``rows`` that are recorded (see ``recorded``)."""
    return [r for r in rows if recorded(conn, table, r)]

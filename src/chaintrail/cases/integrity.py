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


def recorded(conn: Connection, table: sa.Table, row: dict, batches: list | None = None) -> bool:
    """True when ``row`` (every column, as stored) is exactly what its last audited write left.

    The last write is the newest of the entries that name the row and the batch entries (``rows.insert_many``)
    that list it; ``batches`` (from ``batch_entries``) saves reading those again for many rows of one table."""
    if not row.get("row_hash") or row_hash(table.name, row) != row["row_hash"]:
        return False
    target = f"{table.name}:{row['id']}"
    q = (sa.select(S.audit).where(S.audit.c.target == target, S.audit.c.outcome == "ok")
         .order_by(S.audit.c.seq.desc()))
    found: tuple[int, str | None, bool] | None = None
    for r in conn.execute(q):
        e = dict(r._mapping)
        try:
            detail = json.loads(e["detail"])
        except ValueError:
            return False
        if not isinstance(detail, dict) or "row_hash" not in detail:
            continue                      # a read of the row (e.g. attachment.read), not a write
        found = (int(e["seq"]), detail["row_hash"], _intact(e))
        break
    for seq, lo, hi, hashes, intact in (batch_entries(conn, table) if batches is None else batches):
        if lo <= int(row["id"]) <= hi and str(row["id"]) in hashes and (found is None or seq > found[0]):
            found = (seq, hashes[str(row["id"])], intact)
            break
    return found is not None and found[1] == row["row_hash"] and found[2]


def _intact(e: dict) -> bool:
    return entry_hash({k: v for k, v in e.items() if k != "entry_hash"}) == e["entry_hash"]


def batch_entries(conn: Connection, table: sa.Table) -> list[tuple[int, int, int, dict, bool]]:
    """The batch writes of ``table``, newest first: (seq, first id, last id, id -> row hash, entry intact)."""
    q = (sa.select(S.audit).where(S.audit.c.target.like(f"{table.name}:batch:%"), S.audit.c.outcome == "ok")
         .order_by(S.audit.c.seq.desc()))
    out = []
    for r in conn.execute(q):
        e = dict(r._mapping)
        try:
            lo, hi = (int(x) for x in e["target"].rsplit(":", 1)[1].split("-"))
            hashes = json.loads(e["detail"])["rows"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(hashes, dict):
            out.append((int(e["seq"]), lo, hi, hashes, _intact(e)))
    return out


def recorded_rows(conn: Connection, table: sa.Table, rows: list[dict]) -> list[dict]:
    """The rows of ``rows`` that are recorded (see ``recorded``), with a few queries for all of them."""
    batches = batch_entries(conn, table)
    last: dict[int, tuple[int, str | None, bool]] = {}
    ids = [int(r["id"]) for r in rows]
    for k in range(0, len(ids), 500):
        targets = [f"{table.name}:{i}" for i in ids[k:k + 500]]
        q = (sa.select(S.audit).where(S.audit.c.target.in_(targets), S.audit.c.outcome == "ok")
             .order_by(S.audit.c.seq))
        for found_row in conn.execute(q):
            e = dict(found_row._mapping)
            try:
                detail = json.loads(e["detail"])
            except ValueError:
                detail = {"row_hash": None}      # unreadable: counts as a write that records nothing
            if isinstance(detail, dict) and "row_hash" in detail:
                last[int(e["target"].rsplit(":", 1)[1])] = (int(e["seq"]), detail["row_hash"], _intact(e))
    out = []
    for r in rows:
        i = int(r["id"])
        found = last.get(i)
        for seq, lo, hi, hashes, intact in batches:
            if lo <= i <= hi and str(i) in hashes and (found is None or seq > found[0]):
                found = (seq, hashes[str(i)], intact)
                break
        if (found is not None and found[2] and found[1] == r.get("row_hash")
                and r.get("row_hash") and row_hash(table.name, r) == r["row_hash"]):
            out.append(r)
    return out

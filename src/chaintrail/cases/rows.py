"""Writing hashed rows: every insert, update or delete of a case row goes with the audit entry that records it.

The row's ``row_hash`` covers every other column, its id included; the audit
entry stores that hash in its detail, in the same transaction. ``verify`` then
holds each row to the hash its last recorded write left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chaintrail.cases import audit
from chaintrail.cases import schema as S
from chaintrail.cases.hashing import row_hash


def target_of(table: sa.Table, row_id: int) -> str:
    return f"{table.name}:{row_id}"


def fetch(conn: Connection, table: sa.Table, row_id: int) -> dict[str, Any] | None:
    r = conn.execute(sa.select(table).where(table.c.id == row_id)).first()
    return None if r is None else dict(r._mapping)


def insert(conn: Connection, table: sa.Table, values: dict[str, Any], *, actor: str, agency: str | None,
           action: str, case_ref: str | None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """Insert a row, seal it with its hash, and record both in the log; returns the stored row."""
    if table.name not in S.HASHED:
        raise ValueError(f"{table.name} is not a hashed table")
    res = conn.execute(sa.insert(table).values(**values, row_hash=""))
    pk = res.inserted_primary_key
    assert pk is not None
    row_id = int(pk[0])
    row = fetch(conn, table, row_id)
    assert row is not None
    row["row_hash"] = row_hash(table.name, row)
    conn.execute(sa.update(table).where(table.c.id == row_id).values(row_hash=row["row_hash"]))
    audit.append(conn, actor=actor, agency=agency, action=action, case_ref=case_ref,
                 target=target_of(table, row_id), detail={**(detail or {}), "row_hash": row["row_hash"]})
    return row


def insert_many(conn: Connection, table: sa.Table, values: list[dict[str, Any]], *, actor: str, agency: str | None,
                action: str, case_ref: str | None, detail: dict[str, Any] | None = None,
                item: Callable[[dict[str, Any]], Any] | None = None) -> list[dict[str, Any]]:
    """Insert many rows, each sealed with its hash, recorded by ONE audit entry (a batch, e.g. a watchlist).

    The entry's target is ``<table>:batch:<first id>-<last id>`` and its detail maps every row id to its hash
    (``rows``), so ``verify`` and ``integrity.recorded`` hold each row to it as to a single write; with ``item``
    the detail also lists ``item(row)`` for every row (``items``), to say what was written."""
    if table.name not in S.HASHED:
        raise ValueError(f"{table.name} is not a hashed table")
    if not values:
        return []
    ids = []
    for v in values:
        pk = conn.execute(sa.insert(table).values(**v, row_hash="")).inserted_primary_key
        assert pk is not None
        ids.append(int(pk[0]))
    out: list[dict[str, Any]] = []
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        got = {int(r.id): dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.id.in_(chunk)))}
        out += [got[i] for i in chunk]
    for row in out:
        row["row_hash"] = row_hash(table.name, row)
    conn.execute(sa.update(table).where(table.c.id == sa.bindparam("rid")).values(row_hash=sa.bindparam("rh")),
                 [{"rid": r["id"], "rh": r["row_hash"]} for r in out])
    audit.append(conn, actor=actor, agency=agency, action=action, case_ref=case_ref,
                 target=f"{table.name}:batch:{min(ids)}-{max(ids)}",
                 detail={**(detail or {}), **({"items": [item(r) for r in out]} if item else {}),
                         "rows": {str(r["id"]): r["row_hash"] for r in out}})
    return out


def update(conn: Connection, table: sa.Table, row_id: int, changes: dict[str, Any], *, actor: str,
           agency: str | None, action: str, case_ref: str | None,
           detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """Change columns of one row, reseal it and record the change (old and new hash)."""
    old = fetch(conn, table, row_id)
    if old is None:
        raise KeyError(target_of(table, row_id))
    row = {**old, **changes}
    row["row_hash"] = row_hash(table.name, row)
    conn.execute(sa.update(table).where(table.c.id == row_id).values(**changes, row_hash=row["row_hash"]))
    audit.append(conn, actor=actor, agency=agency, action=action, case_ref=case_ref,
                 target=target_of(table, row_id),
                 detail={**(detail or {}), "changed": sorted(changes), "previous_row_hash": old["row_hash"],
                         "row_hash": row["row_hash"]})
    return row


def delete(conn: Connection, table: sa.Table, row_id: int, *, actor: str, agency: str | None, action: str,
           case_ref: str | None, detail: dict[str, Any] | None = None) -> None:
    """Remove one row; the log keeps its last hash and says it is gone (row_hash null)."""
    old = fetch(conn, table, row_id)
    if old is None:
        raise KeyError(target_of(table, row_id))
    conn.execute(sa.delete(table).where(table.c.id == row_id))
    audit.append(conn, actor=actor, agency=agency, action=action, case_ref=case_ref,
                 target=target_of(table, row_id),
                 detail={**(detail or {}), "previous_row_hash": old["row_hash"], "row_hash": None})

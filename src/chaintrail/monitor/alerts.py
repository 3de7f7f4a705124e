"""Alerts as case records: raised and retracted by the monitor, read by the case's agency.

Each alert names the watch that fired, the triggering transaction, the watched side's address, amount and
asset, and the block (number and hash) it was seen in. Raising one is an ``alert.raise`` entry in its case's
audit log, in the same transaction as the row; a reorganisation that drops the block retracts it
(``alert.retract``: the row stays, marked retracted with the reason), so what was once said stays visible.
Raising is idempotent: a restarted monitor that sees the same block again adds nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chaintrail.cases import audit, rows, tlp
from chaintrail.cases import schema as S
from chaintrail.cases.access import visible_case_ids
from chaintrail.cases.db import Database
from chaintrail.cases.hashing import loads
from chaintrail.cases.identity import Principal
from chaintrail.cases.repository import CaseRepository

MONITOR_ACTOR = "monitor"
_FIELDS = ("watch_id", "chain", "block_number", "block_hash", "tx_hash", "direction", "address", "counterparty",
           "asset", "amount", "reason")


def alert_dict(row: dict, case_ref: str | None = None) -> dict:
    """An alert as the API gives it; ``imported_from`` names the agency whose case package brought it (None: ours)."""
    out = {k: v for k, v in row.items() if k not in ("row_hash", "origin")}
    origin = loads(row["origin"]) if row.get("origin") else None
    out["imported_from"] = origin.get("agency") if isinstance(origin, dict) else None
    if case_ref is not None:
        out["case_ref"] = case_ref
    return out


def raise_alerts(db: Database, found: list[dict]) -> list[dict]:
    """Store each new alert (``found``: the _FIELDS plus case_id, case_ref, agency, tlp); returns those stored."""
    out: list[dict] = []
    if not found:
        return out
    with db.tx() as conn:
        for a in found:
            if _existing(conn, a) is not None:
                continue
            row = rows.insert(conn, S.alerts, {
                **{k: a[k] for k in _FIELDS}, "case_id": a["case_id"], "status": "active", "retracted_at": None,
                "retract_reason": None, "tlp": a["tlp"], "created_by": MONITOR_ACTOR, "created_at": audit.now(),
                "origin": None}, actor=MONITOR_ACTOR, agency=a["agency"], action="alert.raise",
                case_ref=a["case_ref"], detail={"watch": a["watch_id"], "tx": a["tx_hash"],
                                                "block_hash": a["block_hash"], "amount": a["amount"],
                                                "asset": a["asset"]})
            out.append(alert_dict(row, a["case_ref"]))
    return out


def _existing(conn: Connection, a: dict):
    t = S.alerts.c
    return conn.execute(sa.select(t.id).where(t.watch_id == a["watch_id"], t.tx_hash == a["tx_hash"],
                                              t.block_hash == a["block_hash"], t.direction == a["direction"],
                                              t.asset == a["asset"])).first()


def retract(db: Database, chain: str, keep, reason: str) -> list[dict]:
    """Retract every active alert on ``chain`` whose block ``keep(number, hash)`` says is gone.

    Alerts imported from another agency's package (``origin`` set) are that agency's records: never retracted here.
    """
    out = []
    with db.tx() as conn:
        t = S.alerts.c
        live = [dict(r._mapping) for r in conn.execute(
            sa.select(S.alerts).where(t.chain == chain, t.status == "active", t.origin.is_(None))  # not imported
            .order_by(t.id))]
        for a in live:
            if keep(int(a["block_number"]), a["block_hash"]):
                continue
            ref, agency = _case(conn, int(a["case_id"]))
            row = rows.update(conn, S.alerts, int(a["id"]), {"status": "retracted", "retracted_at": audit.now(),
                                                              "retract_reason": reason},
                              actor=MONITOR_ACTOR, agency=agency, action="alert.retract", case_ref=ref,
                              detail={"tx": a["tx_hash"], "block_hash": a["block_hash"], "reason": reason})
            out.append(alert_dict(row, ref))
    return out


def _case(conn: Connection, case_id: int) -> tuple[str, str]:
    c = conn.execute(sa.select(S.cases.c.ref, S.agencies.c.name).join(S.agencies, S.agencies.c.id ==
                                                                     S.cases.c.agency_id)
                     .where(S.cases.c.id == case_id)).one()
    return c.ref, c.name


def visible_alerts(conn: Connection, p: Principal, *, ref: str | None = None, after: int = 0,
                   limit: int = 500) -> list[dict]:
    """Alerts of the cases this principal may see (one case with ``ref``), newest last, id > ``after``."""
    vis = visible_case_ids(conn, p)
    if not vis:
        return []
    refs = {int(r.id): r.ref for r in conn.execute(sa.select(S.cases.c.id, S.cases.c.ref)
                                                   .where(S.cases.c.id.in_(list(vis))))}
    ids = [i for i, r in refs.items() if ref is None or r == ref]
    if not ids:
        return []
    t = S.alerts.c
    q = sa.select(S.alerts).where(t.case_id.in_(ids), t.id > after).order_by(t.id).limit(limit)
    read = {int(r.alert_id) for r in conn.execute(sa.select(S.alert_reads.c.alert_id)
                                                  .where(S.alert_reads.c.username == p.username))}
    out = []
    for r in conn.execute(q):
        row = dict(r._mapping)
        if tlp.allowed(row["tlp"], vis[int(row["case_id"])]):
            out.append(alert_dict(row, refs[int(row["case_id"])]) | {"read": int(row["id"]) in read})
    return out


def changed_since(conn: Connection, p: Principal, seen: dict[int, str]) -> list[dict]:
    """Visible alerts that are new or whose status changed since ``seen`` (id -> status), for a live feed."""
    return [a for a in visible_alerts(conn, p, limit=100_000) if seen.get(int(a["id"])) != a["status"]]


def unread_counts(conn: Connection, p: Principal) -> dict[str, int]:
    """Unread alerts per case ref, for this user."""
    counts: dict[str, int] = {}
    for a in visible_alerts(conn, p, limit=1_000_000):
        if not a["read"]:
            counts[a["case_ref"]] = counts.get(a["case_ref"], 0) + 1
    return counts


def list_alerts(repo: CaseRepository, p: Principal, ref: str | None = None, after: int = 0) -> list[dict]:
    """Alerts as a reader asks for them (logged as alert.list)."""
    if ref is not None:
        return repo._with_case(p, ref, "alert.list", lambda conn, row, acc: _logged(conn, p, ref, after))
    with repo.db.tx() as conn:
        return _logged(conn, p, None, after)


def _logged(conn: Connection, p: Principal, ref: str | None, after: int) -> list[dict]:
    got = visible_alerts(conn, p, ref=ref, after=after)
    audit.append(conn, actor=p.username, agency=p.agency, action="alert.list", case_ref=ref,
                 detail={"count": len(got)})
    return got


def mark_read(repo: CaseRepository, p: Principal, alert_ids: list[int]) -> int:
    """Mark alerts read for this user (only alerts it may see); returns how many were newly marked."""
    n = 0
    with repo.db.tx() as conn:
        mine = {int(a["id"]) for a in visible_alerts(conn, p, limit=1_000_000)}
        for i in alert_ids:
            if i in mine and conn.execute(sa.select(S.alert_reads.c.alert_id).where(
                    S.alert_reads.c.alert_id == i, S.alert_reads.c.username == p.username)).first() is None:
                conn.execute(sa.insert(S.alert_reads).values(alert_id=i, username=p.username, ts=audit.now()))
                n += 1
    return n

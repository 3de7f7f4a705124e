"""The chain of custody: an append-only, hash-chained log of every case action.

Each entry records who (user and agency), what (action, target row and its
hash), when (UTC) and the outcome (ok, or denied for a refused access). Its
``entry_hash`` covers all of that plus the previous entry's hash, so changing,
removing or reordering any entry breaks every hash after it. Writes to case
rows happen in the same transaction as the entry that records them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chaintrail.cases import schema as S
from chaintrail.cases.db import AUDIT_FIRST_SEQ
from chaintrail.cases.hashing import GENESIS, dumps, entry_hash, loads


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    agency: str | None
    action: str
    case_ref: str | None
    target: str | None
    detail: str            # canonical JSON text, exactly as stored
    outcome: str
    prev_hash: str
    entry_hash: str

    @property
    def details(self) -> dict:
        return loads(self.detail) or {}

    def describe(self) -> str:
        """'#17 note.add by alice (NCA) at 2026-11-21T09:12:03Z on note:4 [C-1]'."""
        where = f" on {self.target}" if self.target else ""
        case = f" [{self.case_ref}]" if self.case_ref else ""
        who = f"{self.actor} ({self.agency})" if self.agency else self.actor
        flag = "" if self.outcome == "ok" else f" -> {self.outcome.upper()}"
        return f"#{self.seq} {self.action} by {who} at {self.ts}{where}{case}{flag}"

    def to_dict(self) -> dict:
        return asdict(self)


def now() -> str:
    """UTC now, ISO 8601 with microseconds and a Z (the one timestamp format of the case layer)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(conn: Connection, *, actor: str, agency: str | None, action: str, case_ref: str | None = None,
           target: str | None = None, detail: dict[str, Any] | None = None, outcome: str = "ok") -> AuditEntry:
    """Append one entry inside the caller's transaction; the head row lock serialises writers."""
    head = conn.execute(sa.select(S.audit_head.c.seq, S.audit_head.c.entry_hash)
                        .where(S.audit_head.c.id == 1).with_for_update()).one()
    entry = {"seq": int(head.seq) + 1, "ts": now(), "actor": actor, "agency": agency, "action": action,
             "case_ref": case_ref, "target": target, "detail": dumps(detail or {}), "outcome": outcome,
             "prev_hash": head.entry_hash}
    entry["entry_hash"] = entry_hash(entry)
    conn.execute(sa.insert(S.audit).values(**entry))
    conn.execute(sa.update(S.audit_head).where(S.audit_head.c.id == 1)
                 .values(seq=entry["seq"], entry_hash=entry["entry_hash"]))
    conn.info.setdefault(AUDIT_FIRST_SEQ, entry["seq"])   # Database.tx signs the head after the commit
    return AuditEntry(**entry)


def entries(conn: Connection, *, case_ref: str | None = None, since: int = 0,
            limit: int | None = None) -> list[AuditEntry]:
    """Entries in log order, optionally one case's."""
    q = sa.select(S.audit).where(S.audit.c.seq > since).order_by(S.audit.c.seq)
    if case_ref is not None:
        q = q.where(S.audit.c.case_ref == case_ref)
    if limit is not None:
        q = q.limit(limit)
    return [AuditEntry(**dict(r._mapping)) for r in conn.execute(q)]


def head(conn: Connection) -> tuple[int, str]:
    r = conn.execute(sa.select(S.audit_head.c.seq, S.audit_head.c.entry_hash).where(S.audit_head.c.id == 1)).one()
    return int(r.seq), r.entry_hash


@dataclass
class ChainCheck:
    """What walking the chain found: the last good entry, the head, and every break with its entry."""

    entries: int
    head_seq: int
    head_hash: str
    problems: list[tuple[int | None, str]]      # (entry seq or None, what is wrong)
    recorded: dict[str, tuple[int, str | None]]  # target -> (seq of its last ok write, row hash it recorded)


def check_chain(rows: list[AuditEntry], stored_head: tuple[int, str] | None) -> ChainCheck:
    """Recompute every entry hash and link; collect, per target, the row hash its last write recorded."""
    problems: list[tuple[int | None, str]] = []
    recorded: dict[str, tuple[int, str | None]] = {}
    prev = GENESIS
    expect_seq = 1
    for e in rows:
        if e.seq != expect_seq:
            problems.append((e.seq, f"audit entry #{e.seq} follows #{expect_seq - 1}: "
                                    f"entries {expect_seq}..{e.seq - 1} are missing"))
        if e.prev_hash != prev:
            problems.append((e.seq, f"audit entry #{e.seq} does not link to the entry before it "
                                    f"(prev_hash {e.prev_hash[:16]}…, expected {prev[:16]}…)"))
        recomputed = entry_hash({k: v for k, v in e.to_dict().items() if k != "entry_hash"})
        if recomputed != e.entry_hash:
            problems.append((e.seq, f"audit entry #{e.seq} was altered: its content no longer gives its hash "
                                    f"({e.action} by {e.actor} at {e.ts})"))
        if e.outcome == "ok" and e.target:
            try:
                d = e.details
            except ValueError:
                d = {}
                problems.append((e.seq, f"audit entry #{e.seq} has unreadable detail JSON"))
            if isinstance(d, dict) and "row_hash" in d:   # None: the row was deleted by this entry
                recorded[e.target] = (e.seq, d["row_hash"])
            elif isinstance(d, dict) and ":batch:" in e.target and isinstance(d.get("rows"), dict):
                table = e.target.split(":", 1)[0]          # rows.insert_many: one entry writes many rows
                for rid, rh in d["rows"].items():
                    recorded[f"{table}:{rid}"] = (e.seq, rh)
        prev = e.entry_hash
        expect_seq = e.seq + 1
    head_seq, head_hash = (rows[-1].seq, rows[-1].entry_hash) if rows else (0, GENESIS)
    if stored_head is not None and (stored_head[0] != head_seq or stored_head[1] != head_hash):
        problems.append((stored_head[0] or None,
                         f"the audit head says entry #{stored_head[0]} ({stored_head[1][:16]}…) but the log ends "
                         f"at #{head_seq} ({head_hash[:16]}…): entries were removed or the head was altered"))
    return ChainCheck(len(rows), head_seq, head_hash, problems, recorded)

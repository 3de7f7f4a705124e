"""`case verify`: prove the case database is as its audit log says, or name what was changed.

Checks, in order:

1. the database file itself (SQLite ``quick_check``), so damage to an index or
   page is reported rather than read around;
2. the audit chain: numbering, each entry's link to the one before, each
   entry's own hash, and the head row;
3. every hashed row: its content against its ``row_hash``, and that hash
   against the one its last audit entry recorded (rows written behind the
   log's back, and rows the log wrote but that are gone, are both named);
4. findings: result hash and finding hash recomputed from their content;
   attachments: the SHA-256 of their bytes;
5. the log against the signed checkpoint file kept outside the database
   (see ``checkpoints``): every line's signature and link, and every head it
   anchored still in the log. This is what catches a log rewritten with every
   hash recomputed, or cut short with its head moved back.

Any altered byte in a log entry or a row lands in one of these and the
problem names the entry (``#17 note.add by alice ...``) or the row and the
entry that recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from chaintrail.cases import audit, checkpoints, identity
from chaintrail.cases import schema as S
from chaintrail.cases.db import Database
from chaintrail.cases.errors import CaseDbError
from chaintrail.cases.hashing import digest, loads, row_hash, sha256_hex
from chaintrail.errors import UsageError


@dataclass
class Problem:
    entry: int | None            # the audit entry at fault or recording the altered row
    target: str | None           # "<table>:<id>" of an altered row
    case_ref: str | None
    message: str

    def to_dict(self) -> dict:
        return {"entry": self.entry, "target": self.target, "case_ref": self.case_ref, "message": self.message}


@dataclass
class VerifyReport:
    entries: int = 0
    rows: int = 0
    head_seq: int = 0
    head_hash: str = ""
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checkpoints: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "rows": self.rows, "head_seq": self.head_seq,
                "head_hash": self.head_hash, "problems": [p.to_dict() for p in self.problems],
                "warnings": self.warnings, "checkpoints": self.checkpoints}


def verify(db: Database, case_ref: str | None = None, checkpoints: Path | None = None) -> VerifyReport:
    """Check the whole log and every row (or, with ``case_ref``, that case's rows and the whole log).

    The log is held to ``checkpoints`` (default: the database's own checkpoint file), e.g. a copy kept elsewhere.
    """
    rep = VerifyReport()
    try:
        _verify(db, case_ref, rep, checkpoints or db.checkpoints)
    except sa.exc.DatabaseError as exc:
        # A damaged file can make SQLite refuse to read at all; that is a failed verification too.
        rep.problems.append(Problem(None, None, case_ref, f"the case database cannot be read: "
                                                          f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}"))
    except CaseDbError as exc:
        rep.problems.append(Problem(None, None, case_ref, str(exc)))
    return rep


def _verify(db: Database, case_ref: str | None, rep: VerifyReport, checkpoints: Path) -> None:
    with db.read() as conn:
        if db.kind == "sqlite":
            for (msg,) in conn.exec_driver_sql("PRAGMA quick_check").fetchall():
                if msg != "ok":
                    rep.problems.append(Problem(None, None, None, f"SQLite integrity check: {msg}"))
        log = audit.entries(conn)
        chk = audit.check_chain(log, audit.head(conn))
        by_seq = {e.seq: e for e in log}
        rep.entries, rep.head_seq, rep.head_hash = chk.entries, chk.head_seq, chk.head_hash
        for seq, msg in chk.problems:
            e = by_seq.get(seq) if seq is not None else None
            rep.problems.append(Problem(seq, e.target if e else None, e.case_ref if e else None, msg))
        case_id = None
        if case_ref is not None:
            r = conn.execute(sa.select(S.cases.c.id).where(S.cases.c.ref == case_ref)).first()
            case_id = None if r is None else int(r.id)
        seen: set[str] = set()
        for name, table in S.HASHED.items():
            q = sa.select(table).order_by(table.c.id)
            if case_id is not None and "case_id" in table.c:
                q = q.where(table.c.case_id == case_id)
            elif case_id is not None and name == "cases":
                q = q.where(table.c.id == case_id)
            for r in conn.execute(q):
                row = dict(r._mapping)
                rep.rows += 1
                target = f"{name}:{row['id']}"
                seen.add(target)
                _check_row(rep, name, target, row, chk.recorded.get(target), by_seq)
        for target, (seq, rh) in chk.recorded.items():
            if rh is not None and target not in seen and _in_scope(by_seq[seq], case_ref):
                e = by_seq[seq]
                rep.problems.append(Problem(seq, target, e.case_ref, f"{target} was removed: it is missing from the "
                                                                     f"database but recorded by {e.describe()}"))
        _check_checkpoints(db, conn, rep, checkpoints, log, by_seq)


def _check_checkpoints(db: Database, conn, rep: VerifyReport, path: Path, log: list[audit.AuditEntry],
                       by_seq: dict[int, audit.AuditEntry]) -> None:
    keys, key_problems = _verification_keys(db, conn)
    cmp = checkpoints.compare(path, log, keys)
    rep.checkpoints = cmp.to_dict()
    rep.warnings.extend(cmp.warnings)
    for msg in key_problems:
        rep.problems.append(Problem(None, None, None, msg))
    for seq, msg in cmp.problems:
        e = by_seq.get(seq) if seq is not None else None
        rep.problems.append(Problem(seq, e.target if e else None, e.case_ref if e else None, msg))


def _verification_keys(db: Database, conn) -> tuple[dict, list[str]]:
    """Each home agency's public key on record, refused where the key folder holds only other keys for it."""
    from chaintrail.cases.keys import key_file
    keys, problems = {}, []
    for r in conn.execute(sa.select(S.agencies.c.name, S.agencies.c.public_key).where(S.agencies.c.kind == "home")):
        if not r.public_key:
            continue
        try:
            keys[r.name] = identity.public_key(r.public_key)
            mine = key_file(db.key_dir, r.name, r.public_key)
        except (ValueError, UsageError):
            problems.append(f"agency {r.name}'s public key on record is not an Ed25519 key")
            continue
        others = [p for p in mine.parent.glob(mine.name.rsplit("-", 1)[0] + "-" + "?" * 32 + ".ed25519.pem")
                  if p != mine]
        if others and not mine.exists():
            problems.append(f"agency {r.name}'s public key on record matches none of its key files in "
                            f"{mine.parent}: the agency's key was replaced in the database")
    return keys, problems


def _in_scope(e: audit.AuditEntry, case_ref: str | None) -> bool:
    return case_ref is None or e.case_ref == case_ref


def _check_row(rep: VerifyReport, name: str, target: str, row: dict, recorded: tuple[int, str | None] | None,
               by_seq: dict[int, audit.AuditEntry]) -> None:
    ref = _case_ref_of(row, recorded, by_seq)
    if recorded is None:
        rep.problems.append(Problem(None, target, ref, f"{target} is not recorded in the audit log "
                                                       f"(written behind the log's back)"))
        return
    seq, logged = recorded
    entry = by_seq[seq]
    if logged is None:
        rep.problems.append(Problem(seq, target, ref, f"{target} exists although {entry.describe()} removed it"))
        return
    actual = row_hash(name, row)
    if actual != row["row_hash"]:
        rep.problems.append(Problem(seq, target, ref, f"{target} was altered after {entry.describe()}: its content "
                                                      f"no longer matches its hash"))
    elif row["row_hash"] != logged:
        rep.problems.append(Problem(seq, target, ref, f"{target} does not match the hash recorded by "
                                                      f"{entry.describe()}"))
    if name == "findings":
        _check_finding(rep, target, ref, seq, row)
    elif name == "attachments" and sha256_hex(bytes(row["content"])) != row["sha256"]:
        rep.problems.append(Problem(seq, target, ref, f"{target} ({row['filename']}): its bytes no longer give "
                                                      f"its SHA-256"))


def _check_finding(rep: VerifyReport, target: str, ref: str | None, seq: int, row: dict) -> None:
    from chaintrail.cases.findings import HASHED_FIELDS, finding_hash
    try:
        f = {k: (loads(row[k]) if k not in ("kind", "result_hash") else row[k]) for k in HASHED_FIELDS}
        result = loads(row["result"])
    except ValueError:
        rep.problems.append(Problem(seq, target, ref, f"{target} holds unreadable JSON"))
        return
    if digest(result) != row["result_hash"]:
        rep.problems.append(Problem(seq, target, ref, f"{target}: the stored result no longer gives its result hash"))
    if finding_hash(f) != row["finding_hash"]:
        rep.problems.append(Problem(seq, target, ref, f"{target}: its content no longer gives its finding hash "
                                                      f"{row['finding_hash'][:16]}…"))


def _case_ref_of(row: dict, recorded: tuple[int, str | None] | None,
                 by_seq: dict[int, audit.AuditEntry]) -> str | None:
    if "ref" in row:
        return row["ref"]
    return by_seq[recorded[0]].case_ref if recorded else None

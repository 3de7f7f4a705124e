"""The case repository: every case action, access-checked and written to the audit log.

The CLI and the REST API both call this class, so both go through the same
checks and the same log. Each method takes the acting ``Principal``; a refused
attempt is logged (outcome ``denied``) before the caller sees "no such case".
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chaintrail.cases import audit, enrolment, identity, rows, tlp
from chaintrail.cases import schema as S
from chaintrail.cases.access import Access, Redactor, access_to, visible_case_ids
from chaintrail.cases.db import Database
from chaintrail.cases.errors import AccessDenied, AlreadyImported, NotFound
from chaintrail.cases.hashing import dumps, loads
from chaintrail.cases.identity import Principal
from chaintrail.cases.package_alerts import import_alerts
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_date

T = TypeVar("T")
SUBJECT_KINDS = ("address", "transaction", "entity")
_JSON_COLS = {"origin", "spec", "params", "versions", "error_rates", "block_hashes", "tags", "result", "meta"}


@dataclass
class CaseView:
    """A case as one reader may see it: items above the reader's TLP level are withheld (and counted)."""

    case: dict
    access: str
    level: str
    subjects: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    shares: list[dict] = field(default_factory=list)
    withheld: dict[str, int] = field(default_factory=dict)
    alerts: list[dict] = field(default_factory=list)      # monitoring alerts, retracted ones included

    def redacted(self, level: str) -> "CaseView":
        """The same case for a reader cleared only to ``level`` (never less restricted than this view)."""
        level = tlp.normalize(level)
        if tlp.RANK[level] > tlp.RANK[self.level]:
            level = self.level
        red = Redactor(level, dict(self.withheld))
        case = dict(self.case)
        if not tlp.allowed(case["tlp"], level):
            case["title"] = case["summary"] = f"[withheld: {tlp.label(case['tlp'])}]"
        out = CaseView(case, self.access, level, red.filter("subject", self.subjects),
                       red.filter("finding", self.findings), red.filter("note", self.notes),
                       red.filter("attachment", self.attachments), red.filter("tag", self.tags), list(self.shares))
        out.alerts = red.filter("alert", self.alerts)
        out.withheld = red.withheld
        return out

    def to_dict(self) -> dict:
        return {"case": self.case, "access": self.access, "level": self.level, "subjects": self.subjects,
                "findings": self.findings, "notes": self.notes, "attachments": self.attachments,
                "tags": self.tags, "shares": self.shares, "withheld": self.withheld}


class _Refused(Exception):
    def __init__(self, reason: str, public: Exception):
        self.reason = reason
        self.public = public


def subject_kind(value: str) -> str:
    """What a subject string names: cluster:N is an entity, 64 hex digits a transaction, else an address."""
    v = value.strip()
    if v.startswith("cluster:"):
        return "entity"
    if len(v) == 64 and all(c in "0123456789abcdefABCDEF" for c in v):
        return "transaction"
    return "address"


def plain(row: dict) -> dict:
    """A stored row for readers: JSON columns parsed, binary content left out."""
    out = {}
    for k, v in row.items():
        if k in ("content", "private_key", "token_hash"):
            continue
        out[k] = loads(v) if k in _JSON_COLS and isinstance(v, str) else v
    return out


class CaseRepository:
    """Cases, their items, agencies and users in one database (SQLite or PostgreSQL)."""

    def __init__(self, db: Database):
        self.db = db

    @classmethod
    def open(cls, dsn: str | os.PathLike) -> "CaseRepository":
        return cls(Database.open(dsn))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "CaseRepository":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- identity ------------------------------------------------------------------
    def ensure_operator(self, agency: str | None, username: str) -> Principal:
        """The local operator of a single-user SQLite database (made on a database with no users yet)."""
        return enrolment.ensure_operator(self.db, agency, username)

    def has_users(self) -> bool:
        with self.db.read() as conn:
            return identity.user_count(conn) > 0

    def local_operator(self) -> Principal | None:
        """The operator, if this is a single-user SQLite database; else None."""
        return enrolment.local_operator(self.db)

    def bootstrap(self, agency: str, username: str, *, country: str | None = None) -> tuple[Principal, str]:
        """The first admin of a team database (refused once any user exists); returns it and its API token."""
        return enrolment.bootstrap(self.db, agency, username, country=country)

    def add_agency(self, actor: str, name: str, *, kind: str = "home", country: str | None = None,
                   public_key_hex: str | None = None) -> dict:
        with self.db.tx() as conn:
            return plain(identity.create_agency(conn, actor, name, kind=kind, country=country,
                                                public_key_hex=public_key_hex, key_dir=self.db.key_dir))

    def add_user(self, actor: Principal, username: str, agency: str, role: str) -> tuple[dict, str]:
        """An admin enrols a user (see ``enrolment.enrol``); returns the row and its API token (shown once)."""
        row, token = enrolment.enrol(self.db, actor, username, agency, role)
        return plain(row), token

    def principal(self, username: str) -> Principal:
        with self.db.read() as conn:
            return identity.principal_for_name(conn, username)

    def principal_for_token(self, token: str) -> Principal | None:
        with self.db.read() as conn:
            return identity.principal_for_token(conn, token)

    def agency(self, name: str) -> dict:
        with self.db.read() as conn:
            a = identity.agency_row(conn, name)
        if a is None:
            raise NotFound(_("no agency {name!r}").format(name=name))
        a["fingerprint"] = identity.fingerprint(a["public_key"])
        return plain(a)

    def agencies(self) -> list[dict]:
        with self.db.read() as conn:
            found = [dict(r._mapping) for r in conn.execute(sa.select(S.agencies).order_by(S.agencies.c.id))]
        return [plain(a) | {"fingerprint": identity.fingerprint(a["public_key"])} for a in found]

    # -- the access-checked core -----------------------------------------------------
    def _log_denied(self, p: Principal, ref: str | None, action: str, reason: str) -> None:
        with self.db.tx() as conn:
            audit.append(conn, actor=p.username, agency=p.agency, action=action, case_ref=ref,
                         detail={"reason": reason}, outcome="denied")

    def log_refused(self, actor: str, action: str, reason: str, agency: str | None = None) -> None:
        """Log a refused attempt by someone not (yet) identified, e.g. enrolment without an admin's token."""
        with self.db.tx() as conn:
            audit.append(conn, actor=actor, agency=agency, action=action, detail={"reason": reason},
                         outcome="denied")

    def _with_case(self, p: Principal, ref: str, action: str, fn: Callable[[Connection, dict, Access], T], *,
                   write: bool = False, share: bool = False, owner: bool = False) -> T:
        try:
            with self.db.tx() as conn:
                r = conn.execute(sa.select(S.cases).where(S.cases.c.ref == ref)).first()
                row = None if r is None else dict(r._mapping)
                acc = None if row is None else access_to(conn, p, row)
                if acc is None:
                    raise _Refused("no such case, or not visible to this agency", NotFound(_("no case {ref}").format(ref=ref)))
                if (write and not acc.can_write) or (share and not acc.can_share) or (owner and acc.mode != "owner"):
                    raise _Refused(f"{p.role} of {p.agency} ({acc.mode} access) may not {action}",
                                   AccessDenied(_("you may not {action} on case {ref}").format(action=action, ref=ref)))
                return fn(conn, row, acc)
        except _Refused as r:
            self._log_denied(p, ref, action, r.reason)
            raise r.public from None

    def record(self, p: Principal, ref: str, action: str, detail: dict | None = None) -> None:
        """Log a read-type action on a case (report, export, verify), refusing it if the case is not visible."""
        self._with_case(p, ref, action, lambda conn, row, acc: audit.append(
            conn, actor=p.username, agency=p.agency, action=action, case_ref=ref, detail=detail or {}))

    # -- cases -----------------------------------------------------------------------
    def create_case(self, p: Principal, title: str, summary: str = "", level: str = "amber",
                    origin: dict | None = None) -> dict:
        if not p.at_least("investigator"):
            self._log_denied(p, None, "case.create", f"role {p.role}")
            raise AccessDenied(_("viewers may not open cases"))
        title = identity.check_name(title, "a case title") if len(title) <= 80 else title.strip()
        level = tlp.normalize(level)
        with self.db.tx() as conn:
            ref = self._next_ref(conn, p.agency)
            row = rows.insert(conn, S.cases, {"ref": ref, "title": title, "summary": summary or "",
                                              "agency_id": p.agency_id, "status": "open", "tlp": level,
                                              "created_by": p.username, "created_at": audit.now(),
                                              "origin": dumps(origin) if origin else None},
                              actor=p.username, agency=p.agency, action="case.create", case_ref=ref,
                              detail={"title": title, "tlp": level})
        return plain(row)

    def _next_ref(self, conn: Connection, agency: str) -> str:
        prefix = (re.sub(r"[^A-Za-z0-9]", "", agency).upper() or "CASE")[:8]
        year = audit.now()[:4]
        n = int(conn.execute(sa.select(sa.func.count()).select_from(S.cases)).scalar_one()) + 1
        while conn.execute(sa.select(S.cases.c.id).where(S.cases.c.ref == f"{prefix}-{year}-{n:04d}")).first():
            n += 1
        return f"{prefix}-{year}-{n:04d}"

    def list_cases(self, p: Principal) -> list[dict]:
        with self.db.tx() as conn:
            vis = visible_case_ids(conn, p)
            out = []
            if vis:
                for r in conn.execute(sa.select(S.cases).where(S.cases.c.id.in_(list(vis))).order_by(S.cases.c.id)):
                    out.append(self._case_header(conn, dict(r._mapping), vis[r.id]))
            audit.append(conn, actor=p.username, agency=p.agency, action="case.list", detail={"count": len(out)})
            return out

    def _case_header(self, conn: Connection, row: dict, level: str) -> dict:
        h = plain(row)
        h["agency"] = identity.agency_by_id(conn, row["agency_id"])["name"]
        if not tlp.allowed(row["tlp"], level):
            h["title"] = h["summary"] = f"[withheld: {tlp.label(row['tlp'])}]"
        return h

    def case(self, p: Principal, ref: str, action: str = "case.read") -> CaseView:
        def read(conn: Connection, row: dict, acc: Access) -> CaseView:
            view = self._view(conn, row, acc)
            audit.append(conn, actor=p.username, agency=p.agency, action=action, case_ref=ref,
                         detail={"level": acc.level, "withheld": view.withheld})
            return view
        return self._with_case(p, ref, action, read)

    def _view(self, conn: Connection, row: dict, acc: Access) -> CaseView:
        red = Redactor(acc.level)
        view = CaseView(self._case_header(conn, row, acc.level), acc.mode, acc.level)

        def items(table: sa.Table, kind: str) -> list[dict]:
            cols = [c for c in table.c if c.name != "content"]
            found = [plain(dict(r._mapping)) for r in
                     conn.execute(sa.select(*cols).where(table.c.case_id == row["id"]).order_by(table.c.id))]
            return red.filter(kind, found)

        view.subjects = items(S.subjects, "subject")
        view.findings = items(S.findings, "finding")
        view.notes = items(S.notes, "note")
        view.attachments = items(S.attachments, "attachment")
        view.tags = items(S.case_tags, "tag")
        view.alerts = red.filter("alert", [plain(dict(r._mapping)) for r in conn.execute(
            sa.select(S.alerts, S.watches.c.kind.label("watch_kind"), S.watches.c.target.label("watch_target"),
                      S.watches.c.label.label("watch_label"))
            .join(S.watches, S.watches.c.id == S.alerts.c.watch_id)
            .where(S.alerts.c.case_id == row["id"]).order_by(S.alerts.c.id))])
        if acc.mode == "owner":
            for s in items(S.shares, "share"):
                s["agency"] = identity.agency_by_id(conn, s["agency_id"])["name"]
                view.shares.append(s)
        view.withheld = red.withheld
        return view

    def set_status(self, p: Principal, ref: str, status: str) -> dict:
        if status not in ("open", "closed"):
            raise UsageError(_("status must be open or closed"))
        return self._with_case(p, ref, "case.status", lambda conn, row, acc: plain(rows.update(
            conn, S.cases, row["id"], {"status": status}, actor=p.username, agency=p.agency,
            action="case.status", case_ref=ref, detail={"status": status})), write=True)

    # -- items -----------------------------------------------------------------------
    def _add(self, p: Principal, ref: str, table: sa.Table, action: str, values: dict[str, Any],
             level: str | None, detail: dict | None = None, origin: dict | None = None) -> dict:
        def add(conn: Connection, row: dict, acc: Access) -> dict:
            item = {**values, "case_id": row["id"], "tlp": tlp.normalize(level, row["tlp"]),
                    "created_by": p.username, "created_at": audit.now(),
                    "origin": dumps(origin) if origin else None}
            return plain(rows.insert(conn, table, item, actor=p.username, agency=p.agency, action=action,
                                     case_ref=ref, detail=detail))
        return self._with_case(p, ref, action, add, write=True)

    def add_subject(self, p: Principal, ref: str, kind: str, value: str, label: str | None = None,
                    level: str | None = None, origin: dict | None = None) -> dict:
        if kind not in SUBJECT_KINDS:
            raise UsageError(_("subject kind must be one of {kinds}").format(kinds=", ".join(SUBJECT_KINDS)))
        if not value.strip():
            raise UsageError(_("a subject needs a value"))
        return self._add(p, ref, S.subjects, "subject.add", {"kind": kind, "value": value.strip(), "label": label},
                         level, {"kind": kind, "value": value.strip()}, origin)

    def add_finding(self, p: Principal, ref: str, finding: dict, level: str | None = None,
                    origin: dict | None = None) -> dict:
        """Save a finding (see ``findings.FindingDraft.columns``); its hash must match its content."""
        from chaintrail.cases.findings import finding_hash
        if finding_hash(finding) != finding["finding_hash"]:
            raise UsageError(_("the finding's hash does not match its content"))
        values = {k: (dumps(finding[k]) if k in _JSON_COLS else finding[k]) for k in
                  ("kind", "title", "spec", "params", "versions", "error_rates", "block_hashes", "tags", "result",
                   "result_hash", "store_hash", "finding_hash")}
        return self._add(p, ref, S.findings, "finding.add", values, level,
                         {"kind": finding["kind"], "finding_hash": finding["finding_hash"]}, origin)

    def add_note(self, p: Principal, ref: str, body: str, about: str | None = None, level: str | None = None,
                 origin: dict | None = None) -> dict:
        if not body.strip():
            raise UsageError(_("a note needs text"))
        return self._add(p, ref, S.notes, "note.add", {"body": body, "about": about}, level, {"about": about}, origin)

    def add_attachment(self, p: Principal, ref: str, filename: str, content: bytes, *, kind: str = "file",
                       media_type: str = "application/octet-stream", meta: dict | None = None,
                       level: str | None = None, origin: dict | None = None) -> dict:
        from chaintrail.cases.hashing import sha256_hex
        digest = sha256_hex(content)
        return self._add(p, ref, S.attachments, "attachment.add",
                         {"kind": kind, "filename": os.path.basename(filename), "media_type": media_type,
                          "size": len(content), "sha256": digest, "content": content,
                          "meta": dumps(meta) if meta is not None else None},
                         level, {"filename": os.path.basename(filename), "sha256": digest, "kind": kind}, origin)

    def add_tag(self, p: Principal, ref: str, address: str, label: str, *, category: str | None = None,
                actor: str | None = None, source: str | None = None, confidence: str | None = None,
                context: str | None = None, level: str | None = None, origin: dict | None = None) -> dict:
        if not address.strip() or not label.strip():
            raise UsageError(_("a tag needs an address and a label"))
        return self._add(p, ref, S.case_tags, "tag.add",
                         {"address": address.strip(), "label": label.strip(), "category": category, "actor": actor,
                          "source": source, "confidence": confidence, "context": context},
                         level, {"address": address.strip(), "label": label.strip()}, origin)

    def share(self, p: Principal, ref: str, agency: str, level: str) -> dict:
        """Let another agency read this case up to ``level`` (sharing again changes the level)."""
        level = tlp.normalize(level)

        def do(conn: Connection, row: dict, acc: Access) -> dict:
            a = identity.agency_row(conn, agency)
            if a is None or a["kind"] != "home":
                raise NotFound(_("no agency {name!r} on this server").format(name=agency))
            if a["id"] == row["agency_id"]:
                raise UsageError(_("a case is always visible to its own agency"))
            old = conn.execute(sa.select(S.shares.c.id).where(S.shares.c.case_id == row["id"],
                                                             S.shares.c.agency_id == a["id"])).first()
            if old is not None:
                return plain(rows.update(conn, S.shares, int(old.id), {"tlp_max": level}, actor=p.username,
                                         agency=p.agency, action="case.share", case_ref=ref,
                                         detail={"agency": agency, "tlp_max": level}))
            return plain(rows.insert(conn, S.shares, {"case_id": row["id"], "agency_id": a["id"], "tlp_max": level,
                                                      "tlp": row["tlp"], "created_by": p.username,
                                                      "created_at": audit.now()},
                                     actor=p.username, agency=p.agency, action="case.share", case_ref=ref,
                                     detail={"agency": agency, "tlp_max": level}))
        return self._with_case(p, ref, "case.share", do, share=True)

    def unshare(self, p: Principal, ref: str, agency: str) -> None:
        def do(conn: Connection, row: dict, acc: Access) -> None:
            a = identity.agency_row(conn, agency)
            old = None if a is None else conn.execute(sa.select(S.shares.c.id).where(
                S.shares.c.case_id == row["id"], S.shares.c.agency_id == a["id"])).first()
            if old is None:
                raise NotFound(_("case {ref} is not shared with {agency!r}").format(ref=ref, agency=agency))
            rows.delete(conn, S.shares, int(old.id), actor=p.username, agency=p.agency, action="case.unshare",
                        case_ref=ref, detail={"agency": agency})
        self._with_case(p, ref, "case.unshare", do, share=True)

    def import_case(self, p: Principal, header: dict, items: dict[str, list[dict]], origin: dict) -> dict:
        """Create a case from a verified package in one transaction; every row keeps the sender's attribution.

        ``items`` maps subjects/findings/notes/attachments/tags/alerts to rows as exported;
        ``origin`` names the sending agency, its key and the package.
        """
        if not p.at_least("investigator"):
            self._log_denied(p, None, "case.import", f"role {p.role}")
            raise AccessDenied(_("viewers may not import cases"))
        tables = {"subjects": (S.subjects, "subject.import"), "findings": (S.findings, "finding.import"),
                  "notes": (S.notes, "note.import"), "attachments": (S.attachments, "attachment.import"),
                  "tags": (S.case_tags, "tag.import")}
        try:
            with self.db.tx() as conn:
                return self._import_case(conn, p, header, items, origin, tables)
        except AlreadyImported as exc:
            self._log_denied(p, exc.ref, "case.import", f"replay of package {origin['package_sha256']}")
            raise

    def _import_case(self, conn: Connection, p: Principal, header: dict, items: dict[str, list[dict]],
                     origin: dict, tables: dict) -> dict:
        earlier = self._imported(conn, p, origin["package_sha256"])
        if earlier is not None:
            msg = _("this package (SHA-256 {sha}…) was already imported as case {ref} on {day}").format(
                sha=origin["package_sha256"][:16], ref=earlier["ref"], day=fmt_date(earlier["created_at"]))
            raise AlreadyImported(msg, earlier["ref"])
        ref = self._next_ref(conn, p.agency)
        case = rows.insert(conn, S.cases, {"ref": ref, "title": header["title"], "summary": header.get("summary") or "",
                                           "agency_id": p.agency_id, "status": "open",
                                           "tlp": tlp.normalize(header["tlp"]), "created_by": p.username,
                                           "created_at": audit.now(), "origin": dumps(origin)},
                           actor=p.username, agency=p.agency, action="case.import", case_ref=ref,
                           detail={"from_agency": origin["agency"], "from_case": origin["case_ref"],
                                   "fingerprint": origin["fingerprint"], "package_sha256": origin["package_sha256"]})
        for kind, (table, action) in tables.items():
            cols = [c.name for c in table.c if c.name not in ("id", "case_id", "tlp", "created_by", "created_at",
                                                               "origin", "row_hash")]
            for it in items.get(kind, []):
                values = {c: (dumps(it[c]) if c in _JSON_COLS and it.get(c) is not None else it.get(c))
                          for c in cols}
                item_origin = {**origin, "item_id": it.get("id"), "created_by": it.get("created_by"),
                               "created_at": it.get("created_at"), "prior_origin": it.get("origin")}
                rows.insert(conn, table, {**values, "case_id": case["id"], "tlp": tlp.normalize(it["tlp"]),
                                          "created_by": p.username, "created_at": audit.now(),
                                          "origin": dumps(item_origin)},
                            actor=p.username, agency=p.agency, action=action, case_ref=ref,
                            detail={"from_agency": origin["agency"], "item_id": it.get("id"),
                                    **({"finding_hash": it["finding_hash"]} if kind == "findings" else {})})
        import_alerts(conn, p, case, ref, items.get("alerts", []), origin)
        return plain(case)

    def _imported(self, conn: Connection, p: Principal, package_sha256: str) -> dict | None:
        """The case this agency already imported from the package with this SHA-256, if any (a replay)."""
        q = sa.select(S.cases).where(S.cases.c.agency_id == p.agency_id,
                                     S.cases.c.origin.contains(f'"package_sha256":"{package_sha256}"', autoescape=True))
        for r in conn.execute(q):
            if (loads(r.origin) or {}).get("package_sha256") == package_sha256:
                return dict(r._mapping)
        return None

    def attachment(self, p: Principal, ref: str, attachment_id: int) -> tuple[dict, bytes]:
        """An attachment's row and bytes (logged as a read)."""
        def read(conn: Connection, row: dict, acc: Access) -> tuple[dict, bytes]:
            r = conn.execute(sa.select(S.attachments).where(S.attachments.c.id == attachment_id,
                                                            S.attachments.c.case_id == row["id"])).first()
            if r is None or not tlp.allowed(r.tlp, acc.level):
                raise NotFound(_("case {ref} has no attachment {id}").format(ref=ref, id=attachment_id))
            audit.append(conn, actor=p.username, agency=p.agency, action="attachment.read", case_ref=ref,
                         target=f"attachments:{attachment_id}", detail={"sha256": r.sha256})
            return plain(dict(r._mapping)), bytes(r.content)
        return self._with_case(p, ref, "attachment.read", read)

    def log(self, p: Principal, ref: str) -> list[audit.AuditEntry]:
        """The case's chain-of-custody entries (its own agency only)."""
        def read(conn: Connection, row: dict, acc: Access) -> list[audit.AuditEntry]:
            audit.append(conn, actor=p.username, agency=p.agency, action="audit.read", case_ref=ref)
            return audit.entries(conn, case_ref=ref)
        return self._with_case(p, ref, "audit.read", read, owner=True)

    def log_verified(self, p: Principal | str, ref: str | None, report: dict) -> None:
        """After a clean verify, log it with the head it saw: a checkpoint later checks can be held to.

        ``p`` is who checked; a plain name is a reader of the database no user token identified.
        """
        detail = {k: report[k] for k in ("entries", "rows", "head_seq", "head_hash")}
        if ref is not None and isinstance(p, Principal):
            self.record(p, ref, "audit.verify", detail)
            return
        actor, agency = (p.username, p.agency) if isinstance(p, Principal) else (p, None)
        with self.db.tx() as conn:
            audit.append(conn, actor=actor, agency=agency, action="audit.verify", case_ref=ref, detail=detail)

    def audit_head(self) -> tuple[int, str]:
        with self.db.read() as conn:
            return audit.head(conn)

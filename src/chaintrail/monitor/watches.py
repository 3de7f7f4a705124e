"""Watchlists as case records: added, listed and removed through the case layer's access checks and audit log.

A watch belongs to one case (so to its agency); adding or removing one needs write access to the case, and
both are entries in the case's audit log. A removed watch is kept, inactive, because its alerts name it.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chaintrail.cases import audit, identity, rows, tlp
from chaintrail.cases import schema as S
from chaintrail.cases.access import Access, visible_case_ids
from chaintrail.cases.errors import NotFound
from chaintrail.cases.hashing import dumps, loads
from chaintrail.cases.identity import Principal
from chaintrail.cases.integrity import recorded, recorded_rows
from chaintrail.cases.repository import CaseRepository
from chaintrail.monitor.watch_spec import WatchSpec
from chaintrail.monitor.webhook_secrets import fingerprint, new_secret, seal, wrapping_key

MAX_WATCHES_PER_CASE = 100_000


def watch_dict(row: dict, case_ref: str | None = None) -> dict:
    """A stored watch for readers (JSON columns parsed, active as a bool)."""
    out = {k: v for k, v in row.items() if k != "row_hash"}
    out["params"] = loads(row["params"]) or {}
    out["notify"] = {k: v for k, v in (loads(row["notify"]) or {}).items() if k != "secret"}   # sealed: not shown
    out["active"] = bool(row["active"])
    if case_ref is not None:
        out["case_ref"] = case_ref
    return out


def add_watch(repo: CaseRepository, p: Principal, ref: str, spec: WatchSpec, level: str | None = None) -> dict:
    """Store a checked watch on case ``ref`` (write access needed); logged as watch.add."""
    return add_watches(repo, p, ref, [spec], level)[0]


def add_watches(repo: CaseRepository, p: Principal, ref: str, specs: list[WatchSpec],
                level: str | None = None) -> list[dict]:
    """Store many checked watches on case ``ref`` in one transaction (a watchlist).

    One watch is one ``watch.add`` entry in the case's audit log; several are one ``watch.add.batch`` entry that
    lists each watch (id, kind, target) and records each row's hash, so a 10,000-address list is one write."""
    def add(conn: Connection, case: dict, acc: Access) -> list[dict]:
        n = conn.execute(sa.select(sa.func.count()).select_from(S.watches)
                         .where(S.watches.c.case_id == case["id"], S.watches.c.active == 1)).scalar_one()
        if n + len(specs) > MAX_WATCHES_PER_CASE:
            from chaintrail.errors import UsageError
            raise UsageError(f"watch refused: case {ref} would have more than {MAX_WATCHES_PER_CASE} active watches")
        key = wrapping_key(repo.db.key_dir) if any(s.notify.get("webhook") for s in specs) else b""
        level_, now = tlp.normalize(level, case["tlp"]), audit.now()
        values, shown = [], []
        for spec in specs:
            notify, secret = dict(spec.notify), None
            if notify.get("webhook"):       # each watch its own secret, shown once, stored sealed
                secret = new_secret()
                notify |= {"secret": seal(key, secret, int(case["id"])), "secret_id": fingerprint(secret)}
            values.append({"case_id": case["id"], "chain": spec.chain, "kind": spec.kind, "target": spec.target,
                           "params": dumps(spec.params), "notify": dumps(notify), "label": spec.label, "active": 1,
                           "tlp": level_, "created_by": p.username, "created_at": now, "origin": None})
            shown.append({"webhook_secret": secret} if secret else {})
        if len(specs) == 1:
            spec = specs[0]
            stored = [rows.insert(conn, S.watches, values[0], actor=p.username, agency=p.agency, action="watch.add",
                                  case_ref=ref, detail={"chain": spec.chain, "kind": spec.kind, "target": spec.target,
                                                        "params": spec.params, "delivery": sorted(spec.notify)})]
        else:
            stored = rows.insert_many(conn, S.watches, values, actor=p.username, agency=p.agency,
                                      action="watch.add.batch", case_ref=ref, detail={"count": len(specs)},
                                      item=lambda r: [int(r["id"]), r["chain"], r["kind"], r["target"]])
        return [watch_dict(r, ref) | x for r, x in zip(stored, shown)]
    return repo._with_case(p, ref, "watch.add", add, write=True)


def list_watches(repo: CaseRepository, p: Principal, ref: str | None = None, *,
                 include_removed: bool = False) -> list[dict]:
    """Watches of one case, or of every case this principal's agency may see (a read, logged)."""
    def on(conn: Connection, case_ids: dict[int, str], refs: dict[int, str]) -> list[dict]:
        q = sa.select(S.watches).where(S.watches.c.case_id.in_(list(case_ids))).order_by(S.watches.c.id)
        if not include_removed:
            q = q.where(S.watches.c.active == 1)
        out = []
        for r in conn.execute(q):
            row = dict(r._mapping)
            if tlp.allowed(row["tlp"], case_ids[int(row["case_id"])]):
                out.append(watch_dict(row, refs[int(row["case_id"])]))
        return out

    if ref is not None:
        def one(conn: Connection, case: dict, acc: Access) -> list[dict]:
            got = on(conn, {int(case["id"]): acc.level}, {int(case["id"]): ref})
            audit.append(conn, actor=p.username, agency=p.agency, action="watch.list", case_ref=ref,
                         detail={"count": len(got)})
            return got
        return repo._with_case(p, ref, "watch.list", one)
    with repo.db.tx() as conn:
        vis = visible_case_ids(conn, p)
        refs = _refs(conn, vis)
        got = on(conn, vis, refs) if vis else []
        audit.append(conn, actor=p.username, agency=p.agency, action="watch.list", detail={"count": len(got)})
        return got


def remove_watch(repo: CaseRepository, p: Principal, watch_id: int) -> dict:
    """Deactivate a watch (write access to its case needed); logged as watch.remove in its case's log."""
    with repo.db.read() as conn:
        r = conn.execute(sa.select(S.watches.c.case_id).where(S.watches.c.id == watch_id)).first()
        ref = None if r is None else conn.execute(sa.select(S.cases.c.ref)
                                                  .where(S.cases.c.id == r.case_id)).scalar_one()
    if ref is None:
        repo._log_denied(p, None, "watch.remove", f"no watch {watch_id}")
        raise NotFound(f"no watch {watch_id}")

    def rm(conn: Connection, case: dict, acc: Access) -> dict:
        row = rows.fetch(conn, S.watches, watch_id)
        if row is None or not row["active"]:
            raise NotFound(f"no active watch {watch_id}")
        new = rows.update(conn, S.watches, watch_id, {"active": 0}, actor=p.username, agency=p.agency,
                          action="watch.remove", case_ref=ref, detail={"watch": watch_id})
        return watch_dict(new, ref)
    try:
        return repo._with_case(p, ref, "watch.remove", rm, write=True)
    except NotFound:    # a watch of a case this agency may not see: answered as if no such watch (no case ref)
        raise NotFound(f"no watch {watch_id}") from None


def _refs(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    ids = list(ids)
    if not ids:
        return {}
    return {int(r.id): r.ref for r in conn.execute(sa.select(S.cases.c.id, S.cases.c.ref)
                                                   .where(S.cases.c.id.in_(ids)))}


def active_watches(conn: Connection, chain: str) -> list[dict]:
    """Every active watch on ``chain`` that the audit log recorded, with its case's ref and agency (the service)."""
    cases: dict[int, tuple[str, str] | None] = {}
    q = sa.select(S.watches).where(S.watches.c.active == 1, S.watches.c.chain == chain).order_by(S.watches.c.id)
    found = []
    for r in conn.execute(q):
        row = dict(r._mapping)
        cid = int(row["case_id"])
        if cid not in cases:
            c = conn.execute(sa.select(S.cases).where(S.cases.c.id == cid)).first()
            ok = c is not None and c.status == "open" and recorded(conn, S.cases, dict(c._mapping))
            cases[cid] = (c.ref, identity.agency_by_id(conn, c.agency_id)["name"]) if c is not None and ok else None
        if cases[cid] is not None:
            found.append(row)
    out = []
    for row in recorded_rows(conn, S.watches, found):
        known = cases[int(row["case_id"])]
        assert known is not None
        out.append(watch_dict(row, known[0]) | {"agency": known[1]})
    return out


def watches_version(conn: Connection, chain: str) -> tuple[int, int]:
    """(highest watch id, active count) on ``chain``: changes whenever a watch is added or removed."""
    r = conn.execute(sa.select(sa.func.max(S.watches.c.id), sa.func.sum(S.watches.c.active))
                     .where(S.watches.c.chain == chain)).one()
    return int(r[0] or 0), int(r[1] or 0)

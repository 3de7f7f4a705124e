"""Who may see and do what with a case, and what a reader of it is shown.

A case belongs to one agency. Its users see all of it (viewers read,
investigators and admins also write and share). Another agency sees it only if
it was shared with that agency, up to the share's TLP level, and read-only:
items marked above that level are withheld. Anything else answers "no such
case", so a refusal does not reveal that the case exists.

Access rests only on rows the audit log recorded (``integrity.recorded``): a
share row or a case's owning agency written behind the log's back grants
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chaintrail.cases import schema as S
from chaintrail.cases import tlp
from chaintrail.cases.identity import Principal
from chaintrail.cases.integrity import recorded


@dataclass(frozen=True)
class Access:
    mode: str            # owner | shared
    level: str           # the most restricted TLP level the reader may see
    can_write: bool
    can_share: bool


def access_to(conn: Connection, p: Principal, case_row: dict) -> Access | None:
    """The principal's access to a case row, or None if it must not even know the case exists."""
    if not recorded(conn, S.cases, case_row):
        return None
    if case_row["agency_id"] == p.agency_id:
        writer = p.at_least("investigator")
        return Access("owner", "red", writer, writer)
    share = _share(conn, case_row["id"], p.agency_id)
    if share is None:
        return None
    return Access("shared", share["tlp_max"], False, False)


def _share(conn: Connection, case_id: int, agency_id: int) -> dict | None:
    r = conn.execute(sa.select(S.shares).where(S.shares.c.case_id == case_id,
                                               S.shares.c.agency_id == agency_id)).first()
    row = None if r is None else dict(r._mapping)
    return row if row is not None and recorded(conn, S.shares, row) else None


def visible_case_ids(conn: Connection, p: Principal) -> dict[int, str]:
    """case id -> the level this principal reads it at (own agency: red; shared: the share's level)."""
    own = [dict(r._mapping) for r in conn.execute(sa.select(S.cases).where(S.cases.c.agency_id == p.agency_id))]
    out = {int(c["id"]): "red" for c in own if recorded(conn, S.cases, c)}
    for r in conn.execute(sa.select(S.shares).where(S.shares.c.agency_id == p.agency_id)):
        share = dict(r._mapping)
        if int(share["case_id"]) in out or not recorded(conn, S.shares, share):
            continue
        case = conn.execute(sa.select(S.cases).where(S.cases.c.id == share["case_id"])).first()
        if case is not None and recorded(conn, S.cases, dict(case._mapping)):
            out[int(share["case_id"])] = share["tlp_max"]
    return out


@dataclass
class Redactor:
    """Filters items by TLP for one reader, counting what it held back."""

    level: str
    withheld: dict[str, int] = field(default_factory=dict)

    def keep(self, kind: str, item_tlp: str) -> bool:
        if tlp.allowed(item_tlp, self.level):
            return True
        self.withheld[kind] = self.withheld.get(kind, 0) + 1
        return False

    def filter(self, kind: str, items: list[dict]) -> list[dict]:
        return [it for it in items if self.keep(kind, it["tlp"])]

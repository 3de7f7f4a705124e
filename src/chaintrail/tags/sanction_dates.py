"""Dates of sanctions: a list snapshot's own date, and dated designations and delistings it cannot show.

An OFAC list file holds addresses only. Its date comes from the ``PROVENANCE.txt`` beside it ("auto-generated
YYYY-MM-DD", as the shared copy of 0xB10C's lists has), else from the file's modification time, and is kept as
the tags' ``lastmod``. ``sanction_actions.json`` (data, beside this module) records what happened to whole
designations: Tornado Cash was designated on 2022-08-08 and delisted on 2025-03-21, so a screen as of a later
date reports its addresses as delisted, not sanctioned, and one before 2022-08-08 as not yet designated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_DATED = re.compile(r"auto-generated (\d{4}-\d{2}-\d{2})")


def list_date(path: str | Path) -> dt.date:
    """The date of an OFAC list snapshot: its PROVENANCE.txt's generation date, else the file's mtime."""
    p = Path(path)
    prov = p.parent / "PROVENANCE.txt"
    if prov.is_file():
        m = _DATED.search(prov.read_text(encoding="utf-8", errors="replace"))
        if m:
            return dt.date.fromisoformat(m.group(1))
    return dt.date.fromtimestamp(p.stat().st_mtime) if p.exists() else dt.date.today()


@dataclass(frozen=True)
class Action:
    program: str
    entity: str
    designated: dt.date
    delisted: dt.date | None
    designated_source: str
    delisted_source: str | None
    why_delisted: str | None


@lru_cache(maxsize=1)
def _actions() -> dict[str, Action]:
    data = json.loads((Path(__file__).with_name("sanction_actions.json")).read_text())
    out: dict[str, Action] = {}
    for a in data["actions"]:
        act = Action(a["program"], a["entity"], dt.date.fromisoformat(a["designated"]),
                     dt.date.fromisoformat(a["delisted"]) if a.get("delisted") else None, a["designated_source"],
                     a.get("delisted_source"), a.get("why_delisted"))
        for addr in a["addresses"]:
            out[addr.lower()] = act
    return out


def action_of(address: str) -> Action | None:
    """The dated designation an address belongs to, when one is recorded."""
    return _actions().get(address.strip().lower())


@dataclass(frozen=True)
class SanctionStatus:
    """Whether a sanctioned tag applies on a date: ``listed``, ``delisted`` or ``not_yet``, and why."""

    state: str
    list_date: dt.date | None
    words: str

    @property
    def applies(self) -> bool:
        return self.state == "listed"


def status(address: str, list_dated: dt.date | None, as_of: dt.date, list_name: str) -> SanctionStatus:
    """The standing on ``as_of`` of an address that the list ``list_name`` (dated ``list_dated``) holds."""
    on = f"{list_name} as of {list_dated.isoformat()}" if list_dated else list_name
    act = action_of(address)
    if act is None:
        return SanctionStatus("listed", list_dated, f"on the {on}")
    if as_of < act.designated:
        return SanctionStatus("not_yet", list_dated, f"on the {on}, but {act.entity} was designated only on "
                                                     f"{act.designated.isoformat()}, after {as_of.isoformat()}")
    if act.delisted is not None and as_of >= act.delisted:
        return SanctionStatus("delisted", list_dated,
                              f"was on the {on} ({act.entity}, designated {act.designated.isoformat()}) but "
                              f"DELISTED on {act.delisted.isoformat()} ({act.delisted_source}); not sanctioned "
                              f"as of {as_of.isoformat()}")
    return SanctionStatus("listed", list_dated, f"on the {on} ({act.entity}, designated "
                                                f"{act.designated.isoformat()})")

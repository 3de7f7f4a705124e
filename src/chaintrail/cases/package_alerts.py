"""Monitoring alerts in a case package's case.json: exported with the case, imported as read-only records.

An alert travels with the watch that raised it described (id, kind, target, label), the transaction, the
watched side's address, amount and asset, the block (number and hash), and whether a reorganisation retracted
it (with when and why). Its TLP level gates it like any other item (the sender's view is already redacted).

On import each sender watch becomes an *inactive* watch of the new case (so the recipient's monitor never
evaluates it), and each alert a row under it, both with ``origin`` naming the sending agency and package. The
monitor retracts only alerts it raised itself (``origin`` empty), so an imported alert stays as it was sent.
Alerts keep the sender's times: when the monitor saw the transaction is evidence, not bookkeeping.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import Connection

from chaintrail.cases import rows, tlp
from chaintrail.cases import schema as S
from chaintrail.cases.errors import PackageError
from chaintrail.cases.hashing import dumps
from chaintrail.cases.identity import Principal
from chaintrail.errors import UsageError

_TEXT = ("chain", "block_hash", "tx_hash", "direction", "address", "asset", "amount", "reason", "status",
         "created_at")
_OPTIONAL = ("counterparty", "retracted_at", "retract_reason", "watch_kind", "watch_target", "watch_label",
             "created_by")
_DECIMAL = re.compile(r"[0-9]{1,80}")


def export_alerts(alerts: list[dict]) -> list[dict]:
    """The alerts of a (redacted) case view as case.json carries them."""
    out = []
    for a in alerts:
        row = {k: a.get(k) for k in ("id", "watch_id", "block_number", "tlp", *_TEXT, *_OPTIONAL)}
        row["amount"] = str(a["amount"])
        row["retracted"] = a["status"] == "retracted"
        out.append(row)
    return out


def check_alerts(alerts, source: str) -> list[dict]:
    """The alerts of a verified case.json, each checked for the fields and types an alert must have."""
    if not isinstance(alerts, list):
        raise PackageError("case.json alerts is not a list", source, None)
    for i, a in enumerate(alerts):
        where = f"alert {a.get('id', i) if isinstance(a, dict) else i}"
        if not isinstance(a, dict):
            raise PackageError(f"case.json {where} is not an object", source, None)
        bad = [k for k in _TEXT if not isinstance(a.get(k), str)]
        bad += [k for k in ("id", "watch_id", "block_number") if type(a.get(k)) is not int]
        bad += [k for k in _OPTIONAL if a.get(k) is not None and not isinstance(a[k], str)]
        if bad:
            raise PackageError(f"case.json {where} lacks or mistypes {', '.join(bad)}", source, None)
        if not _DECIMAL.fullmatch(a["amount"]):
            raise PackageError(f"case.json {where} amount {a['amount']!r} is not a whole number", source, None)
        if a["status"] not in ("active", "retracted") or a.get("retracted") is not (a["status"] == "retracted"):
            raise PackageError(f"case.json {where} status {a['status']!r} and retracted flag disagree",
                               source, None)
        try:
            tlp.normalize(a.get("tlp"))
        except UsageError:
            raise PackageError(f"case.json {where} has no valid TLP level", source, None) from None
    return alerts


def import_alerts(conn: Connection, p: Principal, case: dict, ref: str, alerts: list[dict], origin: dict) -> None:
    """Store checked package alerts under inactive copies of their watches (one transaction with the case)."""
    watches: dict[int, int] = {}
    for a in alerts:
        if a["watch_id"] not in watches:
            mine = [x for x in alerts if x["watch_id"] == a["watch_id"]]
            level = min((tlp.normalize(x["tlp"]) for x in mine), key=tlp.RANK.__getitem__)
            w = rows.insert(conn, S.watches, {
                "case_id": case["id"], "chain": a["chain"], "kind": a.get("watch_kind") or "imported",
                "target": a.get("watch_target") or "", "params": "{}", "notify": "{}",
                "label": a.get("watch_label"), "active": 0, "tlp": level, "created_by": p.username,
                "created_at": a["created_at"], "origin": dumps({**origin, "item_id": a["watch_id"]})},
                actor=p.username, agency=p.agency, action="watch.import", case_ref=ref,
                detail={"from_agency": origin["agency"], "item_id": a["watch_id"]})
            watches[a["watch_id"]] = w["id"]
        item_origin = {**origin, "item_id": a["id"], "created_by": a.get("created_by")}
        rows.insert(conn, S.alerts, {
            **{k: a.get(k) for k in ("chain", "block_number", "block_hash", "tx_hash", "direction", "address",
                                     "counterparty", "asset", "amount", "reason", "status", "retracted_at",
                                     "retract_reason", "created_at")},
            "case_id": case["id"], "watch_id": watches[a["watch_id"]], "tlp": tlp.normalize(a["tlp"]),
            "created_by": p.username, "origin": dumps(item_origin)},
            actor=p.username, agency=p.agency, action="alert.import", case_ref=ref,
            detail={"from_agency": origin["agency"], "item_id": a["id"], "tx": a["tx_hash"],
                    "block_hash": a["block_hash"], "status": a["status"]})

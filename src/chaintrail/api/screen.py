"""Screening for the API: direct tags plus exposure in both directions, by risk category.

When ``chaintrail.analysis.screening`` offers ``screen_address``, the API
uses it, so the workbench and ``chaintrail screen`` give one answer. Until
then this computes exposure itself from two haircut traces over the same
engine: money that reached the subject from tagged sources (backward) and
money from the subject that reached tagged destinations (forward), each
trace stopping at the first tagged address on a branch.
"""

from __future__ import annotations

import importlib

from chaintrail.analysis.tracing import TraceParams
from chaintrail.api import present
from chaintrail.api.tracing import check_source
from chaintrail.tags import taxonomy as tx

ENGINE = "chaintrail.api exposure/1 (haircut traces to the first tagged address)"


def _external():
    try:
        mod = importlib.import_module("chaintrail.analysis.screening")
    except ModuleNotFoundError:
        return None
    return getattr(mod, "screen_address", None)


def _exposure(wb, spec: str, direction: str, max_hops: int) -> tuple[list[dict], int]:
    params = TraceParams(direction=direction, model="haircut", max_hops=max_hops,
                         stop_categories=tuple(tx.CATEGORIES), mixer_policy="haircut")
    out = wb.trace(spec, params).to_dict()
    by_cat: dict[str, list[int]] = {}
    for e in out["endpoints"]:
        if e["kind"] != "tagged" or not e["address"]:
            continue
        a = wb.view.addr_num(e["address"])
        risk = wb.tags.risk(a) if a is not None else []
        cat = risk[0] if risk else "other"
        acc = by_cat.setdefault(cat, [0, 0])
        acc[0] += e["amount_sat"]
        acc[1] += 1
    total = int(out["totals"]["traced_sat"])
    rank = {c: i for i, c in enumerate(tx.CATEGORIES)}
    rows = [{"category": c, "amount_sat": amt, "share": round(amt / total, 6) if total else 0.0, "endpoints": n}
            for c, (amt, n) in by_cat.items()]
    rows.sort(key=lambda r: (rank.get(r["category"], 99), -r["amount_sat"]))
    return rows, total


def screen(wb, subject: str, max_hops: int) -> dict:
    """Direct tags and incoming/outgoing exposure of an address or ``cluster:<id>``."""
    spec = check_source(wb, subject)
    ext = _external()
    if ext is not None:
        return ext(wb.store, spec, max_hops=max_hops)
    if spec.startswith("cluster:"):
        cid = int(spec.split(":", 1)[1])
        members = wb.view.members(cid)
        direct = wb.tags.cluster_tags(cid, members)
        risk = tx.categories_from_bits(wb.tags.cluster_bits(cid, members))
        kind = "entity"
    elif len(spec) >= 64 and all(c in "0123456789abcdef:" for c in spec[:64]):
        direct, risk, kind = [], [], "transaction"
    else:
        a = present.resolve_address(wb, spec)
        direct, risk, kind = wb.tags.hits(a), wb.tags.risk(a), "address"
    incoming, in_total = _exposure(wb, spec, "backward", max_hops)
    outgoing, out_total = _exposure(wb, spec, "forward", max_hops)
    return {"subject": spec, "kind": kind, "engine": ENGINE, "direct": direct, "risk": risk, "incoming": incoming,
            "outgoing": outgoing, "incoming_total_sat": in_total, "outgoing_total_sat": out_total,
            "max_hops": max_hops}

"""/search: one box for addresses, transactions, entities and tag labels."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query

from chaintrail.api.deps import ERRORS, get_wb
from chaintrail.api.schemas import SearchResults

router = APIRouter(tags=["search"], responses=ERRORS)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ENTITY = re.compile(r"^(?:cluster|entity|e):(\d{1,15})$", re.IGNORECASE)


def _btc(sat: int) -> str:
    return f"{sat / 1e8:,.8f} BTC"


def search_all(wb, q: str, limit: int) -> list[dict]:
    v, tags = wb.view, wb.tags
    hits: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, ident: str, label: str, detail: str | None = None, risk: list[str] | None = None) -> None:
        if (kind, ident) not in seen and len(hits) < limit:
            seen.add((kind, ident))
            hits.append({"kind": kind, "id": ident, "label": label, "detail": detail, "risk": risk or []})

    def add_address(a: int) -> None:
        addr = v.address(a)
        name = tags.label(a)
        add("address", addr, name or addr, f"received {_btc(int(v.addr_received[a]))}, entity {v.cluster_of(a)}",
            tags.risk(a))

    def add_tx(t: int) -> None:
        add("transaction", v.txid(t), v.txid(t), f"height {v.tx_height(t)}, {int(v.tx_first_out[t + 1] - v.tx_first_out[t])} outputs")

    def add_entity(cid: int) -> None:
        if v.is_cluster(cid):
            add("entity", str(cid), f"entity {cid}", f"{int(v.cluster_size[cid]):,} addresses")

    m = _ENTITY.match(q)
    if m:
        add_entity(int(m.group(1)))
    if q.isdigit() and len(q) <= 15:
        add_entity(int(q))
    a = v.addr_num(q)
    if a is not None:
        add_address(a)
    if _HEX.match(q):
        t = v.tx_num(q.lower()) if len(q) == 64 else None
        if t is not None:
            add_tx(t)
        elif 8 <= len(q) < 64:
            for t in v.txid_prefix(q.lower(), limit):
                add_tx(t)
    if len(q) >= 3 and a is None:
        for a2 in v.address_prefix(q, limit):
            add_address(a2)
    if len(q) >= 2:
        for tag in tags.search_labels(q, limit):
            a2 = v.addr_num(tag["address"]) if tag["address"] else None
            if a2 is not None:
                add("tag", v.address(a2), tag["label"] or tag["address"], f"{tag['kind']} · {tag['provenance']}",
                    tag["risk_categories"])
            else:
                add("tag", tag["address"] or "", tag["label"] or "?", f"{tag['kind']} · not in this store",
                    tag["risk_categories"])
    return hits


@router.get("/search", response_model=SearchResults, summary="Search")
def search(q: str = Query(..., min_length=1, max_length=200, description="Address (or its start), txid (or 8+ hex), "
                          "cluster:<id>, or words of a tag label"),
           limit: int = Query(20, ge=1, le=200),
           wb=Depends(get_wb)) -> dict:
    q = q.strip()
    return {"query": q, "items": search_all(wb, q, limit) if q else []}

"""Turn read-model lookups into the API's response bodies (plain dicts shaped like ``schemas``)."""

from __future__ import annotations

import numpy as np

from chaintrail.api.errors import NotFoundError
from chaintrail.store.index import NONE
from chaintrail.tags import taxonomy as tx
from chaintrail.i18n import _

_NONE = int(NONE)


def next_offset(offset: int, n: int, total: int) -> int | None:
    return offset + n if offset + n < total else None


def resolve_address(wb, address: str) -> int:
    a = wb.view.addr_num(address)
    if a is None:
        raise NotFoundError(_("address {address} is not in the store").format(address=address))
    return a


def resolve_tx(wb, txid: str) -> int:
    t = wb.view.tx_num(txid.lower())
    if t is None:
        raise NotFoundError(_("transaction {txid} is not in the store").format(txid=txid))
    return t


def resolve_entity(wb, cid: int) -> int:
    if not wb.view.is_cluster(cid):
        raise NotFoundError(_("no entity with id {id}").format(id=cid))
    return cid


def tx_ref(v, t: int | None) -> dict | None:
    if t is None:
        return None
    height, time, block_hash = v.tx_place(t)
    return {"txid": v.txid(t), "height": height, "time": time, "block_hash": block_hash}


def address_summary(wb, a: int, currency: str = "USD") -> dict:
    v, tags = wb.view, wb.tags
    cid = v.cluster_of(a)
    size = int(v.cluster_size[cid])
    outs, ins = v.addr_outputs(a), v.addr_inputs(a)      # each looked up once for the counts and the span
    n_txs, first, last = v.tx_span(outs, ins)
    received, sent, balance = v.addr_totals_of(a)
    hits = tags.hits(a)
    return {"address": v.address(a), "script_type": v.script_type(a), "cluster": cid, "cluster_size": size,
            "large_entity": size >= wb.limits.large_entity, "received_sat": received,
            "sent_sat": sent, "balance_sat": balance,
            "n_outputs": len(outs), "n_inputs": len(ins),
            "n_txs": n_txs, "first_seen": tx_ref(v, first), "last_seen": tx_ref(v, last),
            "label": hits[0]["label"] if hits else None, "risk": tags.risk(a), "tags": hits,
            "tags_total": tags.count_hits(a) if hits else 0,
            "fiat": summary_fiat(wb, np.array([a], np.int64), balance, currency)}


def address_txs(wb, a: int, offset: int, limit: int, newest_first: bool) -> dict:
    v = wb.view
    txs = v.addr_txs(a)
    if newest_first:
        txs = txs[::-1]
    page = txs[offset:offset + limit]
    outs, ins = v.addr_outputs(a), v.addr_inputs(a)
    # Only the outputs/inputs of the page's txs are summed.
    o_sel = outs[np.isin(v.tx_of_outs(outs), page)]
    i_sel = ins[np.isin(v.tx_of_ins(ins), page)]
    recv: dict[int, int] = {}
    for t, val in zip(v.tx_of_outs(o_sel).tolist(), v.out_value[o_sel].tolist()):
        recv[t] = recv.get(t, 0) + int(val)
    sent: dict[int, int] = {}
    for t, val in zip(v.tx_of_ins(i_sel).tolist(), v.in_value[i_sel].tolist()):
        sent[t] = sent.get(t, 0) + max(int(val), 0)
    items = [{"txid": v.txid(t), "height": v.tx_height(t), "time": v.tx_time(t), "received_sat": recv.get(t, 0),
              "sent_sat": sent.get(t, 0), "fee_sat": int(v.tx_fee[t]) if v.tx_fee[t] >= 0 else None,
              "pattern": v.pattern(t)} for t in page.tolist()]
    _item_fiat(wb, items)
    return {"address": v.address(a), "items": items, "total": len(txs), "offset": offset, "limit": limit,
            "next_offset": next_offset(offset, len(items), len(txs))}


def _item_fiat(wb, items: list[dict]) -> None:
    """Each tx row's USD on its UTC day: received and sent at that day's close (``store.prices``)."""
    from chaintrail.api.tracing import price_book

    book = price_book(wb)
    if not book or not items:
        return
    n = len(items)
    amounts = np.array([i["received_sat"] for i in items] + [i["sent_sat"] for i in items], np.int64)
    when = np.array([i["time"] for i in items] * 2, np.int64)
    val = book.value("BTC", amounts, when)
    for k, i in enumerate(items):
        row = val.row(k)
        i["fiat"] = {"day": row["day"], "price_usd": row["price_usd"], "received_usd": row["usd"],
                     "sent_usd": val.row(n + k)["usd"]}


def transaction(wb, t: int, offset: int, limit: int) -> dict:
    v, tags = wb.view, wb.tags
    ins, outs = v.tx_inputs(t), v.tx_outputs(t)
    in_vals = v.in_value[ins]
    inputs = []
    if not v.tx_is_cb[t]:
        for i in ins[offset:offset + limit].tolist():
            a, prev, val = int(v.in_addr[i]), int(v.in_prev[i]), int(v.in_value[i])
            prev_txid, prev_vout = (v.outpoint(prev).split(":") if prev != _NONE else (None, None))
            inputs.append({"vin": i - int(v.tx_first_in[t]), "address": v.address(a) if a != _NONE else None,
                           "value_sat": val if val >= 0 else None, "prev_txid": prev_txid,
                           "prev_vout": int(prev_vout) if prev_vout is not None else None,
                           "cluster": v.cluster_of(a) if a != _NONE else None,
                           "risk": tags.risk(a) if a != _NONE else []})
    outputs = []
    for o in outs[offset:offset + limit].tolist():
        a, sp = int(v.out_addr[o]), int(v.out_spent[o])
        spent_by = None
        if sp != _NONE:
            st = v.tx_of_in(sp)
            spent_by = f"{v.txid(st)}:{sp - int(v.tx_first_in[st])}"
        outputs.append({"vout": o - int(v.tx_first_out[t]), "address": v.address(a) if a != _NONE else None,
                        "value_sat": int(v.out_value[o]), "spent_by": spent_by,
                        "cluster": v.cluster_of(a) if a != _NONE else None, "risk": tags.risk(a) if a != _NONE else []})
    known_in = bool((in_vals >= 0).all()) and not v.tx_is_cb[t]
    return {**tx_ref(v, t), "is_coinbase": bool(v.tx_is_cb[t]), "pattern": v.pattern(t), "mixing": bool(v.tx_mixing[t]),
            "fee_sat": int(v.tx_fee[t]) if v.tx_fee[t] >= 0 else None, "vsize": int(v.tx_vsize[t]),
            "n_inputs": len(ins), "n_outputs": len(outs),
            "input_sat": int(in_vals.sum()) if known_in else None, "output_sat": int(v.out_value[outs].sum()),
            "inputs": inputs, "outputs": outputs, "offset": offset, "limit": limit}


def entity(wb, cid: int, currency: str = "USD") -> dict:
    v, tags = wb.view, wb.tags
    members = v.members(cid)
    tag_list = tags.cluster_tags(cid, members, limit=20)
    large = len(members) >= wb.limits.large_entity
    return {"id": cid, "size": len(members), "name": tag_list[0]["label"] if tag_list else None,
            "large": large, "received_sat": int(v.cluster_received[cid]),
            "sent_sat": int(v.cluster_sent[cid]), "balance_sat": int(v.cluster_balance[cid]),
            "risk": tx.categories_from_bits(tags.cluster_bits(cid, members)),
            "tagged_members": tags.tagged_members(members), "tags": tag_list,
            "root_address": v.address(int(members[0])) if len(members) else None,
            "fiat": summary_fiat(wb, members, int(v.cluster_balance[cid]), currency, parts=not large)}


def summary_fiat(wb, addrs: np.ndarray, balance_sat: int, currency: str = "USD", parts: bool = True) -> dict | None:
    """Fiat of what ``addrs`` received and sent (each output and input on its tx's UTC day) and of their
    balance on the store's last day (``store.prices.holdings_fiat``); ``parts`` False values the balance only."""
    from chaintrail.api.tracing import price_book
    from chaintrail.store.prices import holdings_fiat

    v = wb.view
    book = price_book(wb)
    if not book:
        return None
    tip = int(v.blk_time[-1]) if len(v.blk_time) else 0
    recv = sent = None
    if parts:
        outs, ins = v.outputs_of(addrs), v.inputs_of(addrs)
        ins = ins[np.asarray(v.in_value[ins]) >= 0]
        recv = (np.asarray(v.out_value[outs], np.int64), _tx_times(v, v.tx_of_outs(outs)))
        sent = (np.asarray(v.in_value[ins], np.int64), _tx_times(v, v.tx_of_ins(ins)))
    out = holdings_fiat(book, recv, sent, balance_sat, tip, currency)
    if out is not None and not parts:
        out["parts_note"] = ("received and sent are not valued for a large entity here: "
                             "GET /account?subject=cluster:N values every movement")
    return out


def _tx_times(v, txs: np.ndarray) -> np.ndarray:
    blk = np.asarray(v.tx_blocks(txs), np.int64)
    return np.asarray(v.blk_time, np.int64)[blk]


def member_order(wb, cid: int, order: str) -> np.ndarray:
    """Members in the asked order: by id (free), or by amount received (one argsort, cached)."""
    v = wb.view
    members = v.members(cid)
    if order == "id":
        return members
    cache = wb.member_cache
    key = (cid, order)
    hit = cache.get(key)
    if hit is None:
        hit = members[np.argsort(-v.addr_received[members], kind="stable")]
        if len(cache) > 64:
            cache.pop(next(iter(cache)))
        cache[key] = hit
    return hit


def member_rows(wb, nums: np.ndarray) -> list[dict]:
    v, tags = wb.view, wb.tags
    names = v.addresses(nums)
    at = tags.attribution
    bits = at.addr_bits[nums] if at is not None else np.zeros(len(nums), np.uint16)
    tagged = ((at.addr_slot[nums] >= 0) | (bits != 0)) if at is not None else np.zeros(len(nums), np.bool_)
    return [{"address": name, "received_sat": int(r), "sent_sat": int(s), "risk": tx.categories_from_bits(int(b)),
             "tagged": bool(g)}
            for name, r, s, b, g in zip(names, v.addr_received[nums].tolist(), v.addr_sent[nums].tolist(),
                                        bits.tolist(), tagged.tolist())]


def members_fiat(wb, nums: np.ndarray) -> list[dict] | None:
    """Per member: USD of what it received and sent, each output and input valued at the UTC close of its tx's
    day (the page's parts valued in one call); ``None`` in a member's figure where a day has no price."""
    from chaintrail.api.tracing import price_book

    v = wb.view
    book = price_book(wb)
    if not book or not len(nums):
        return None
    out = []
    sides = []
    for kind, values, tx_of, is_in in (("out", v.out_value, v.tx_of_outs, False), ("in", v.in_value, v.tx_of_ins, True)):
        idx, owner = v.rows_with_owner(kind, nums)
        amt = np.asarray(values[idx], np.int64)
        if is_in:               # an input of unknown value (outside the data) is left out, as in the summaries
            keep = amt >= 0
            idx, owner, amt = idx[keep], owner[keep], amt[keep]
        val = book.value("BTC", amt, _tx_times(v, tx_of(idx)))
        cents = np.bincount(owner, weights=np.nan_to_num(val.usd_cents), minlength=len(nums))
        gaps = np.bincount(owner, weights=np.isnan(val.usd_cents), minlength=len(nums))
        sides.append((cents, gaps))
    (rc, rg), (sc, sg) = sides
    for i in range(len(nums)):
        out.append({"received_usd": None if rg[i] else round(float(rc[i]) / 100, 2),
                    "sent_usd": None if sg[i] else round(float(sc[i]) / 100, 2)})
    return out


def members_page(wb, cid: int, offset: int, limit: int, order: str) -> dict:
    nums = member_order(wb, cid, order)
    page = nums[offset:offset + limit]
    items = member_rows(wb, page)
    fiat = members_fiat(wb, page)
    if fiat is not None:
        items = [{**m, "fiat": f} for m, f in zip(items, fiat)]
    return {"entity": cid, "order": order, "items": items, "total": len(nums), "offset": offset, "limit": limit,
            "next_offset": next_offset(offset, len(items), len(nums))}

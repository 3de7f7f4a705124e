"""An Ethereum trace drawn as a fund-flow graph: the taint each movement carried, summed per edge and asset.

Built from the kernel's edge records of one trace (``EthTracer.last_run``) and its assembled result, for the
workbench canvas:

* account nodes (address, tags, the endpoints it is, its role: source, endpoint, bridge, mixer);
* ``flow`` edges between accounts per asset: tainted amount in base units, hops, the txs that carried it;
* a swap or wrap as a ``conversion`` node: trader --asset in--> conversion --asset out--> recipient, with the
  executed rate and the tainted amounts on each side;
* Tornado: ``mixer_out`` / ``relayer_fee`` edges where a withdrawal's taint ends, ``note`` edges into a
  demixed note, and ``lead`` edges from a tainted deposit's depositor to the withdrawal's recipient its lead
  names (heuristic, measured precision, chance-match rate: a lead, not proof);
* a bridge the trail stopped at gets a ``bridge`` edge to a node for the far chain (not followed here).

Gas (fees) and burns stay in the totals. Amounts are exact integers written as decimal strings.
"""

from __future__ import annotations

from collections import defaultdict

from chaintrail.analysis.eth import trace_kernel as K
from chaintrail.analysis.eth.u128 import join_arrays

MAX_EDGES = 600
_ENDS = {K.TO_BELOW: "below_threshold", K.TO_NOTE: "note", K.TO_MIXER_OUT: "mixer_out",
         K.TO_RELAYER: "relayer_fee"}
_REACHED = ("tagged", "deposit_address")


def _hex(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "0x" + bytes(v).hex()
    return str(v).lower()


def taint_graph(tr, params, final, out, result: dict, max_edges: int = MAX_EDGES) -> dict:
    """Nodes and edges of one trace (see the module doc); ``truncated`` when edges beyond ``max_edges`` were
    left out (the earliest hops are kept)."""
    g, conv = tr.g, tr.conv
    e_pos, e_dst, e_h, e_l, e_hop = out[1], out[2], out[3], out[4], out[5]
    convs, tin_h, tin_l, tout_h, tout_l = out[8]
    amounts = join_arrays(e_h, e_l)
    tin, tout = join_arrays(tin_h, tin_l), join_arrays(tout_h, tout_l)
    conv_list = convs.tolist()
    conv_out = {(int(conv.trig[c]), int(conv.acct[c])) for c in conv_list}
    src_tx = result["source"].get("tx_hash")
    touched, status = final[0].tolist(), final[3].tolist()
    nums: dict[str, int] = {}

    def name(acct: int) -> str:
        a = int(g.acct_addr[acct])
        h = g.address_hex(a)
        nums[h] = a
        return h

    sources = {name(a) for a, s in zip(touched, status) if s == K.SOURCE}

    edges: dict[tuple, dict] = {}

    def edge(frm: str, to: str, asset: str, kind: str, amount: int, hop: int, tx: str | None, **extra) -> None:
        key = (frm, to, asset, kind)
        e = edges.get(key)
        if e is None:
            e = edges[key] = {"source": frm, "target": to, "asset": asset, "kind": kind, "amount": 0, "hops": hop,
                              "txs": [], "n_txs": 0, **extra}
        e["amount"] += amount
        e["hops"] = min(e["hops"], hop)
        if tx and tx not in e["txs"]:
            e["n_txs"] += 1
            if len(e["txs"]) < 5:
                e["txs"].append(tx)

    for p, d, amt, hop in zip(e_pos.tolist(), e_dst.tolist(), amounts, e_hop.tolist()):
        if d in (K.TO_CONVERSION, K.TO_FEES, K.TO_BURNT) or (p, d) in conv_out or not amt:
            continue
        a_from, a_to = int(g.frm[p]), (d if d >= 0 else int(g.to[p]))
        if a_to < 0:
            continue
        t = int(g.tx[p])
        tx = g.tx_hex(t) if t >= 0 else None
        to = name(a_to)
        if d >= 0 and hop == 0 and tx is not None and tx == src_tx:
            sources.add(to)
        if a_from < 0:
            continue
        edge(name(a_from), to, g.asset_name(int(g.acct_asset[a_to])),
             "flow" if d >= 0 else _ENDS.get(d, "flow"), amt, hop, tx)

    conversions = []
    for k, c in enumerate(conv_list):
        r = conv.rows[c]
        tx = g.tx_hex(int(r["tx_num"]))
        node = f"c:{tx}:{r.get('conv_index', c)}"
        a_in, a_out = _hex(r["asset_in"]) or "ETH", _hex(r["asset_out"]) or "ETH"
        recipient = name(int(conv.acct[c]))
        conversions.append({"id": node, "tx": tx, "conversion": r.get("kind"), "venue": _hex(r.get("venue")),
                            "trader": _hex(r["trader"]), "recipient": recipient, "asset_in": a_in,
                            "asset_out": a_out, "amount_in": str(r["amount_in"]), "amount_out": str(r["amount_out"]),
                            "rate": None if r.get("rate") is None else str(r["rate"]),
                            "tainted_in": str(tin[k]), "tainted_out": str(tout[k]), "evidence": r.get("evidence")})
        edge(_hex(r["trader"]) or recipient, node, a_in, "conversion_in", tin[k], 0, tx)
        edge(node, recipient, a_out, "conversion_out", tout[k], 0, tx)

    for d in result.get("demix") or []:
        lead = d.get("lead")
        if lead and d.get("recipient"):
            edge(d["depositor"], d["recipient"], d["asset"], "lead", int(d.get("true_flow_estimate") or 0), 0,
                 d.get("withdrawal_tx"), lead={**lead, "deposit_tx": d["deposit_tx"], "pool": d["pool"]})

    chains = []
    ends: dict[str, list[dict]] = defaultdict(list)
    for e in result["endpoints"]:
        if not e.get("address"):
            continue
        ends[e["address"]].append({k: e.get(k) for k in ("kind", "asset", "amount", "hops", "service", "evidence")})
        if e["kind"] == "bridged":
            far = f"chain:{e['address']}"
            if far not in chains:
                chains.append(far)
            edge(e["address"], far, e["asset"], "bridge", int(e["amount"]), e["hops"] or 0, (e["txs"] or [None])[0],
                 evidence=e.get("evidence"))

    kept = sorted(edges.values(), key=lambda e: (e["hops"], e["kind"] != "flow"))
    truncated = len(kept) > max_edges
    kept = kept[:max_edges]
    for e in kept:
        e["amount"] = str(e["amount"])
    tags = tr.stops(params).tags
    names = {n for e in kept for n in (e["source"], e["target"])}
    by_id = {c["id"]: c for c in conversions}
    nodes = []
    for n in sorted(names):
        if n in by_id:
            nodes.append({"id": n, "kind": "conversion", **{k: v for k, v in by_id[n].items() if k != "id"}})
        elif n.startswith("chain:"):
            nodes.append({"id": n, "kind": "chain", "bridge": n[6:]})
        else:
            num = nums.get(n)
            mine = ends.get(n, [])
            role = ("source" if n in sources else "endpoint" if any(x["kind"] in _REACHED for x in mine)
                    else "bridge" if any(x["kind"] == "bridged" for x in mine) else None)
            nodes.append({"id": n, "kind": "account", "address": n, "role": role,
                          "tags": tags.get(num, []) if num is not None else [], "endpoints": mine})
    return {"nodes": nodes, "edges": kept, "truncated": truncated, "edges_total": len(edges)}


"""An Ethereum trace's result: endpoints per address and asset, exact accounting per asset, steps with evidence."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from chaintrail.analysis.eth import trace_kernel as K
from chaintrail.analysis.eth.trace import (_END_KIND, _TO_ENDPOINTS, BACK_RULES, ENGINE_VERSION, RULES,
                                           EthTraceParams, canonical_hash, params_dict)
from chaintrail.analysis.eth.u128 import join, join_arrays

_ROWS = ("source", "fees", "burnt", "below_threshold", "converted", "converted_in", "absorbed", "returned", "mixer",
         "bridged")
_MIXER_ENDS = {K.TO_MIXER_OUT: "mixer_withdrawal", K.TO_RELAYER: "relayer_fee"}
_STOPPED = ("bridged", "mixer_withdrawal", "relayer_fee", "mixer_note")
_MAX_PATH = 1000


def assemble(tr, params: EthTraceParams, source: dict, final, out) -> dict:
    g, stops, conv = tr.g, tr.stops(params), tr.conv
    touched, t_hi, t_lo, status, hops = final
    _, e_pos, e_dst, e_h, e_l, e_hop, tot_h, tot_l, conv_taint, visited, note = out
    mx = tr.mixer(params)
    back = params.direction == "backward"
    # backward: interest no in-flow accounts for was held before the store; funds with no sender were minted
    held, made = ("before_store", "minted") if back else ("unspent", "burnt")
    n_assets = len(g.asset_addr)
    rows = {name: [join(tot_h[r, s], tot_l[r, s]) for s in range(n_assets)] for r, name in enumerate(_ROWS)}
    e_amt = join_arrays(e_h, e_l)
    e_pos_l, e_dst_l, e_hop_l = e_pos.tolist(), e_dst.tolist(), e_hop.tolist()
    # best (fewest hops, first) delivery per account, and the txs that paid each account
    best: dict[int, tuple[int, int]] = {}
    paid: dict[int, list[int]] = defaultdict(list)
    below: dict[int, int] = defaultdict(int)
    mixed: dict[tuple[int, str], int] = defaultdict(int)
    burnt_txs: dict[int, list[int]] = defaultdict(list)
    bridged: dict[int, list[int]] = {}          # bridge leg position -> [taint, hops]
    for p, d, h, a in zip(e_pos_l, e_dst_l, e_hop_l, e_amt):
        if d >= 0:
            if d not in best or h < best[d][1]:
                best[d] = (p, h)
            paid[d].append(int(g.tx[p]))
        elif d == K.TO_BELOW:
            below[int(g.to[p])] += a
        elif d in _MIXER_ENDS:
            mixed[(int(g.to[p]), _MIXER_ENDS[d])] += a
            paid[int(g.to[p])].append(int(g.tx[p]))
        elif d == K.TO_BRIDGE:
            b = bridged.setdefault(p, [0, h])
            b[0] += a
        elif d == K.TO_BURNT:
            burnt_txs[int(g.acct_asset[g.frm[p]] if g.frm[p] >= 0 else g.acct_asset[g.to[p]])].append(int(g.tx[p]))
    endpoints = []

    def endpoint(acct: int, kind: str, amount: int, hop: int, txs: list[int]) -> None:
        addr = int(g.acct_addr[acct])
        s = int(g.acct_asset[acct])
        kind = held if kind == "unspent" else kind
        e = {"address": g.address_hex(addr), "asset": g.asset_name(s), "amount": str(amount), "kind": kind,
             "hops": hop, "tags": stops.tags.get(addr, []), "path": _path(tr, best, acct, back),
             "txs": [g.tx_hex(t) for t in dict.fromkeys(txs) if t >= 0]}
        if kind in ("tagged", "deposit_address"):
            e["service"] = stops.service.get(addr)
            e["evidence"] = stops.evidence.get(addr)
        elif kind == "bridged":
            e["evidence"] = stops.evidence.get(addr)
        elif kind in ("mixer_withdrawal", "relayer_fee", "mixer_note"):
            e["evidence"] = _MIXER_EVIDENCE[kind]
        endpoints.append((s, kind, e))

    held_src = [0] * n_assets
    for acct, th, tl, st, h in zip(touched.tolist(), t_hi.tolist(), t_lo.tolist(), status.tolist(), hops.tolist()):
        if st == K.SOURCE:
            bal = join(g.final_hi[acct], g.final_lo[acct])
            if bal >= 1 << 127:
                bal = 0                      # below zero: value from before the store's first block
            if bal:
                held_src[int(g.acct_asset[acct])] += bal
                endpoint(acct, "unspent", bal, 0, [])
            continue
        amount = (th << 64) | tl
        if amount:
            endpoint(acct, _END_KIND[st], amount, h, paid.get(acct, []))
    for acct_to, amount in below.items():
        endpoint(acct_to, "below_threshold", amount, 0, paid.get(acct_to, []))
    for (acct_to, kind), amount in mixed.items():
        endpoint(acct_to, kind, amount, best.get(acct_to, (0, 0))[1], paid.get(acct_to, []))
    demix = _demix(tr, params, mx, note)
    for d in demix:
        if int(d["left_in_note"]):
            endpoints.append((d["_asset"], "mixer_note", {
                "address": d["pool"], "asset": g.asset_name(d["_asset"]), "amount": d["left_in_note"],
                "kind": "mixer_note", "hops": d["_hop"], "tags": [], "path": [], "txs": [d["deposit_tx"]],
                "evidence": _MIXER_EVIDENCE["mixer_note"]}))
    bridges = bridge_steps(tr, bridged)
    for b in bridges:
        s = int(g.acct_asset[g.frm[b["_pos"]]])
        endpoints.append((s, "bridged", {
            "address": b["contract"], "asset": g.asset_name(s), "amount": b["tainted"], "kind": "bridged",
            "hops": b["hops"], "tags": stops.tags.get(int(g.addr_num(b["contract"])), []),
            "path": _path(tr, best, int(g.frm[b["_pos"]])) + [b["tx_hash"]], "txs": [b["tx_hash"]],
            "evidence": f"{b['event']} nonce {b['nonce']} of bridge {b['contract']} to chain {b['dst_chain_id']}"
                        + ("" if b.get("followed") else " (not followed: no matching event on the other chain's store)")}))
    for s, amount in enumerate(rows["burnt"]):
        if amount:
            endpoints.append((s, made, {"address": None, "asset": g.asset_name(s), "amount": str(amount),
                                        "kind": made, "hops": None, "tags": [], "path": [],
                                           "txs": [g.tx_hex(t) for t in dict.fromkeys(burnt_txs[s]) if t >= 0]}))
    by_kind: dict[tuple[int, str], int] = defaultdict(int)
    for s, kind, e in endpoints:
        by_kind[(s, kind)] += int(e["amount"])
    totals = {}
    for s in range(n_assets):
        src = rows["source"][s] + held_src[s]
        traced = src + rows["converted_in"][s] + rows["absorbed"][s] - rows["returned"][s]
        if not (traced or rows["converted"][s] or any(by_kind.get((s, k)) for k in _END_KIND.values())):
            continue
        t = {"traced": traced, "source": src, "converted_in": rows["converted_in"][s],
             "absorbed": rows["absorbed"][s], "to_endpoints": sum(by_kind.get((s, k), 0) for k in _TO_ENDPOINTS),
             "fees": rows["fees"][s], "unspent": by_kind.get((s, held), 0),
             "below_threshold": by_kind.get((s, "below_threshold"), 0),
             "stopped": sum(v for (a, k), v in by_kind.items() if a == s and (k.startswith("stopped") or k in _STOPPED)),
             "converted": rows["converted"][s]}
        rhs = t["to_endpoints"] + t["fees"] + t["unspent"] + t["below_threshold"] + t["stopped"] + t["converted"]
        if rhs != traced:
            raise AssertionError(f"trace accounting broken for {g.asset_name(s)}: traced {traced} != {rhs}")
        totals[g.asset_name(s)] = {k: str(v) for k, v in t.items()}
    endpoints.sort(key=lambda x: (x[0], -int(x[2]["amount"]), x[2]["kind"], x[2]["address"] or ""))
    d = {"chain": "eth", "source": source, "model": params.model, "params": params_dict(params),
         "endpoints": [e for _, _, e in endpoints], "totals": totals,
         "steps": _steps(tr, params, e_pos_l, conv_taint, mx, note),
         "stats": {"flows_visited": int(visited), "taint_edges": len(e_pos_l), "accounts_touched": len(touched)},
         "engine": ENGINE_VERSION}
    if bridges:
        d["bridges"] = [{k: v for k, v in b.items() if not k.startswith("_")} for b in bridges]
    if demix:
        d["demix"] = [{k: v for k, v in x.items() if not k.startswith("_")} for x in demix]
    if mx.skipped:
        d.setdefault("notes", []).append(f"{mx.skipped} Tornado deposit/withdrawal legs not found in the flows")
    if conv.skipped:
        d.setdefault("notes", []).append(f"{conv.skipped} conversions of {len(conv.rows) + conv.skipped} have no "
                                          "legs in the flows")
    d["trace_hash"] = canonical_hash(d)
    return d


def bridge_steps(tr, bridged: dict[int, list[int]]) -> list[dict]:
    """Per bridge leg that carried taint off the chain: the sending event's fields as evidence (the crossing's
    far side is added by ``bridge_trace`` where the other chain's store is given)."""
    g, br = tr.g, tr.bridge
    out = []
    for p in sorted(bridged):
        e = br.events[br.out_event[p]]
        t = int(g.tx[p])
        out.append({"event": "Locked" if e["kind"] == "locked" else "Burned", "chain_id": br.chain_id,
                    "contract": "0x" + e["contract"].hex(), "nonce": e["nonce"],
                    "asset": g.asset_name(int(g.acct_asset[g.frm[p]])), "token": "0x" + e["token"].hex(),
                    "amount": str(e["amount"]), "tainted": str(bridged[p][0]), "sender": "0x" + e["sender"].hex(),
                    "recipient": "0x" + e["recipient"].hex(), "dst_chain_id": e["dst_chain"],
                    "tx_hash": g.tx_hex(t), "block_number": e["block_number"], "block_hash": g.block_hex(t),
                    "log_index": e["log_index"], "hops": bridged[p][1], "followed": False, "_pos": p})
    return out


def _path(tr, best: dict[int, tuple[int, int]], acct: int, back: bool = False) -> list[str]:
    """Tx hashes from the source to the delivery that reached ``acct`` in the fewest hops (backward: from the
    traced funds back to ``acct``)."""
    g, conv = tr.g, tr.conv
    out, seen = [], set()
    while acct in best and acct not in seen and len(out) < _MAX_PATH:
        seen.add(acct)
        p, h = best[acct]
        out.append(g.tx_hex(int(g.tx[p])) if g.tx[p] >= 0 else f"flow:{int(g.flow[p])}")
        if back:                              # the in-flow (or conversion output, withdrawal) of the holder
            acct = int(g.to[p])
        elif g.to[p] == acct:
            acct = int(g.frm[p])
        else:                                 # a conversion's output: back to the trader's input account
            legs = np.flatnonzero(conv.conv_in[g.tx_pos[g.tx[p]]:g.tx_pos[g.tx[p] + 1]] >= 0)
            if not len(legs):
                break
            acct = int(g.frm[g.tx_pos[g.tx[p]] + legs[0]])
        if h == 0 or acct < 0:
            break
    return list(dict.fromkeys(reversed(out)))


_MIXER_EVIDENCE = {
    "mixer_withdrawal": "Tornado withdrawal carrying the pool's tainted share; no lead pairs it with a tainted "
                        "deposit, so the trail ends at its recipient (the answer key's rule for others' withdrawals)",
    "relayer_fee": "Tornado relayer's fee: the trail ends at the relayer",
    "mixer_note": "taint left in a Tornado note no lead pairs with a withdrawal (mixer policy demix)"}
_LEAD_FIELDS = ("heuristic", "precision", "chance_match_rate", "expected_chance_matches", "score", "evidence")


def _lead(r: dict | None) -> dict | None:
    if r is None:
        return None
    from chaintrail.analysis.eth.tornado_links import NOT_PROOF
    out = {k: r.get(k) for k in _LEAD_FIELDS}
    out["not_proof"] = NOT_PROOF
    return out


def _demix(tr, params, mx, note) -> list[dict]:
    """Per deposit that carried taint: its pool, the withdrawal paired with it and the lead that paired it
    (with its measured precision and chance-match rate), the note's taint and the true-flow estimate: the
    note's tainted share of what the withdrawal paid its recipient, floor((denomination - fee) * note /
    denomination)."""
    g = tr.g
    notes, nh, nl, th, tl, hop = note
    out = []
    for k, i in enumerate(notes.tolist()):
        r = mx.deposits[i]
        taint, took = join(nh[k], nl[k]), join(th[k], tl[k])
        den = int(r["denomination"])
        j = int(mx.d_w[i])
        w = mx.withdrawals[j] if j >= 0 else None
        s = int(g.acct_asset[g.to[np.flatnonzero((mx.leg == 3) & (mx.ref == i))[0]]])
        row = {"pool": "0x" + bytes(r["pool"]).hex(), "deposit_tx": g.tx_hex(int(r["tx_num"])),
               "depositor": "0x" + bytes(r["sender"]).hex(), "asset": g.asset_name(s), "denomination": str(den),
               "tainted_in": str(taint), "withdrawal_tx": g.tx_hex(int(w["tx_num"])) if w else None,
               "recipient": "0x" + bytes(w["recipient"]).hex() if w else None,
               "true_flow_estimate": str((den - int(w["fee"])) * taint // den) if w else "0",
               "lead": _lead(mx.pair_lead.get(i)),
               "other_leads": len(mx.leads_of.get(i, [])) - (1 if i in mx.pair_lead and
                                                              mx.pair_lead[i]["heuristic"] != "confirmed" else 0),
               "left_in_note": str(taint - took) if params.mixer_policy == "demix" else "0",
               "_asset": s, "_hop": int(hop[k])}
        out.append(row)
    return out


def _steps(tr, params, e_pos: list[int], conv_taint, mx=None, note=None) -> list[dict]:
    """Per transaction that carried taint: its hash, block hash, the model's rule, its conversions, and at a
    Tornado withdrawal the lead that paired it (or why the trail ends there)."""
    g, conv = tr.g, tr.conv
    by_tx: dict[int, list[dict]] = defaultdict(list)
    convs, tin_h, tin_l, tout_h, tout_l = conv_taint
    for k, c in enumerate(convs.tolist()):
        r = conv.rows[c]
        a_in, a_out = int(r["amount_in"]), int(r["amount_out"])
        by_tx[int(r["tx_num"])].append({
            "kind": r.get("kind"), "venue": _hex(r.get("venue")), "trader": _hex(r.get("trader")),
            "asset_in": _hex(r.get("asset_in")) or "ETH", "amount_in": str(a_in),
            "asset_out": _hex(r.get("asset_out")) or "ETH", "amount_out": str(a_out),
            "rate": str(r["rate"]) if r.get("rate") is not None else str(a_out / a_in),
            "tainted_in": str(join(tin_h[k], tin_l[k])), "tainted_out": str(join(tout_h[k], tout_l[k])),
            "rule": ("conversion, backward: tainted_in = floor(tainted_out * amount_in / amount_out)"
                     if params.direction == "backward" else "conversion: floor(amount_out * tainted_in / amount_in)"),
            "evidence": r.get("evidence")})
    mixed: dict[int, dict] = {}
    if mx is not None and len(mx.withdrawals):
        tainted = set(note[0].tolist())
        for p in e_pos:
            if mx.leg[p] not in (1, 2):
                continue
            j = int(mx.ref[p])
            i = int(mx.w_dep[j])
            w = mx.withdrawals[j]
            paired = i >= 0 and (i in tainted or params.direction == "backward")
            mixed[int(g.tx[p])] = {
                "pool": "0x" + bytes(w["pool"]).hex(), "recipient": "0x" + bytes(w["recipient"]).hex(),
                "relayer": "0x" + bytes(w["relayer"]).hex(), "fee": str(w["fee"]),
                "deposit_tx": g.tx_hex(int(mx.deposits[i]["tx_num"])) if paired else None,
                "followed": paired or params.mixer_policy == "haircut",
                "rule": _MIX_RULES[params.mixer_policy], "lead": _lead(mx.pair_lead.get(i)) if paired else None}
    steps = []
    for t in dict.fromkeys(int(g.tx[p]) for p in e_pos):
        if t < 0:
            continue
        s = {"tx_hash": g.tx_hex(t), "block_hash": g.block_hex(t), "model": params.model,
             "rule": (BACK_RULES if params.direction == "backward" else RULES)[params.model]}
        if t in by_tx:
            s["conversions"] = by_tx[t]
        if t in mixed:
            s["tornado_withdrawal"] = mixed[t]
        steps.append(s)
    return steps


_MIX_RULES = {
    "leads": "the pool is an account under the model; the recipient's share goes on only where a lead pairs the "
             "withdrawal with a tainted deposit, the relayer's fee ends at the relayer",
    "demix": "the paired note's taint: recipient floor(x * note / denomination), the relayer the rest",
    "haircut": "the pool is an account under the model; every withdrawal is followed",
    "stop": "the trail ends at the pool"}


def _hex(v):
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    return v


def records_requests(d: dict) -> list[dict]:
    """Per service reached (exchanges, OTC desks): per asset what arrived, the token contracts, and the
    deposit addresses to ask records for."""
    out: dict[str, dict] = {}
    for e in d["endpoints"]:
        if e["kind"] not in ("tagged", "deposit_address"):
            continue
        name = e.get("service") or e["address"]
        svc = out.setdefault(name, {"service": name, "assets": {}, "token_contracts": [], "deposits": []})
        svc["assets"][e["asset"]] = str(int(svc["assets"].get(e["asset"], 0)) + int(e["amount"]))
        if e["asset"] != "ETH" and e["asset"].split("#")[0] not in svc["token_contracts"]:
            svc["token_contracts"].append(e["asset"].split("#")[0])
        svc["deposits"].append({"address": e["address"], "asset": e["asset"], "amount": e["amount"],
                                "kind": e["kind"], "evidence": e.get("evidence"), "txs": e["txs"]})
    return sorted(out.values(), key=lambda s: s["service"])

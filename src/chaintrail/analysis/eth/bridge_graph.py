"""A trace across a bridge drawn as one fund-flow graph: both chains' graphs side by side, joined by bridge hops.

``bridge_trace.trace_across`` leaves each tracer's last run (``last_run``); each chain's graph is drawn by
``trace_graph.taint_graph`` from it, then:

* every node carries its ``chain_id``; the far chain's node ids are prefixed ``CHAIN_ID:`` (one address may be
  an account on both chains: the same key, two accounts), and so are its token assets (``CHAIN_ID:0xTOKEN``:
  a contract address is only a token's name on its own chain; ETH stays ETH);
* a crossing the trace followed is one ``bridge`` edge per crossing, from the sending event's bridge contract
  to the receiving event's recipient on the other chain, carrying the leg's taint, its nonce, both events
  (tx and block hashes, log indexes) and the matching rule as evidence; a crossing not followed keeps its
  edge to a node for the far chain, as on one chain;
* the receiving leg itself (a mint from nobody, a release from the bridge) is that edge, not a second one.
"""

from __future__ import annotations

from chaintrail.analysis.eth.trace_graph import MAX_EDGES, taint_graph

ZERO = "0x" + "00" * 20


def far_id(chain_id: int, node: str) -> str:
    """The far chain's node id (``CHAIN_ID:0xADDRESS``, ``CHAIN_ID:c:TX:N``, ``CHAIN_ID:chain:0xBRIDGE``)."""
    return f"{chain_id}:{node}"


def far_asset(chain_id: int, asset: str) -> str:
    return asset if asset == "ETH" else f"{chain_id}:{asset}"


def _evidence(b: dict) -> str:
    t = b["to"]
    return (f"{b['event']} nonce {b['nonce']} of bridge {b['contract']} on chain {b['chain_id']} (tx {b['tx_hash']}, "
            f"block {b['block_number']} {b['block_hash']}, log {b['log_index']}) matched {t['event']} nonce "
            f"{t['nonce']} on chain {t['chain_id']} (tx {t['tx_hash']}, block {t['block_number']} {t['block_hash']}, "
            f"log {t['log_index']}): {b.get('rule', 'matched by nonce, asset, recipient and amount')}")


def _hop_edge(b: dict, source: str, target: str, asset: str) -> dict:
    t = b["to"]
    return {"source": source, "target": target, "asset": asset, "kind": "bridge", "amount": str(b["tainted"]),
            "hops": int(b.get("hops") or 0), "txs": [b["tx_hash"], t["tx_hash"]], "n_txs": 2, "followed": True,
            "nonce": b["nonce"], "event": b["event"], "to_event": t["event"], "from_chain_id": b["chain_id"],
            "to_chain_id": t["chain_id"], "to_asset": t["asset"], "to_amount": t["amount"],
            "block_hashes": [b["block_hash"], t["block_hash"]], "evidence": _evidence(b)}


def across_graph(x, y, result: dict, max_edges: int = MAX_EDGES, decorate=None) -> dict:
    """Both chains' graphs of a ``trace_across`` result joined by its crossings (see the module doc);
    ``decorate(graph, tracer)`` adds what the canvas shows beside each chain's graph (symbols, contracts)."""
    other = result["other_chain"]
    cx, cy = result["chain_id"], other["chain_id"]
    (px, fx, ox), (py, fy, oy) = x.last_run, y.last_run
    gx = taint_graph(x, px, fx, ox, result, max_edges)
    gy = taint_graph(y, py, fy, oy, other, max_edges)
    if decorate is not None:
        gx, gy = decorate(gx, x), decorate(gy, y)
    followed = [b for b in result.get("bridges", []) if b.get("followed")]
    back = [b for b in other.get("bridges", []) if b.get("followed")]
    arrivals = {b["to"]["tx_hash"] for b in followed + back}
    followed_keys = {(b["contract"], b["asset"]) for b in followed}
    back_keys = {(b["contract"], b["asset"]) for b in back}

    def keep(e: dict, keys: set, received: set) -> bool:
        if e["kind"] == "bridge" and (e["source"], e["asset"]) in keys:
            return False              # drawn per crossing below
        # the receiving leg (a mint from nobody / the zero address) is the crossing's own edge
        return not (e["source"] == ZERO and set(e["txs"]) & received)

    def rename_y(n: str) -> str:
        return far_id(cy, n)

    nodes: dict[str, dict] = {}
    edges: list[dict] = []
    for n in gx["nodes"]:
        nodes[n["id"]] = {**n, "chain_id": cx}
    for e in gx["edges"]:
        if keep(e, followed_keys, arrivals):
            edges.append(e)
    for n in gy["nodes"]:
        m = {**n, "id": rename_y(n["id"]), "chain_id": cy, "far": True}
        if "endpoints" in m:
            m["endpoints"] = [{**x, "asset": far_asset(cy, x["asset"])} for x in m["endpoints"]]
        for k in ("asset_in", "asset_out"):
            if k in m:
                m[k] = far_asset(cy, m[k])
        nodes[m["id"]] = m
    for e in gy["edges"]:
        if keep(e, back_keys, arrivals):
            edges.append({**e, "source": rename_y(e["source"]), "target": rename_y(e["target"]),
                          "asset": far_asset(cy, e["asset"])})

    def ensure(node_id: str, address: str, chain_id: int, result_: dict, far: bool) -> None:
        if node_id in nodes:
            return
        ends = [{**{k: e.get(k) for k in ("kind", "amount", "hops", "service", "evidence")},
                 "asset": far_asset(chain_id, e["asset"]) if far else e["asset"]}
                for e in result_["endpoints"] if e.get("address") == address]
        nodes[node_id] = {"id": node_id, "kind": "account", "address": address, "role": None, "tags": [],
                          "endpoints": ends, "chain_id": chain_id, **({"far": True} if far else {})}

    for b in followed:         # X -> Y: contract on X, recipient on Y
        tgt = rename_y(b["to"]["recipient"])
        ensure(b["contract"], b["contract"], cx, result, False)
        ensure(tgt, b["to"]["recipient"], cy, other, True)
        nodes[b["contract"]]["role"] = nodes[b["contract"]].get("role") or "bridge"
        edges.append(_hop_edge(b, b["contract"], tgt, b["asset"]))
    for b in result.get("bridges", []):      # a crossing not followed beside followed ones of its contract
        if not b.get("followed") and (b["contract"], b["asset"]) in followed_keys:
            far_node = f"chain:{b['contract']}"
            nodes.setdefault(far_node, {"id": far_node, "kind": "chain", "bridge": b["contract"], "chain_id": None})
            edges.append({"source": b["contract"], "target": far_node, "asset": b["asset"], "kind": "bridge",
                          "amount": str(b["tainted"]), "hops": int(b.get("hops") or 0), "txs": [b["tx_hash"]],
                          "n_txs": 1, "followed": False, "nonce": b["nonce"],
                          "evidence": f"{b['event']} nonce {b['nonce']} of bridge {b['contract']} to chain "
                                      f"{b['dst_chain_id']} (not followed: no matching event on the other chain's store)"})
    for b in back:             # Y -> X: contract on Y, recipient on X
        src = rename_y(b["contract"])
        ensure(src, b["contract"], cy, other, True)
        ensure(b["to"]["recipient"], b["to"]["recipient"], cx, result, False)
        edges.append(_hop_edge(b, src, b["to"]["recipient"], far_asset(cy, b["asset"])))
    used = {n for e in edges for n in (e["source"], e["target"])}
    assets = dict(gx.get("assets", {}))
    for a, meta in gy.get("assets", {}).items():
        assets[far_asset(cy, a)] = meta
    return {"nodes": [n for k, n in sorted(nodes.items()) if k in used], "edges": edges,
            "truncated": gx["truncated"] or gy["truncated"], "edges_total": gx["edges_total"] + gy["edges_total"],
            "assets": assets, "chains": {"here": cx, "far": cy}, "crossings": len(followed) + len(back)}


__all__ = ["across_graph", "far_asset", "far_id"]

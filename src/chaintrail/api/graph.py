"""Fund-flow graph fragments for the canvas: nodes and edges that read left to right.

Node ids: ``a:<address>``, ``t:<txid>``, ``e:<cluster>``, ``o:<txid>:<vout>``
(an output without an address), ``c:<txid>`` (a coinbase's new coins) and
``m:<node>:<side>`` (the rest of a list cut at its limit). Every edge points
the way the money went (address -> tx it spends in -> address it pays), so a
layered layout puts sources on the left and destinations on the right.

Nothing here ever returns more than ``limit`` items per list: a hot wallet
with a million txs or a supercluster of millions gives one page and a count.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from chaintrail.api.errors import NotFoundError
from chaintrail.store.index import NONE
from chaintrail.tags import taxonomy as tx
from chaintrail.i18n import _

_NONE = int(NONE)


def _short(s: str, n: int = 10) -> str:
    return s if len(s) <= n + 2 else s[:n] + "…"


def _group_sum(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys and the exact int64 sum of values per key."""
    if not len(keys):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.zeros(len(uniq), np.int64)
    np.add.at(sums, inv, np.asarray(values, np.int64))
    return uniq, sums


class GraphBuilder:
    """Builds canvas fragments from a ``Workbench``."""

    def __init__(self, wb):
        self.wb = wb
        self.v = wb.view

    # -- nodes -----------------------------------------------------------------------
    def address_node(self, a: int) -> dict:
        v, tags = self.v, self.wb.tags
        addr = v.address(a) or f"addr#{a}"
        cid = v.cluster_of(a)
        size = int(v.cluster_size[cid])
        label = tags.label(a)
        return {"id": f"a:{addr}", "kind": "address", "label": label or _short(addr), "address": addr,
                "cluster": cid, "cluster_size": size, "large_entity": size >= self.wb.limits.large_entity,
                "risk": tags.risk(a), "tags": tags.names(a), "amount_sat": int(v.addr_received[a]),
                "received_sat": int(v.addr_received[a]), "sent_sat": int(v.addr_sent[a])}

    def tx_node(self, t: int) -> dict:
        v = self.v
        txid = v.txid(t)
        outs = v.tx_outputs(t)
        return {"id": f"t:{txid}", "kind": "tx", "label": _short(txid, 8), "txid": txid, "time": v.tx_time(t),
                "height": v.tx_height(t), "amount_sat": int(v.out_value[outs].sum()) if len(outs) else 0,
                "fee_sat": int(v.tx_fee[t]) if v.tx_fee[t] >= 0 else None, "pattern": v.pattern(t),
                "mixing": bool(v.tx_mixing[t]), "coinbase": bool(v.tx_is_cb[t]), "risk": [], "tags": [],
                "n_inputs": int(v.tx_first_in[t + 1] - v.tx_first_in[t]), "n_outputs": len(outs)}

    def entity_node(self, cid: int) -> dict:
        v, tags = self.v, self.wb.tags
        members = v.members(cid)
        size = len(members)
        name = tags.cluster_name(cid, members) if size < 1_000_000 else None
        return {"id": f"e:{cid}", "kind": "entity", "label": name or f"entity {cid} ({size:,} addresses)",
                "cluster": cid, "cluster_size": size, "large_entity": size >= self.wb.limits.large_entity,
                "risk": tx.categories_from_bits(tags.cluster_bits(cid, members)), "tags": [name] if name else [],
                "amount_sat": int(v.cluster_received[cid]), "received_sat": int(v.cluster_received[cid]),
                "sent_sat": int(v.cluster_sent[cid])}

    @staticmethod
    def _edge(src: str, dst: str, amount: int, kind: str) -> dict:
        return {"id": f"{src}>{dst}", "source": src, "target": dst, "amount_sat": int(amount), "kind": kind}

    # -- expansions ------------------------------------------------------------------
    def expand_address(self, a: int, offset: int, limit: int) -> dict:
        """The address, a page of its txs, and what it sent into / received from each."""
        v = self.v
        txs = v.addr_txs(a)
        page = txs[offset:offset + limit]
        me = self.address_node(a)
        nodes, edges = [me], []
        outs, ins = v.addr_outputs(a), v.addr_inputs(a)
        t_recv, recv = _group_sum(v.tx_of_outs(outs), v.out_value[outs])
        known = np.where(v.in_value[ins] >= 0, v.in_value[ins], 0)
        t_sent, sent = _group_sum(v.tx_of_ins(ins), known)
        recv_of = dict(zip(t_recv.tolist(), recv.tolist()))
        sent_of = dict(zip(t_sent.tolist(), sent.tolist()))
        for t in page.tolist():
            tn = self.tx_node(t)
            nodes.append(tn)
            if t in sent_of:
                edges.append(self._edge(me["id"], tn["id"], sent_of[t], "spend"))
            if t in recv_of:
                edges.append(self._edge(tn["id"], me["id"], recv_of[t], "pay"))
        return {"nodes": nodes, "edges": edges, "total": len(txs), "offset": offset, "limit": limit,
                "truncated": offset + len(page) < len(txs)}

    def expand_tx(self, t: int, limit: int) -> dict:
        """The tx with its inputs and outputs grouped per address (largest first, the rest summed)."""
        v = self.v
        me = self.tx_node(t)
        nodes, edges = [me], []
        ins, outs = v.tx_inputs(t), v.tx_outputs(t)
        truncated = False
        if v.tx_is_cb[t]:
            cb = {"id": f"c:{me['txid']}", "kind": "coinbase", "label": f"new coins (block {me['height']})",
                  "amount_sat": me["amount_sat"], "risk": [], "tags": []}
            nodes.append(cb)
            edges.append(self._edge(cb["id"], me["id"], me["amount_sat"], "mint"))
        else:
            addrs = v.in_addr[ins].astype(np.int64)
            vals = np.where(v.in_value[ins] >= 0, v.in_value[ins], 0)
            truncated |= self._side(me, addrs, vals, limit, "in", nodes, edges, ins, t)
        truncated |= self._side(me, v.out_addr[outs].astype(np.int64), v.out_value[outs], limit, "out", nodes, edges,
                                outs, t)
        return {"nodes": nodes, "edges": edges, "total": int(len(ins) + len(outs)), "offset": 0, "limit": limit,
                "truncated": truncated}

    def _side(self, me, addrs, vals, limit, side, nodes, edges, rows, t) -> bool:
        v = self.v
        known = addrs != _NONE
        uniq, sums = _group_sum(addrs[known], vals[known])
        order = np.argsort(-sums, kind="stable")
        keep, rest = order[:limit], order[limit:]
        for k in keep.tolist():
            n = self.address_node(int(uniq[k]))
            nodes.append(n)
            pair = (n["id"], me["id"]) if side == "in" else (me["id"], n["id"])
            edges.append(self._edge(*pair, int(sums[k]), "spend" if side == "in" else "pay"))
        # Outputs with no address (OP_RETURN, non-standard) and inputs of unknown origin.
        for r, val in zip(rows[~known][:limit].tolist(), vals[~known][:limit].tolist()):
            if side == "out":
                vout = r - int(v.tx_first_out[t])
                nid = f"o:{me['txid']}:{vout}"
                nodes.append({"id": nid, "kind": "output", "label": f"{v.outpoint(r)[-6:]} (no address)",
                              "amount_sat": int(val), "risk": [], "tags": []})
                edges.append(self._edge(me["id"], nid, int(val), "pay"))
            else:
                nid = f"o:{me['txid']}:in{r - int(v.tx_first_in[t])}"
                nodes.append({"id": nid, "kind": "output", "label": "unknown origin", "amount_sat": int(val),
                              "risk": [], "tags": []})
                edges.append(self._edge(nid, me["id"], int(val), "spend"))
        if len(rest):
            nid = f"m:{me['id']}:{side}"
            amount = int(sums[rest].sum())
            nodes.append({"id": nid, "kind": "more", "label": f"+{len(rest)} more {'senders' if side == 'in' else 'recipients'}",
                          "amount_sat": amount, "more": len(rest), "risk": [], "tags": []})
            pair = (nid, me["id"]) if side == "in" else (me["id"], nid)
            edges.append(self._edge(*pair, amount, "spend" if side == "in" else "pay"))
        return bool(len(rest)) or int((~known).sum()) > limit

    def expand_entity(self, cid: int, limit: int) -> dict:
        """A small entity opens into its addresses; a large one stays a summary node."""
        v = self.v
        if not v.is_cluster(cid):
            raise NotFoundError(_("no entity with id {id}").format(id=cid))
        me = self.entity_node(cid)
        members = v.members(cid)
        if len(members) > self.wb.limits.expand_members:
            return {"nodes": [me], "edges": [], "total": len(members), "offset": 0, "limit": 0, "truncated": True,
                    "note": f"entity {cid} has {len(members):,} addresses: shown as a summary; page its members "
                            "in the entity panel instead of drawing them"}
        nodes, edges = [me], []
        for a in members[:limit].tolist():
            n = self.address_node(a)
            nodes.append(n)
            edges.append(self._edge(me["id"], n["id"], int(v.addr_received[a]), "member"))
        return {"nodes": nodes, "edges": edges, "total": len(members), "offset": 0, "limit": limit,
                "truncated": len(members) > limit}

    # -- traces ----------------------------------------------------------------------
    def trace_graph(self, trace: dict, limit: int) -> dict:
        """The best path to each of the largest ``limit`` endpoints, edges weighted by the amounts they carry."""
        v = self.v
        forward = trace["params"]["direction"] == "forward"
        src = trace["source"]
        nodes: dict[str, dict] = {}
        edges: dict[tuple[str, str], int] = {}
        src_id = self._source_node(src, nodes)
        eps = [e for e in trace["endpoints"] if e["amount_sat"] > 0][:limit]
        for e in eps:
            ep_id = self._endpoint_node(e, nodes)
            path = [f"t:{x}" for x in e["path"]]
            chain = [src_id, *path[1:], ep_id] if forward else [ep_id, *reversed(path[:-1]), src_id]
            clean: list[str] = []
            for n in chain:
                if not clean or clean[-1] != n:
                    clean.append(n)
            for x in clean:
                if x.startswith("t:") and x not in nodes:
                    t = v.tx_num(x[2:])
                    if t is not None:
                        nodes[x] = self.tx_node(t)
            for s, d in pairwise(clean):
                edges[(s, d)] = edges.get((s, d), 0) + int(e["amount_sat"])
        for n in nodes.values():
            n.setdefault("role", None)
        nodes[src_id]["role"] = "source"
        return {"nodes": list(nodes.values()),
                "edges": [self._edge(s, d, amt, "flow") for (s, d), amt in edges.items() if s in nodes and d in nodes],
                "total": len(trace["endpoints"]), "offset": 0, "limit": limit,
                "truncated": len(trace["endpoints"]) > len(eps)}

    def _source_node(self, src: dict, nodes: dict) -> str:
        v = self.v
        kind = src.get("kind")
        if kind == "address":
            a = v.addr_num(src["address"])
            n = self.address_node(a) if a is not None else {"id": f"a:{src['address']}", "kind": "address"}
        elif kind == "entity":
            n = self.entity_node(int(src["cluster"]))
        elif kind in ("transaction", "output"):
            n = self.tx_node(v.tx_num(src["txid"]))
        else:
            outs = src.get("outputs") or ["?"]
            t = v.tx_num(outs[0].split(":")[0])
            n = self.tx_node(t) if t is not None else {"id": "s:outputs", "kind": "output", "label": "source outputs"}
        n.setdefault("risk", [])
        n.setdefault("tags", [])
        nodes[n["id"]] = n
        return n["id"]

    def _endpoint_node(self, e: dict, nodes: dict) -> str:
        v = self.v
        a = v.addr_num(e["address"]) if e["address"] else None
        if a is not None:
            n = nodes.get(f"a:{e['address']}") or self.address_node(a)
        else:
            first = e["outputs"][0] if e["outputs"] else e["kind"]
            n = nodes.get(f"o:{first}") or {"id": f"o:{first}", "kind": "output", "label": e["kind"].replace("_", " "),
                                             "risk": [], "tags": list(e["tags"]), "amount_sat": 0}
        n["endpoint"] = {"kind": e["kind"], "amount_sat": int(e["amount_sat"]) + int((n.get("endpoint") or {}).get("amount_sat", 0)),
                         "hops": int(e["hops"])}
        n["role"] = "endpoint"
        nodes[n["id"]] = n
        return n["id"]

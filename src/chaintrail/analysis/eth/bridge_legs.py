"""Bridge legs of lock-and-mint bridges (Bridge.sol's events), found in one store and matched across two.

The events (indexed fields in topics 1-3, the rest in data):

    Locked(nonce, token, sender | recipient, amount, dstChainId)      sending end, chain X
    Minted(srcNonce, wrappedToken, recipient | amount)                far end, chain Y
    Burned(nonce, srcToken, sender | recipient, amount, dstChainId)   far end, chain Y (back to X)
    Released(srcNonce, token, recipient | amount)                     sending end, chain X
    AssetAdded(srcToken | wrappedToken)                               far end: the wrapped token of each X asset

Each event has its *leg* in the value flows of its transaction: Locked, the sender's flow of the token (ETH for
token 0) into the emitting contract; Burned, the sender's flow of the wrapped token to nobody (burnt); Minted,
the flow of the wrapped token from nobody to the recipient; Released, the contract's flow of the token to the
recipient; each of exactly the event's amount. A crossing X -> Y pairs a Locked on X, whose dstChainId is Y's
chain id, with the Minted on Y of the same nonce, recipient, amount and asset (the wrapped token's AssetAdded
origin is the locked token); a crossing back pairs a Burned on Y (dstChainId X's) with the Released on X of
the same nonce, token, recipient and amount. Only event fields are used; an event with no partner or with
several is left unmatched, and the trace stops at its leg.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chaintrail.analysis.eth.conv_legs import _asset_id
from chaintrail.analysis.eth.flowgraph import FEE_KINDS, FlowGraph
from chaintrail.chains.ethereum.hexutil import event_topic

EVENTS = {"locked": "Locked(uint256,address,address,address,uint256,uint256)",
          "burned": "Burned(uint256,address,address,address,uint256,uint256)",
          "minted": "Minted(uint256,address,address,uint256)",
          "released": "Released(uint256,address,address,uint256)",
          "asset_added": "AssetAdded(address,address)"}
TOPICS = {bytes.fromhex(event_topic(s)[2:]): k for k, s in EVENTS.items()}
ZERO20 = bytes(20)
OUT_KINDS = {"locked": "minted", "burned": "released"}      # a sending event -> its partner on the other chain


@dataclass
class ChainBridge:
    """One store's bridge events with their legs in its flow graph."""

    chain_id: int | None
    events: list[dict]                       # kind, contract, nonce, token, sender, recipient, amount, dst_chain,
                                             # tx_num, log_index, block_number, pos (its leg: -1 not found)
    wrapped_origin: dict[bytes, bytes]       # wrapped token -> the asset it stands for on the other chain
    out_leg: np.ndarray                      # position -> 1 where a Locked/Burned leg leaves the chain
    out_event: dict[int, int] = field(default_factory=dict)   # leg position -> its event
    missing: int = 0                         # events whose leg is not in the flows


def _addr(topic: bytes | None) -> bytes:
    return bytes(topic[12:32]) if topic else ZERO20


def _decode(r: dict) -> dict | None:
    kind = TOPICS.get(bytes(r["topic0"]))
    data = bytes(r["data"] or b"")
    if kind == "asset_added":
        if r["n_topics"] != 2 or len(data) != 32:
            return None
        return {"kind": kind, "token": _addr(r["topic1"]), "wrapped": data[12:32]}
    if r["n_topics"] != 4:
        return None
    e = {"kind": kind, "contract": bytes(r["address"]), "nonce": int.from_bytes(r["topic1"], "big"),
         "token": _addr(r["topic2"]), "tx_num": int(r["tx_num"]), "log_index": int(r["log_index"]),
         "block_number": int(r["block_number"]), "dst_chain": None}
    if kind in ("locked", "burned"):
        if len(data) != 96:
            return None
        e.update(sender=_addr(r["topic3"]), recipient=data[12:32], amount=int.from_bytes(data[32:64], "big"),
                 dst_chain=int.from_bytes(data[64:96], "big"))
    else:
        if len(data) != 32:
            return None
        e.update(sender=None, recipient=_addr(r["topic3"]), amount=int.from_bytes(data, "big"))
    return e


def _read(store) -> list[dict]:
    from chaintrail.store.sql import connect
    con = connect(store, "eth")
    try:
        q = ("SELECT log_num, tx_num, log_index, block_number, address, topic0, topic1, topic2, topic3, n_topics, "
             f"data FROM raw.eth_logs WHERE topic0 IN ({', '.join('?' * len(TOPICS))}) ORDER BY log_num")
        return con.sql(q, params=list(TOPICS)).to_arrow_table().to_pylist()
    finally:
        con.close()


def load_bridge(store, g: FlowGraph) -> ChainBridge:
    """The store's bridge events and their legs (none without a store: a graph built in memory)."""
    out = ChainBridge(None, [], {}, np.zeros(g.n_pos, np.int8))
    if store is None or not store.counts.get("eth_logs"):
        return out
    out.chain_id = (store.manifest.get("eth") or {}).get("chain_id")
    decoded = [e for e in (_decode(r) for r in _read(store)) if e is not None]
    out.wrapped_origin = {e["wrapped"]: e["token"] for e in decoded if e["kind"] == "asset_added"}
    index = {bytes(k): i for i, k in enumerate(g.addr_key)}
    used: set[int] = set()
    for e in decoded:
        if e["kind"] == "asset_added":
            continue
        e["pos"] = _leg(g, index, e, out.wrapped_origin, used)
        if e["pos"] < 0:
            out.missing += 1
        else:
            used.add(e["pos"])
        out.events.append(e)
        if e["kind"] in OUT_KINDS and e["pos"] >= 0:
            out.out_leg[e["pos"]] = 1
            out.out_event[e["pos"]] = len(out.events) - 1
    return out


def _leg(g: FlowGraph, index: dict, e: dict, origin: dict, used: set) -> int:
    """The event's leg position in its transaction (see the module doc), -1 where there is none."""
    kind, t = e["kind"], e["tx_num"]
    if kind == "burned":      # the sender burns the wrapped token that stands for srcToken
        wrapped = [w for w, o in origin.items() if o == e["token"]]
        asset = wrapped[0] if len(wrapped) == 1 else None
        if asset is None:
            return -1
    else:
        asset = e["token"]
    s = _asset_id(g, None if asset == ZERO20 else asset)
    if s < 0 or not 0 <= t < len(g.tx_pos) - 1:
        return -1
    contract, sender, recipient = index.get(e["contract"]), index.get(e["sender"] or b""), index.get(e["recipient"])
    zero = index.get(ZERO20, -2)          # mints and burns move from and to the zero address (or nobody)
    for p in range(int(g.tx_pos[t]), int(g.tx_pos[t + 1])):
        if p in used or g.kind[p] in FEE_KINDS or (int(g.hi[p]) << 64 | int(g.lo[p])) != e["amount"]:
            continue
        f, d = int(g.frm[p]), int(g.to[p])
        fa = g.acct_addr[f] if f >= 0 else -1
        da = g.acct_addr[d] if d >= 0 else -1
        if int(g.acct_asset[f if f >= 0 else d]) != s:
            continue
        if ((kind == "locked" and fa == sender and da == contract)
                or (kind == "burned" and fa == sender and (d < 0 or da == zero))
                or (kind == "minted" and (f < 0 or fa == zero) and da == recipient)
                or (kind == "released" and fa == contract and da == recipient)):
            return p
    return -1


def match(x: ChainBridge, y: ChainBridge) -> list[tuple[int, int]]:
    """Crossings X -> Y as (event on X, event on Y): see the module doc; each event pairs at most once."""
    if x.chain_id is None or y.chain_id is None:
        return []
    cands: dict[tuple, list[int]] = {}
    for j, e in enumerate(y.events):
        if e["kind"] == "minted":
            token = y.wrapped_origin.get(e["token"])
            if token is not None:
                cands.setdefault(("minted", e["nonce"], token, e["recipient"], e["amount"]), []).append(j)
        elif e["kind"] == "released":
            cands.setdefault(("released", e["nonce"], e["token"], e["recipient"], e["amount"]), []).append(j)
    mine: dict[tuple, list[int]] = {}
    for i, e in enumerate(x.events):
        if e["kind"] in OUT_KINDS and e["dst_chain"] == y.chain_id:
            mine.setdefault((OUT_KINDS[e["kind"]], e["nonce"], e["token"], e["recipient"], e["amount"]), []).append(i)
    return [(i[0], cands[k][0]) for k, i in mine.items() if len(i) == 1 and len(cands.get(k, ())) == 1]


__all__ = ["ChainBridge", "EVENTS", "load_bridge", "match"]

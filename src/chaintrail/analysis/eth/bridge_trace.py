"""A trace that follows bridge crossings from one chain's store onto another's and back (``bridge_legs``).

The trace starts on chain X (the store traced). Taint a Locked or Burned leg takes off X (the leg's haircut
share, as any movement's) is carried whole by the crossing: on chain Y the matching Minted or Released leg is
a source of exactly that taint, at the hops the trail had made. Y's trace can send taint back (a Burned on Y
released on X), which enters X's trace the same way; the two chains are traced in turn until what crosses no
longer changes (each crossing lies later in time than the leg it answers, so a round trip adds one round).

Each chain keeps its own exact accounting per asset: taint leaving by a bridge leg is ``stopped`` there (an
endpoint of kind ``bridged`` at the bridge contract), and the receiving leg's taint is a ``source`` on the
other chain. Every crossing is reported under ``bridges`` with both events as evidence: chain ids, tx and
block hashes, log indexes, nonce, assets on both sides, amount and the taint carried.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from chaintrail.analysis.eth import trace_kernel as K
from chaintrail.analysis.eth.bridge_legs import match
from chaintrail.analysis.eth.trace import EthTraceParams, EthTracer, canonical_hash
from chaintrail.analysis.eth.u128 import join_arrays
from chaintrail.errors import UsageError

MAX_ROUNDS = 16


def _crossed(tr: EthTracer, out, pairs: dict[int, int], far: EthTracer) -> dict[int, tuple[int, int]]:
    """{far leg position: (taint, hops)} of the bridge legs this run's taint left by."""
    e_pos, e_dst, e_h, e_l, e_hop = out[1], out[2], out[3], out[4], out[5]
    got: dict[int, tuple[int, int]] = {}
    sel = np.flatnonzero(e_dst == K.TO_BRIDGE)
    for p, t, h in zip(e_pos[sel].tolist(), join_arrays(e_h[sel], e_l[sel]), e_hop[sel].tolist()):
        i = tr.bridge.out_event[p]
        if i in pairs and t:
            q = far.bridge.events[pairs[i]]["pos"]
            old = got.get(q, (0, h))
            got[q] = (old[0] + t, min(old[1], h))
    return got


def _run(tr: EthTracer, src, extra: dict[int, tuple[int, int]], params: EthTraceParams):
    pos, amt, accts = src
    pos = np.concatenate([np.asarray(pos, np.int64), np.array(list(extra), np.int64)])
    hops = np.concatenate([np.zeros(len(amt), np.int32), np.array([v[1] for v in extra.values()], np.int32)])
    return tr.run(pos, list(amt) + [v[0] for v in extra.values()], accts, params, hops)


def trace_across(x: EthTracer, y: EthTracer, spec: str | list[str], params: EthTraceParams) -> dict:
    """Trace ``spec`` on X's store, following bridge crossings onto Y's and back (see the module doc)."""
    from chaintrail.analysis.eth.trace_result import assemble

    params.check()
    if x.bridge.chain_id is None or y.bridge.chain_id is None:
        raise UsageError("following bridges needs both stores' chain ids (ingested by chaintrail ingest eth)")
    if x.bridge.chain_id == y.bridge.chain_id:
        raise UsageError(f"--other-store holds the same chain (chain id {x.bridge.chain_id}) as --store")
    xy, yx = dict(match(x.bridge, y.bridge)), dict(match(y.bridge, x.bridge))
    assets = x.g.assets_of(params.asset)
    specs = [spec] if isinstance(spec, str) else list(spec)
    if not specs:
        raise UsageError("a trace needs a starting point")
    parts = [x.resolve(s, assets) for s in specs]
    src = (np.concatenate([p[0] for p in parts]), [a for p in parts for a in p[1]],
           np.unique(np.concatenate([p[2] for p in parts])))
    if not len(src[0]) and not len(src[2]):
        raise UsageError(f"{', '.join(specs)} moved none of the traced assets ({params.asset})")
    source = parts[0][3] if len(parts) == 1 else {"kind": "several", "sources": [p[3] for p in parts]}
    params_y = replace(params, links=())          # confirmed Tornado links name chain X's transactions
    into_x: dict[int, tuple[int, int]] = {}
    for _ in range(MAX_ROUNDS):
        fx, ox = _run(x, src, into_x, params)
        into_y = _crossed(x, ox, xy, y)
        fy, oy = _run(y, (np.zeros(0, np.int64), [], np.zeros(0, np.int64)), into_y, params_y)
        back = _crossed(y, oy, yx, x)
        if back == into_x:
            break
        into_x = back
    else:
        raise UsageError(f"bridge crossings did not settle in {MAX_ROUNDS} rounds")
    x.last_run, y.last_run = (params, fx, ox), (params_y, fy, oy)     # the raw edge records, for the graphs
    d = assemble(x, params, source, fx, ox)
    d["chain_id"] = x.bridge.chain_id
    other = assemble(y, params_y, {"kind": "bridge", "chain_id": x.bridge.chain_id}, fy, oy)
    other["chain_id"] = y.bridge.chain_id
    for tr, far, res, pairs in ((x, y, d, xy), (y, x, other, yx)):
        for b in res.get("bridges", []):
            _far_side(tr, far, pairs, b)
    for e in d["endpoints"] + other["endpoints"]:
        if e["kind"] == "bridged" and e.get("evidence", "").endswith("other chain's store)"):
            hit = [b for b in d.get("bridges", []) + other.get("bridges", [])
                   if b["tx_hash"] in e["txs"] and b.get("followed")]
            if hit:
                e["evidence"] = e["evidence"].split(" (not followed")[0] + f" (followed on chain {hit[0]['to']['chain_id']})"
    d.pop("trace_hash", None)
    other.pop("trace_hash", None)
    d["other_chain"] = other
    d["trace_hash"] = canonical_hash(d)
    return d


def _far_side(tr: EthTracer, far: EthTracer, pairs: dict[int, int], b: dict) -> None:
    """Add the receiving event of a crossing to its step (where the other store has it)."""
    i = next((i for p, i in tr.bridge.out_event.items() if tr.g.tx_hex(int(tr.g.tx[p])) == b["tx_hash"]
              and tr.bridge.events[i]["log_index"] == b["log_index"]), None)
    if i is None or i not in pairs:
        return
    e = far.bridge.events[pairs[i]]
    g, q = far.g, e["pos"]
    t = int(g.tx[q])
    b["followed"] = True
    b["to"] = {"event": "Minted" if e["kind"] == "minted" else "Released", "chain_id": far.bridge.chain_id,
               "contract": "0x" + e["contract"].hex(), "nonce": e["nonce"],
               "asset": g.asset_name(int(g.acct_asset[g.to[q]])), "amount": str(e["amount"]),
               "recipient": "0x" + e["recipient"].hex(), "tx_hash": g.tx_hex(t), "block_number": e["block_number"],
               "block_hash": g.block_hex(t), "log_index": e["log_index"]}
    b["rule"] = "the crossing carries the leg's taint whole: matched by nonce, asset, recipient and amount"


__all__ = ["MAX_ROUNDS", "trace_across"]

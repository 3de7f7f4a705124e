"""A second, deliberately plain implementation of the Ethereum forward haircut: Python integers, one pass over
every flow of the store in processing order, every account's balance kept as it goes, no queue, no limbs.

It shares with the tracer only what is not arithmetic: the flow graph's arrays (which flow moves what from whom
to whom), the conversions' and bridge legs' positions and the stops. Everything the numba kernel computes (balances,
taint per account, the gas run rule, conversions at the executed rate, Tornado pools as ordinary accounts under
pass-through) is computed again here from the rules in ``analysis/eth/trace.py``'s module doc:

* an out-flow x of an account holding taint T and balance B (its balance just before the flow, from every flow
  since the store's first block, taken as at least x and T) carries floor(x * T / B);
* a transaction's gas (its fee flows from one payer) is one movement: floor(X * T / B) over their sum X, shared
  over the flows in proportion, the last taking the rest; it ends in ``fees``;
* a conversion's input legs give their taint to the conversion; at its last leg the trader's output account
  gets floor(amount_out * t_in / amount_in); its output legs carry none of their sender's taint;
* taint reaching a stop stays there (an endpoint); a Locked/Burned bridge leg takes it off the chain.
"""

from __future__ import annotations

from collections import defaultdict

from chaintrail.analysis.eth import trace_kernel as K
from chaintrail.analysis.eth.flowgraph import FEE_KINDS

_STOP_NAME = {K.STOP_SERVICE: "tagged", K.STOP_DEPOSIT: "deposit_address", K.STOP_BRIDGE: "bridged",
              K.STOP_MIXER: "stopped_mixer"}


def replay(tracer, sources: list[str], params) -> dict:
    """{(address, asset, kind): amount} of every endpoint with taint (a bridge leg's at the bridge contract),
    plus ('fees', asset)."""
    g = tracer.g
    n = g.n_pos
    amount = [(int(h) << 64) | int(lo) for h, lo in zip(g.hi.tolist(), g.lo.tolist())]
    frm, to, kind, tx = g.frm.tolist(), g.to.tolist(), g.kind.tolist(), g.tx.tolist()
    is_fee = [k in FEE_KINDS for k in kind]
    stop = tracer.stops(params).kind
    acct_stop = [int(stop[a]) for a in g.acct_addr.tolist()]
    conv = tracer.conv
    conv_in, conv_out, trig = conv.conv_in.tolist(), conv.conv_out.tolist(), conv.trig.tolist()
    ain = [(int(h) << 64) | int(lo) for h, lo in zip(conv.ain_h.tolist(), conv.ain_l.tolist())]
    aout = [(int(h) << 64) | int(lo) for h, lo in zip(conv.aout_h.tolist(), conv.aout_l.tolist())]
    completes: dict[int, list[int]] = defaultdict(list)
    for c, p in enumerate(trig):
        completes[p].append(c)
    bridge_out = tracer.bridge.out_leg.tolist()
    src: dict[int, int] = defaultdict(int)
    assets = g.assets_of(params.asset)
    for spec in sources:
        pos, amts, accts, _ = tracer.resolve(spec, assets)
        assert not len(accts), "the reference replays transaction sources only"
        for p, a in zip(pos.tolist(), amts):
            src[p] += a

    bal: dict[int, int] = defaultdict(int)
    taint: dict[int, int] = defaultdict(int)
    ends: dict[tuple, int] = defaultdict(int)
    t_in: dict[int, int] = defaultdict(int)
    gas_left: list[int] = [0, 0]                  # taint and amount still to share over the current gas run

    def deliver(d: int, t: int) -> None:
        if acct_stop[d]:
            ends[(g.address_hex(int(g.acct_addr[d])), g.asset_name(int(g.acct_asset[d])), _STOP_NAME[acct_stop[d]])] += t
        else:
            taint[d] += t

    for p in range(n):
        x, a, b = amount[p], frm[p], to[p]
        if p in src:
            deliver(b, src[p])
        if a >= 0 and taint[a] and conv_out[p] < 0:
            T = taint[a]
            if is_fee[p] and p > 0 and is_fee[p - 1] and tx[p - 1] == tx[p] and frm[p - 1] == a:
                last = not (p + 1 < n and is_fee[p + 1] and tx[p + 1] == tx[p] and frm[p + 1] == a)
                t = gas_left[0] if last else x * gas_left[0] // gas_left[1]
                gas_left[0] -= t
                gas_left[1] -= x
            else:
                total, q = x, p
                while is_fee[p] and q + 1 < n and is_fee[q + 1] and tx[q + 1] == tx[p] and frm[q + 1] == a:
                    q += 1
                    total += amount[q]
                B = max(bal[a], total, T)
                t = total * T // B
                if q > p:
                    share = x * t // total
                    gas_left[:] = [t - share, total - x]
                    t = share
            taint[a] -= t
            if t:
                s = g.asset_name(int(g.acct_asset[a]))
                if is_fee[p]:
                    ends[("fees", s)] += t
                elif bridge_out[p]:
                    ends[(g.address_hex(int(g.acct_addr[b])), s, "bridged")] += t
                elif conv_in[p] >= 0:
                    t_in[conv_in[p]] += t
                elif b < 0:
                    ends[("burnt", s)] += t
                else:
                    deliver(b, t)
        if a >= 0:
            bal[a] -= x
        if b >= 0:
            bal[b] += x
        for c in completes.get(p, ()):
            if t_in[c]:
                out = aout[c] * t_in[c] // ain[c]
                if out:
                    deliver(int(conv.acct[c]), out)
    for acct, t in taint.items():
        if t:
            ends[(g.address_hex(int(g.acct_addr[acct])), g.asset_name(int(g.acct_asset[acct])), "unspent")] += t
    return dict(ends)


def from_trace(d: dict) -> dict:
    """The same shape from a trace's JSON: endpoints by (address, asset, kind), and fees per asset."""
    out: dict[tuple, int] = defaultdict(int)
    for e in d["endpoints"]:
        if int(e["amount"]):
            out[(e["address"], e["asset"], e["kind"])] += int(e["amount"])
    for asset, t in d["totals"].items():
        if int(t["fees"]):
            out[("fees", asset)] += int(t["fees"])
    return dict(out)


__all__ = ["from_trace", "replay"]

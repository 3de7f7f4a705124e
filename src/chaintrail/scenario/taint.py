"""Ground-truth attribution: how many sats of each case reached each endpoint, exact to the sat.

The rule (written into every answer key as ``attribution_rule``):

1. Sources are the case's victim payments (whole outputs, their full value).
2. Haircut by owner.  At a transaction the tainted sats of each owner's inputs are
   shared over that owner's outputs and that owner's share of the fee, in
   proportion to value.  In a single-owner transaction the owner's outputs are
   all the outputs (payees included) and the share of the fee is the fee.  In a
   CoinJoin each participant is its own owner: its outputs are the ones it
   registered, its fee share is its inputs minus its outputs (mining fee plus
   coordinator fee).  This is what a haircut trace gives when it knows who owns
   which inputs and outputs; a trace that does not know will spread taint over
   every CoinJoin participant instead.
3. Integer sats by largest remainder: output i first gets floor(T * v_i / V);
   the sats left over go one each to the largest fractional parts, ties to the
   lower vout, the fee share last.  Totals are therefore exact.
4. Custody.  At the custodial chip mixer a perpetrator's deposits are credited to
   its account; the chips handed over for that account receive the deposits'
   taint by rule 3 (the chips' values and the withheld remainder as the fee
   share).  The mixer's own on-chain moves are not followed.
5. Propagation continues through outputs controlled by the case's perpetrators.
   Any other controller ends a path: an exchange or P2P trader is a *cash_out*
   endpoint, a gambling site, merchant, payment processor or other service a
   *service* endpoint, anyone else a *wallet* endpoint.  Perpetrator outputs still
   unspent at the tip are *unspent*; mixer deposits not yet handed over are
   *in_custody*.

Identity (checked): source_total = endpoints (all categories) + fees + unspent + in_custody.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from chaintrail.scenario.ledger import (
    A_ISSUER,
    E_KIND,
    EK,
    O_ADDR,
    O_SPENT,
    O_TX,
    O_VALUE,
    T_BLOCK,
    T_ENT,
    T_FEE,
    T_IN0,
    T_NIN,
    T_NOUT,
    T_OUT0,
)

CASH_OUT_KINDS = {"exchange", "p2p_trader"}
SERVICE_KINDS = {"gambling", "merchant", "payment_processor", "mixer", "coinjoin_coordinator", "mining_pool",
                 "darknet_market"}


def allocate(taint: int, weights: list[int]) -> list[int]:
    """Split ``taint`` over ``weights`` in proportion, exactly, by largest remainder (rule 3)."""
    total = sum(weights)
    if taint == 0 or total == 0:
        return [0] * len(weights)
    if taint > total:
        raise ValueError("taint exceeds the value it rides on")
    base = [taint * w // total for w in weights]
    left = taint - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-((taint * weights[i]) % total), i))
    for i in order[:left]:
        base[i] += 1
    return base


@dataclass
class Flow:
    """Result of attributing one case."""

    source_total: int = 0
    endpoints: list[dict] = field(default_factory=list)
    unspent: list[dict] = field(default_factory=list)
    in_custody: list[dict] = field(default_factory=list)
    fees: int = 0
    tainted_txs: set[int] = field(default_factory=set)


def attribute(chain, case, handovers: list[dict]) -> Flow:
    """Apply the attribution rule to ``case`` over the generated ``chain``."""
    L = chain.L
    perps = set(case.perpetrators)
    kinds = {i: k for k, i in EK.items()}
    flow = Flow()
    taint: dict[int, int] = {}
    hops: dict[int, int] = {}
    pending: dict[int, None] = {}
    heap: list[tuple[int, int, int]] = []        # (height, 0 handover / 1 tx, id)
    custody: dict[int, tuple[int, int]] = {}      # deposit output -> (taint, hops)
    deposit_of: dict[int, int] = {}
    pending_h: set[int] = set()
    chip_owner: dict[int, int] = {}
    for k, rec in enumerate(handovers):
        if rec["customer"] in perps:
            for d in rec["deposits"]:
                deposit_of[d] = k

    def owner(o: int) -> int:
        a = int(L.out[o, O_ADDR])
        return int(L.addr[a, A_ISSUER]) if a >= 0 else -1

    def receive(o: int, amount: int, hop: int, from_handover: bool = False) -> None:
        if amount == 0:
            return
        e = owner(o) if not from_handover else case_perp_of(o)
        if e in perps:
            taint[o] = amount
            hops[o] = hop
            t = int(L.out[o, O_SPENT])
            if t >= 0:
                if t not in pending:
                    pending[t] = None
                    heapq.heappush(heap, (int(L.tx[t, T_BLOCK]), 1, t))
            else:
                flow.unspent.append(_row(chain, o, amount, hop, e))
            return
        if o in deposit_of or (e >= 0 and kinds[int(L.ent[e, E_KIND])] == "mixer" and _credited(chain, o, perps)):
            custody[o] = (amount, hop)
            k = deposit_of.get(o)
            if k is None:
                flow.in_custody.append(_row(chain, o, amount, hop, e))
            elif k not in pending_h:
                pending_h.add(k)
                heapq.heappush(heap, (handovers[k]["height"], 0, k))
            return
        kind = kinds[int(L.ent[e, E_KIND])] if e >= 0 else "none"
        cat = "cash_out" if kind in CASH_OUT_KINDS else ("service" if kind in SERVICE_KINDS else "wallet")
        row = _row(chain, o, amount, hop, e)
        row["category"] = cat
        flow.endpoints.append(row)

    def case_perp_of(o: int) -> int:
        return chip_owner[o]

    for o in case.victim_payments:
        v = int(L.out[o, O_VALUE])
        flow.source_total += v
        receive(o, v, 0)
    while heap:
        _, is_tx, ref = heapq.heappop(heap)
        if not is_tx:
            rec = handovers[ref]
            t_in = sum(custody.get(d, (0, 0))[0] for d in rec["deposits"])
            hop = 1 + min((custody[d][1] for d in rec["deposits"] if d in custody), default=0)
            vals = [int(L.out[c, O_VALUE]) for c in rec["chips"]] + [rec["fee_sat"]]
            parts = allocate(t_in, vals)
            flow.fees += parts[-1]
            for c, amt in zip(rec["chips"], parts[:-1]):
                chip_owner[c] = rec["customer"]
                receive(c, amt, hop, from_handover=True)
            continue
        t = ref
        flow.tainted_txs.add(t)
        i0, nin = int(L.tx[t, T_IN0]), int(L.tx[t, T_NIN])
        o0, nout = int(L.tx[t, T_OUT0]), int(L.tx[t, T_NOUT])
        ins = [int(x) for x in L.inp[i0:i0 + nin]]
        cj = chain.coinjoins.get(t)
        if cj is None:
            groups = [(ins, list(range(o0, o0 + nout)), int(L.tx[t, T_FEE]))]
        else:
            groups = []
            for p in cj["participants"]:
                outs = sorted(p["outputs"] + p["change"])
                fee = sum(int(L.out[o, O_VALUE]) for o in p["inputs"]) - sum(int(L.out[o, O_VALUE]) for o in outs)
                groups.append((p["inputs"], outs, fee))
        for g_in, g_out, g_fee in groups:
            t_in = sum(taint.get(o, 0) for o in g_in)
            if t_in == 0:
                continue
            hop = 1 + min(hops[o] for o in g_in if o in taint)
            parts = allocate(t_in, [int(L.out[o, O_VALUE]) for o in g_out] + [g_fee])
            flow.fees += parts[-1]
            for o, amt in zip(g_out, parts[:-1]):
                receive(o, amt, hop)
    total = (sum(r["amount_sat"] for r in flow.endpoints) + flow.fees
             + sum(r["amount_sat"] for r in flow.unspent) + sum(r["amount_sat"] for r in flow.in_custody))
    if total != flow.source_total:
        raise AssertionError(f"{case.id}: attribution does not add up ({total} != {flow.source_total})")
    return flow


def _credited(chain, o: int, perps: set[int]) -> bool:
    """A mixer deposit whose depositor (the spender of the paying tx) is a perpetrator."""
    L = chain.L
    t = int(L.out[o, O_TX])
    return int(L.tx[t, T_ENT]) in perps


def _row(chain, o: int, amount: int, hop: int, e: int) -> dict:
    L = chain.L
    t = int(L.out[o, O_TX])
    return {"out": o, "tx": t, "vout": o - int(L.tx[t, T_OUT0]), "entity": e,
            "amount_sat": int(amount), "value_sat": int(L.out[o, O_VALUE]), "hops": hop,
            "height": int(L.tx[t, T_BLOCK])}

"""Follow the money on Ethereum: forward traces over the value-flow graph, per asset, across conversions.

How each model applies to accounts (an account = one address's holding of one asset; flows are taken in
processing order, see ``flowgraph``: chain order, a transaction's gas after its other movements):

* **haircut**: each out-flow x of an account holding taint T of balance B (its balance just before the
  flow, from every flow since the store's first block; taken as at least x and T where value came in before
  the store starts) carries floor(x * T / B), exactly in base units. Taint received adds to T.
* **poison**: an account that ever held taint sends every later out-flow wholly tainted; the clean part
  (x beyond its remaining taint) is counted as ``absorbed``.
* **fifo**: the account's holding is a queue of parcels, one per in-flow in processing order (what it held
  before the store's first block, H0, the oldest: the least holding that never lets the balance go below
  zero). An out-flow of x takes the x oldest units not yet spent, tainted or not, and carries exactly the
  tainted units among them; on the recipient they form its in-flow's parcel, in the same order. Exact, in
  base units: taint is a set of intervals on each account's line (``lines``).
* **lifo**: the same with a stack: an out-flow takes the x newest units not yet spent (the top of the stack,
  whose height is H0 + the balance); in-flows are laid on top.
* **tiho** (taint in, highest out): tainted units leave first: an out-flow of x from an account holding
  taint T carries min(x, T).

Parcels whose taint is a share rather than a range on the sender's line (a source flow's given amount, a
conversion's output, a demix withdrawal's share) are laid with their tainted part first. A conversion's
output parcel is laid at its (first) output leg's place on the trader's line and carries
floor(amount_out * t_in / amount_in) (t_in what the input legs took under the model, the rate recorded in the
step); a conversion whose output leg is not among the flows leaves its output taint held by the recipient.
Poison's "clean part" and haircut's balance floor do not arise under fifo, lifo and tiho: the taint an
out-flow carries is taken from the account's own.

**Backward** (haircut and poison; ``trace_back``): where the funds of a flow came from. The funds of a
transaction's flow (TXHASH[:0xTO]), or every in-flow an address or entity had, are *interest* in the sender's
balance just before the flow, and go back through that account's earlier in-flows, latest first:

* haircut: an in-flow of x to an account holding interest P gives its sender floor(x * P / B), B the account's
  balance just after that in-flow (at least x and P): forward haircut mirrored, exact in base units;
* poison: each earlier in-flow is wholly of interest while P lasts (the excess counted as ``absorbed``).

Interest no earlier in-flow accounts for was held before the store's first block (endpoint ``before_store``,
counted under ``unspent``); funds with no sender were ``minted`` (block rewards, mints; under
``to_endpoints``); a stop (tagged service, deposit address, bridge) ends the trail: the funds came from there.
A conversion's output goes back into its input asset at the executed rate, floor(w * amount_in / amount_out),
at the trader's input; with mixer policy leads or demix a Tornado withdrawal goes back to the deposit the lead
pairs it with (else it ends at the withdrawal, ``mixer_withdrawal``), with haircut the pool is an account, with
stop the trail ends there. fifo, lifo and tiho are forward only. Accounting per asset as forward (no fees).

Per asset: ETH (with internal calls), each ERC-20, each ERC-721/1155 item (contract and token id). Taint
crosses assets only through a **conversion** (``analysis/eth_conversions.parquet``: swaps and WETH wrap and
unwrap): the trader's tainted input becomes tainted output at the executed rate, floor(amount_out * t_in /
amount_in); the pool or router gets no taint from the input, and its output leg carries none of its own.
Gas goes to ``fees``. A trail **stops** at tagged services (``stop_categories``, as Bitcoin's), at exchange
deposit addresses (``analysis/eth_deposit_addresses.parquet``, attributed to their hot wallet's service; by
default only those whose hot wallet is a tagged stop: ``deposit_stops``), at
bridges (tagged bridge contracts; and every Locked/Burned leg found by the bridge's own events, ``bridge_legs``,
which ``bridge_trace`` follows onto the other chain's store) and, with mixer policy ``stop``, at mixers (tagged,
or Tornado-style pools found by ``tornado``).

Tornado pools, by mixer policy (``mixer_legs`` pairs each deposit with at most one withdrawal: a ``--link``
the investigator confirmed, else the lead of highest measured precision among ``lead_heuristics``):

* ``leads`` (default): the answer key's haircut rule. The pool is an account under the model, so a
  withdrawal carries the tainted share of the notes open in the pool; the withdrawal is two movements, the
  recipient's (denomination - fee) then the relayer's fee. The relayer's share ends there (``relayer_fee``);
  the recipient's share goes on only when the withdrawal is paired with a deposit that carried taint, and
  otherwise ends at the recipient (``mixer_withdrawal``), unless that recipient is a stop itself (an exchange
  deposit address is counted as reached). Each tainted deposit is reported under ``demix`` with its pair, the
  lead's heuristic, measured precision and chance-match rate, and the true-flow estimate (the note's taint
  share of what its withdrawal paid out).
* ``demix``: true flow by the leads. A deposit's taint goes into its note, not the pool; the paired
  withdrawal's recipient gets floor(x * note / denomination) and its relayer the rest; every other
  withdrawal gets nothing; a note without a pair keeps its taint (``mixer_note``, stopped).
* ``haircut``: the pool is an account like any other and every withdrawal is followed (pass-through).
* ``stop``: the trail ends at the pool.

Steps through a pool carry the pairing lead (heuristic, precision, chance-match rate, evidence): a lead, not
proof. Accounting is exact per asset:

    traced = to_endpoints + fees + unspent + below_threshold + stopped + converted

(``stopped`` includes taint ending at Tornado withdrawals, relayer fees and unpaired notes.)

where ``traced`` is the taint that entered the asset (sources, conversions into it, poison's absorbed value,
less the source's own money coming back to it) and ``converted`` what left it through conversions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chaintrail.analysis.eth import lines
from chaintrail.analysis.eth import trace_kernel as K
from chaintrail.analysis.eth.bridge_legs import ChainBridge, load_bridge
from chaintrail.analysis.eth.conv_legs import ConvLegs, load_conversions
from chaintrail.analysis.eth.flowgraph import FEE_KINDS, FlowGraph, load
from chaintrail.analysis.eth.mixer_legs import MixerLegs, empty, load_mixer_legs
from chaintrail.analysis.eth.stops import Stops, hex_of, load_stops
from chaintrail.analysis.eth.u128 import join
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore

ENGINE_VERSION = "eth-trace/1"
CLUSTERS_FILE = "eth_clusters.parquet"
RULES = {"haircut": "out-flow x of an account carries floor(x * T / B) (T its taint, B its balance before)",
         "poison": "every out-flow of a tainted account is wholly tainted",
         "fifo": "an out-flow takes the oldest unspent units of its account (in-flows queued in order), tainted or not",
         "lifo": "an out-flow takes the newest unspent units of its account (in-flows stacked in order), tainted or not",
         "tiho": "an out-flow of an account holding taint T carries min(x, T): taint leaves first"}
_END_KIND = {K.FOLLOW: "unspent", K.STOP_SERVICE: "tagged", K.STOP_DEPOSIT: "deposit_address",
             K.STOP_BRIDGE: "bridged", K.STOP_HOPS: "stopped_max_hops", K.STOP_MIXER: "stopped_mixer"}
MIXER_POLICIES = {"leads": K.MIX_LEADS, "demix": K.MIX_DEMIX, "haircut": K.MIX_PASS, "stop": K.MIX_PASS}
LEAD_HEURISTICS = ("address_match", "unique_gas_price", "linked_addresses", "multi_denomination", "relayer_fee",
                   "fifo_timing")
_TO_ENDPOINTS = ("tagged", "deposit_address", "burnt", "minted")
BACK_MODELS = ("haircut", "poison")
BACK_RULES = {"haircut": "an in-flow x of an account holding interest P gives its sender floor(x * P / B) (B its "
                         "balance just after the in-flow)",
              "poison": "every in-flow of an account holding interest is wholly of interest while it lasts"}


@dataclass(frozen=True)
class EthTraceParams:
    direction: str = "forward"
    model: str = "haircut"
    asset: str = "all"                   # ETH | 0xTOKEN | all: which of the source's assets are traced
    max_hops: int = 10
    min_amount: int = 0                  # taint below this (base units) on a flow stops there
    stop_categories: tuple[str, ...] = ("exchange",)
    mixer_policy: str = "leads"          # leads | demix | haircut (pass-through) | stop: see the module doc
    lead_heuristics: tuple[str, ...] = LEAD_HEURISTICS   # which Tornado leads may pair a deposit with a withdrawal
    links: tuple[str, ...] = ()          # confirmed Tornado links DEPOSIT_TX:WITHDRAWAL_TX (pair first)
    deposit_stops: str = "tagged"        # tagged: deposit addresses of tagged hot wallets stop | all (see stops)

    def check(self) -> None:
        if self.direction not in ("forward", "backward"):
            raise UsageError(f"direction must be forward or backward, not {self.direction!r}")
        if self.model not in K.MODELS:
            raise UsageError(f"--chain eth models: {', '.join(K.MODELS)}; not {self.model!r}")
        if self.direction == "backward" and self.model not in BACK_MODELS:
            raise UsageError(f"--chain eth traces backward under {' and '.join(BACK_MODELS)} only, not {self.model!r}")
        if self.max_hops < 0 or self.min_amount < 0:
            raise UsageError("max hops and min amount must not be negative")
        if self.mixer_policy not in MIXER_POLICIES:
            raise UsageError(f"--chain eth mixer policy must be one of {', '.join(MIXER_POLICIES)}, "
                             f"not {self.mixer_policy!r}")
        if self.deposit_stops not in ("tagged", "all"):
            raise UsageError(f"deposit stops must be tagged or all, not {self.deposit_stops!r}")
        bad = set(self.lead_heuristics) - set(LEAD_HEURISTICS)
        if bad:
            raise UsageError(f"unknown Tornado heuristic(s) {', '.join(sorted(bad))}: choose from "
                             f"{', '.join(LEAD_HEURISTICS)}")


class EthTracer:
    """A loaded flow graph with its stops and conversions, and scratch for repeated traces."""

    def __init__(self, store: ChainStore | None, graph: FlowGraph | None = None, root: Path | None = None):
        """``store``: where the graph, tags and analysis files come from; or a built ``graph`` with ``root``, the
        folder whose tag store and ``analysis/`` files apply."""
        self.root = Path(root) if root is not None else store.path
        self.store = store
        self.g = graph if graph is not None else load(store)
        self._mix: dict[tuple, MixerLegs] = {}
        self.note_h = self.note_l = self.took_h = self.took_l = np.zeros(0, np.uint64)
        self.note_hop = np.zeros(0, np.int32)
        self.conv: ConvLegs = load_conversions(self.root, self.g)
        self.bridge: ChainBridge = load_bridge(store, self.g)
        self._stops: dict[tuple, Stops] = {}
        n = self.g.n_acct
        self.T_hi, self.T_lo = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
        self.status, self.hops = np.zeros(n, np.uint8), np.zeros(n, np.int32)
        self.q0 = np.zeros(self.g.n_pos // 64 + 2, np.uint64)
        self.q1 = np.zeros(len(self.q0) // 64 + 2, np.uint64)
        m = len(self.conv.trig)
        self.tin_h, self.tin_l = np.zeros(m, np.uint64), np.zeros(m, np.uint64)
        self.tout_h, self.tout_l = np.zeros(m, np.uint64), np.zeros(m, np.uint64)
        self.c_hop = np.full(m, 1 << 30, np.int32)
        self.touched = np.empty(n, np.int64)           # each account is touched at most once per trace
        self.conv_buf = np.empty(max(m, 1), np.int64)   # conversions and notes that took taint, each once
        self.note_buf = np.empty(1, np.int64)
        trig = self.conv.trig
        self.conv_per_pos = int(np.unique(trig, return_counts=True)[1].max()) if len(trig) else 0
        self._edge_buffers(1 << 12)
        self.fee_kind = np.zeros(256, np.bool_)
        self.fee_kind[list(FEE_KINDS)] = True
        self._coords: dict[int, tuple] = {}
        self.ln = lines.pool(1, n)
        self.c_inpos = np.full(m, -1, np.int64)       # conversion -> its first output leg (fifo/lifo lay it there)
        outs = np.flatnonzero(self.conv.conv_out >= 0)[::-1]
        self.c_inpos[self.conv.conv_out[outs]] = outs

    def coords(self, model: int) -> tuple:
        """(oc_h, oc_l, ic_h, ic_l): each position's place on its accounts' fifo or lifo lines (made once)."""
        if model not in (K.FIFO, K.LIFO):
            z = np.zeros(1, np.uint64)
            return z, z, z, z
        if model not in self._coords:
            g = self.g
            self._coords[model] = lines.line_coords(g.frm, g.to, g.hi, g.lo, self.conv.conv_out >= 0, g.n_acct,
                                                    model == K.LIFO)
        return self._coords[model]

    def stops(self, params: EthTraceParams) -> Stops:
        key = (params.stop_categories, params.mixer_policy, params.deposit_stops)
        if key not in self._stops:
            st = load_stops(self.root, self.g, params.stop_categories, params.mixer_policy, params.deposit_stops)
            if params.mixer_policy == "stop":
                for a in self.mixer(params).pools.tolist():
                    if st.kind[a] == 0:
                        st.kind[a], st.evidence[a] = K.STOP_MIXER, "Tornado-style pool (mixer policy stop)"
            self._stops[key] = st
        return self._stops[key]

    def mixer(self, params: EthTraceParams) -> MixerLegs:
        """The Tornado pools' legs and note pairing for these parameters (none with pass-through)."""
        key = "pass" if params.mixer_policy == "haircut" else (params.lead_heuristics, params.links)
        if key == "pass":
            if key not in self._mix:
                self._mix[key] = empty(self.g)       # n_pos arrays: made once, not per trace
            return self._mix[key]
        if key not in self._mix:
            m = load_mixer_legs(self.root, self.store, self.g, params.lead_heuristics, params.links)
            self._mix[key] = m
            n = len(m.deposits)
            if len(getattr(self, "note_h", ())) < n:
                self.note_h, self.note_l = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
                self.took_h, self.took_l = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
                self.note_hop = np.full(n, 1 << 30, np.int32)
                self.note_buf = np.empty(n, np.int64)
        return self._mix[key]

    # -- sources ---------------------------------------------------------------------
    def resolve(self, spec: str, assets: np.ndarray) -> tuple[np.ndarray, list[int], np.ndarray, dict]:
        """(source positions, their taint, source accounts, description) of 0xADDRESS, TXHASH[:0xTO] or
        cluster:N. A transaction taints what each of its non-fee flows (those to 0xTO) brought its recipient."""
        g, s = self.g, spec.strip()
        keep = np.zeros(len(g.asset_addr), np.bool_)
        keep[assets] = True
        if s.startswith("cluster:"):
            members = self._cluster(s)
            accts = np.flatnonzero(np.isin(g.acct_addr, members) & keep[g.acct_asset])
            return np.zeros(0, np.int64), [], accts, {"kind": "entity", "cluster": int(s.split(":", 1)[1])}
        body = s.lower().removeprefix("0x")
        if len(body) == 40:
            a = g.addr_num(s)
            accts = np.flatnonzero((g.acct_addr == a) & keep[g.acct_asset])
            return np.zeros(0, np.int64), [], accts, {"kind": "address", "address": "0x" + body}
        txh, _, to = s.partition(":")
        t = g.tx_num(txh)
        pos = np.arange(g.tx_pos[t], g.tx_pos[t + 1])
        pos = pos[~np.isin(g.kind[pos], FEE_KINDS) & (g.to[pos] >= 0) & (self.conv.conv_in[pos] < 0)]
        pos = pos[keep[g.acct_asset[g.to[pos]]]]
        if to:
            pos = pos[g.acct_addr[g.to[pos]] == g.addr_num(to)]
        src = {"kind": "transaction", "tx_hash": "0x" + txh.lower().removeprefix("0x")}
        if to:
            src["to"] = to.lower()
        return pos, [join(g.hi[p], g.lo[p]) for p in pos.tolist()], np.zeros(0, np.int64), src

    def _cluster(self, spec: str) -> np.ndarray:
        path = self.root / "analysis" / CLUSTERS_FILE
        if not path.exists():
            raise UsageError(f"{spec}: no Ethereum entities yet ({path.name} is missing: build them first)")
        try:
            cid = int(spec.split(":", 1)[1])
        except ValueError:
            raise UsageError(f"not an entity: {spec!r} (cluster:N)") from None
        t = pq.read_table(path)
        rows = [r for r in t.to_pylist() if int(r["cluster"]) == cid]
        if not rows:
            raise UsageError(f"no entity with cluster id {cid}")
        if "addr_num" in t.column_names:
            return np.array([int(r["addr_num"]) for r in rows], np.int64)
        return np.array([self.g.addr_num(hex_of(r["address"])) for r in rows], np.int64)

    # -- tracing ---------------------------------------------------------------------
    def run(self, src_pos: np.ndarray, src_amt: list[int], src_accts: np.ndarray, params: EthTraceParams,
            src_hop: np.ndarray | None = None):
        """The kernel's raw result; the scratch is reset before returning. ``src_hop``: hops already made
        before each source position (a bridge crossing's), else 0."""
        order = np.argsort(src_pos, kind="stable")
        hop0 = np.zeros(len(order), np.int32) if src_hop is None else np.asarray(src_hop, np.int32)[order]
        src_pos = np.asarray(src_pos, np.int64)[order]
        amts = [src_amt[i] for i in order.tolist()]
        sh = np.array([a >> 64 for a in amts], np.uint64)
        sl = np.array([a & 0xFFFFFFFFFFFFFFFF for a in amts], np.uint64)
        stops = self.stops(params)
        mx = self.mixer(params)
        slack = len(src_pos) + 2 + self.conv_per_pos
        while True:
            if len(self.e_pos) < 2 * slack:
                self._edge_buffers(4 * slack)
            out = self._kernel(params, src_pos, sh, sl, hop0, src_accts, stops, mx, slack)
            if out[9] >= 0:
                break
            full = self.ln[8][1] != 0
            self._reset(out)                  # the edge buffers or lines were about to overflow: grow, run again
            self.q0[:] = 0
            self.q1[:] = 0
            if full:
                self.ln = lines.pool(max(4 * len(self.ln[0]), 1 << 12), self.g.n_acct)
            else:
                self._edge_buffers(2 * len(self.e_pos))
        return self._reset(out)

    def _edge_buffers(self, n: int) -> None:
        self.e_pos, self.e_dst = np.empty(n, np.int64), np.empty(n, np.int64)
        self.e_h, self.e_l, self.e_hop = np.empty(n, np.uint64), np.empty(n, np.uint64), np.empty(n, np.int32)

    def _back(self):
        """Arrays the backward kernel reads (made once): in-flows per account, balances after each in-flow, each
        conversion's first input leg, each Tornado deposit's leg."""
        if not hasattr(self, "_back_arrays"):
            from chaintrail.analysis.eth.trace_back import in_balances
            from chaintrail.store.csr import csr
            g = self.g
            in_pos, in_ptr = csr(g.to, g.n_acct, skip=-1)
            c_in = np.full(len(self.conv.trig), -1, np.int64)
            ins = np.flatnonzero(self.conv.conv_in >= 0)[::-1]
            c_in[self.conv.conv_in[ins]] = ins
            self._back_arrays = (np.asarray(in_pos, np.int64), np.asarray(in_ptr, np.int64),
                                 *in_balances(g.frm, g.to, g.hi, g.lo, g.n_acct), c_in)
        return self._back_arrays

    def _kernel(self, params, src_pos, sh, sl, hop0, src_accts, stops, mx, slack):
        g, c = self.g, self.conv
        if params.direction == "backward":
            from chaintrail.analysis.eth.trace_back import back_kernel
            in_pos, in_ptr, ib_h, ib_l, c_in = self._back()
            d_pos = np.full(len(mx.deposits), -1, np.int64)
            legs = np.flatnonzero(mx.leg == 3)
            d_pos[mx.ref[legs]] = legs
            return back_kernel(K.MODELS[params.model], g.frm, g.to, g.hi, g.lo, ib_h, ib_l, g.acct_addr,
                               g.acct_asset, in_ptr, in_pos, stops.kind, src_pos, sh, sl, c.conv_out, c_in,
                               c.ain_h, c.ain_l, c.aout_h, c.aout_l, params.max_hops, np.uint64(params.min_amount),
                               len(g.asset_addr), self.T_hi, self.T_lo, self.status, self.hops, self.q0,
                               self.tin_h, self.tin_l, self.tout_h, self.tout_l, self.c_hop, self.touched,
                               params.mixer_policy in ("leads", "demix"), mx.leg, mx.ref, mx.w_dep, d_pos,
                               self.e_pos, self.e_dst, self.e_h, self.e_l, self.e_hop, slack, self.conv_buf,
                               self.note_buf)
        return K.trace_kernel(K.MODELS[params.model], g.frm, g.to, g.hi, g.lo, g.kind, g.bal_hi, g.bal_lo,
                             g.acct_addr, g.acct_asset, g.out_ptr, g.out_pos, self.fee_kind, g.fee_next, stops.kind,
                             src_pos, sh, sl, hop0, np.asarray(src_accts, np.int64), self.bridge.out_leg,
                             c.conv_in, c.conv_out,
                             c.trig_first, c.trig, c.acct, c.ain_h, c.ain_l, c.aout_h, c.aout_l,
                             params.max_hops, np.uint64(params.min_amount), len(g.asset_addr),
                             self.T_hi, self.T_lo, self.status, self.hops, self.q0, self.q1,
                             self.tin_h, self.tin_l, self.tout_h, self.tout_l, self.c_hop, self.touched,
                             MIXER_POLICIES[params.mixer_policy], mx.leg, mx.ref, mx.w_dep, mx.d_w, mx.w_rec, mx.w_fee,
                             mx.den_h, mx.den_l, self.note_h, self.note_l, self.took_h, self.took_l, self.note_hop,
                             self.e_pos, self.e_dst, self.e_h, self.e_l, self.e_hop, slack, self.conv_buf,
                             self.note_buf, self.ln, *self.coords(K.MODELS[params.model]), self.c_inpos)

    def _reset(self, out):
        """Copy a kernel run's result out of the scratch and reset the scratch where the run touched it."""
        touched, convs, notes = out[0].copy(), out[8].copy(), out[10].copy()
        note = (notes, self.note_h[notes].copy(), self.note_l[notes].copy(), self.took_h[notes].copy(),
                self.took_l[notes].copy(), self.note_hop[notes].copy())
        for a in (self.note_h, self.note_l, self.took_h, self.took_l):
            a[notes] = 0
        self.note_hop[notes] = 1 << 30
        conv = (convs, self.tin_h[convs].copy(), self.tin_l[convs].copy(), self.tout_h[convs].copy(),
                self.tout_l[convs].copy())
        for a in (self.tin_h, self.tin_l, self.tout_h, self.tout_l):
            a[convs] = 0
        self.c_hop[convs] = 1 << 30
        final = (touched, self.T_hi[touched].copy(), self.T_lo[touched].copy(), self.status[touched].copy(),
                 self.hops[touched].copy())
        self.T_hi[touched] = 0
        self.T_lo[touched] = 0
        if self.ln[8][0]:                     # a fifo/lifo run used the lines
            lines.reset(self.ln, touched)
        self.status[touched] = 0
        self.hops[touched] = 0
        return final, (out[0], *(a.copy() for a in out[1:6]), out[6], out[7], conv, out[9], note)

    def trace(self, spec: str | list[str], params: EthTraceParams | None = None) -> dict:
        params = params or EthTraceParams()
        params.check()
        assets = self.g.assets_of(params.asset)
        specs = [spec] if isinstance(spec, str) else list(spec)
        if not specs:
            raise UsageError("a trace needs a starting point")
        parts = [self.resolve(s, assets) for s in specs]
        src_pos = np.concatenate([p[0] for p in parts])
        src_amt = [a for p in parts for a in p[1]]
        src_accts = np.unique(np.concatenate([p[2] for p in parts]))
        if params.direction == "backward" and len(src_accts):    # an address's funds: every in-flow it had
            g = self.g
            ins = np.flatnonzero(np.isin(g.to, src_accts))
            src_pos = np.concatenate([src_pos, ins])
            src_amt = src_amt + [join(g.hi[p], g.lo[p]) for p in ins.tolist()]
            src_accts = np.zeros(0, np.int64)
        if not len(src_pos) and not len(src_accts):
            raise UsageError(f"{', '.join(specs)} moved none of the traced assets ({params.asset})")
        source = parts[0][3] if len(parts) == 1 else {"kind": "several", "sources": [p[3] for p in parts]}
        final, out = self.run(src_pos, src_amt, src_accts, params)
        self.last_run = (params, final, out)      # the raw edge records, for trace_graph
        from chaintrail.analysis.eth.trace_result import assemble
        return assemble(self, params, source, final, out)


def trace_eth(store: ChainStore, source: str | list[str], direction: str = "forward", model: str = "haircut",
              asset: str = "all", max_hops: int = 10, **kw) -> dict:
    """One trace on a store (see the module doc); the result as the CLI's JSON."""
    params = EthTraceParams(direction=direction, model=model, asset=asset, max_hops=max_hops, **kw)
    params.check()
    return EthTracer(store).trace(source, params)


def params_dict(p: EthTraceParams) -> dict:
    d = {f.name: getattr(p, f.name) for f in fields(p)}
    d["stop_categories"] = list(p.stop_categories)
    return d


def canonical_hash(d: dict) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


__all__ = ["ENGINE_VERSION", "EthTraceParams", "EthTracer", "trace_eth"]

"""Demixing: find where a tainted participant's coins leave a CoinJoin or a custodial mixer.

A haircut pass-through spreads a participant's taint over every output of a
CoinJoin, and over a custodial mixer's whole wallet. Investigators instead
look for the participant's *exits*, from what happens after the mix:

* **Co-spending.** Exits spent together in one (non-CoinJoin) tx have one owner
  (the multi-input heuristic applied to post-mix coins).
* **Shared destination.** Exits whose spends pay the same address have one
  owner, when that address is *exclusive* (everything it ever received came
  from exits or from this trace's own coins: an exchange deposit address is
  one customer's), or when exits of two or more different mixes converge on it.
* **Anchor.** An exit whose spend pays an address this trace already reached
  outside the mix (e.g. the exchange deposit address a peel chain used) is
  the traced owner's.
* **Convergence.** Owner groups that join exits of two or more different mixing
  transactions (or, at a custodial mixer, two or more spends) are the traced
  actor's: one background participant rarely meets the same actor twice.
* **Amounts.** The exits given to the actor may not exceed the value it put in,
  and, at a CoinJoin, a leftover that matches one output of unique value is its
  change (subset-sum change linking; where several outputs fit, the round's own
  fee model picks the one that leaves exactly its fees, see ``coinjoin_fees``).

A CoinJoin structure is every mixing tx reachable from the tainted inputs
through remixes (Whirlpool chains), so a coin remixed several times is
followed to its final exit. A custodial mixer (ChipMixer-style: no tx links a
deposit to its payout) is an entity that creates exact chips; its exits are
chips that customers spend, after the first tainted deposit and within
``window_s``. What no evidence links stays *unresolved* inside the mix and is
reported as such, never guessed. Every resolution is logged with its
evidence so a report can cite it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

from chaintrail.analysis import trace_facts
from chaintrail.analysis import mixers as M
from chaintrail.analysis import payout_match as PM
from chaintrail.analysis.coinjoin_fees import change_outputs
from chaintrail.analysis.swept_deposits import WALLETS
from chaintrail.analysis.taint_kernels import find_tx, haircut_split

NONE = 0xFFFFFFFF

MAX_STRUCTURE_TXS = 256        # remix closure bound
MAX_EXITS = 20_000
MAX_DENOMINATIONS = 8          # subset-sum change linking: Wasabi 1.x has 5 levels, JoinMarket 1
_NOT_MIXERS = ("exchange", "gambling", "merchant", "payment_processor", "mining_service", "market")


def _member_mask(ids, labels: np.ndarray) -> np.ndarray:
    """A lookup mask over label values marking ``ids``: one gather per query where np.isin with a
    few values makes a pass over the labels per value."""
    mask = np.zeros(int(labels.max()) + 1 if len(labels) else 0, np.bool_)
    mask[np.fromiter(ids, np.int64, len(ids))] = True
    return mask


@nb.njit(cache=True)
def _funded_by(in_prev, out_addr, in_tx, n_tx, marked):
    """Per tx: does any input spend an output paid to a ``marked`` address (one pass over inputs)."""
    hit = np.zeros(n_tx, np.bool_)
    for i in range(in_prev.shape[0]):
        p = in_prev[i]
        if p != NONE:
            a = out_addr[p]
            if a != NONE and marked[a]:
                hit[in_tx[i]] = True
    return hit


@nb.njit(cache=True)
def _input_addrs(txs, tx_first_in, in_prev, out_addr):
    """The addresses the inputs of ``txs`` spend from (inputs without one left out)."""
    n = 0
    for t in txs:
        n += tx_first_in[t + 1] - tx_first_in[t]
    out = np.empty(n, np.int64)
    k = 0
    for t in txs:
        for i in range(tx_first_in[t], tx_first_in[t + 1]):
            p = in_prev[i]
            if p != NONE and out_addr[p] != NONE:
                out[k] = out_addr[p]
                k += 1
    return out[:k]


@nb.njit(cache=True)
def _paying_chips(tx_first_out, out_value, chip_values):
    """Per tx: does it pay an exact chip value."""
    n = tx_first_out.shape[0] - 1
    hit = np.zeros(n, np.bool_)
    for t in range(n):
        for x in range(tx_first_out[t], tx_first_out[t + 1]):
            if M.in_set(chip_values, out_value[x]):
                hit[t] = True
                break
    return hit


@nb.njit(cache=True)
def _chip_split_stats(cands, tx_first_in, tx_first_out, in_prev, out_addr, out_value, addr_cluster, chip_values):
    """Per candidate tx: the cluster of its first input with an address (-1: none), and whether it is a
    strict chip split (>= 3 exact chip outputs and at most one other)."""
    first = np.full(cands.shape[0], -1, np.int64)
    strict = np.zeros(cands.shape[0], np.bool_)
    for k in range(cands.shape[0]):
        t = cands[k]
        for i in range(tx_first_in[t], tx_first_in[t + 1]):
            p = in_prev[i]
            if p != NONE and out_addr[p] != NONE:
                first[k] = addr_cluster[out_addr[p]]
                break
        n_chips = 0
        for x in range(tx_first_out[t], tx_first_out[t + 1]):
            if M.in_set(chip_values, out_value[x]):
                n_chips += 1
        strict[k] = n_chips >= 3 and (tx_first_out[t + 1] - tx_first_out[t]) - n_chips <= 1
    return first, strict


@nb.njit(cache=True)
def _customer_chips(chip_txs, tx_first_in, tx_first_out, out_value, out_spent, out_addr, custodial,
                    split_txs, tx_block, blk_time, chip_values):
    """Chips the mixer paid out that a customer spent (spender not a chip split, and not a tx paying only
    the mixer's own addresses): (chip outputs, their spend times)."""
    cap = 0
    for t in chip_txs:
        cap += tx_first_out[t + 1] - tx_first_out[t]
    xs = np.empty(cap, np.int64)
    ts = np.empty(cap, np.int64)
    n = 0
    for t in chip_txs:
        for x in range(tx_first_out[t], tx_first_out[t + 1]):
            if not M.in_set(chip_values, out_value[x]):
                continue
            i = out_spent[x]
            if i >= tx_first_in[tx_first_in.shape[0] - 1]:      # NONE, or spent after this snapshot
                continue
            s = find_tx(tx_first_in, np.int64(i))
            j = np.searchsorted(split_txs, s)
            if j < split_txs.shape[0] and split_txs[j] == s:
                continue                   # spent by a chip split (sorted ``split_txs``)
            own = True
            for y in range(tx_first_out[s], tx_first_out[s + 1]):
                a = out_addr[y]
                if a == NONE or not custodial[a]:
                    own = False
                    break
            if own:
                continue                   # the mixer moving its own chip
            xs[n] = x
            ts[n] = blk_time[tx_block[s]]
            n += 1
    return xs[:n], ts[:n]


@dataclass
class Resolution:
    """How one mix was resolved: which exits carry the actor's taint, and why."""

    kind: str                                  # coinjoin | custodial
    mix_txs: list[int]
    entries: list[int]                          # tainted outputs that went in
    entry_taint: int
    entry_value: int
    exits: list[int] = field(default_factory=list)
    exit_taint: list[int] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)   # per exit: anchor | converge | change
    fee: int = 0                                # taint booked as fees (what the actor paid the mix)
    unresolved: int = 0                         # taint left inside the mix (no evidence)
    notes: dict = field(default_factory=dict)   # custodial: amount_timing (candidates, false-match rate)


class _DSU:
    def __init__(self) -> None:
        self.p: dict[int, int] = {}

    def find(self, x: int) -> int:
        p = self.p
        p.setdefault(x, x)
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)


class Demixer:
    """Demixing over one engine's mapped index (see ``TraceEngine``)."""

    def __init__(self, eng, tx_label: np.ndarray, window_s: int = 3 * 86_400, fee_tolerance: float = 0.02,
                 payout_fee: tuple[float, float] = PM.FEE_RANGE):
        self.e = eng
        self.payout_fee = payout_fee          # a custodial mixer's fee range (amount-timing leads)
        self.label = tx_label                  # sparse_tx_labels.TxLabels: x[t] is tx t's code
        self.mixing = tx_label.flags(M.MIXING)
        self.window_s = window_s
        self.fee_tol = fee_tolerance
        self.min_span = 3
        self._custodial: np.ndarray | None = None
        self._chip_splits: list[int] | None = None
        self._chip_txs: list[int] | None = None
        self._spent_chips: tuple[np.ndarray, np.ndarray] | None = None
        self._prepared = False

    # -- chain helpers ---------------------------------------------------------------
    def tx_of_out(self, o: int) -> int:
        return int(self.e.out_tx[o])

    def tx_of_in(self, i: int) -> int:
        return int(self.e.in_tx[i])

    def outs(self, t: int) -> range:
        return range(int(self.e.tx_first_out[t]), int(self.e.tx_first_out[t + 1]))

    def ins(self, t: int) -> list[int]:
        e = self.e
        return [int(e.in_prev[i]) for i in range(int(e.tx_first_in[t]), int(e.tx_first_in[t + 1]))]

    def spender(self, o: int) -> int:
        # Scalar reads (demixing asks for one output at a time, ~10^5 times in a trace through busy mixes):
        # ``spenders`` builds arrays per call, 6 us where this takes well under one.
        i = int(self.e.out_spent[o])
        return int(self.e.in_tx[i]) if i < self.e.n_in else -1

    def custodial_addresses(self) -> np.ndarray:
        """Addresses of custodial chip mixers: entities that create exact chips or carry a mixer's
        hot-wallet tag, the entities whose one-output sweeps feed them (deposit wallets), and addresses
        tagged as mixers."""
        self.prepare()
        if self._custodial is None:
            e = self.e
            labels = e.labels
            splits = np.asarray(self.chip_splits(), np.int64)
            hot = set(np.unique(labels[_input_addrs(splits, e.tx_first_in, e.in_prev, e.out_addr)]).tolist())
            if e.stop_addr_for is not None:
                # A mixer's tagged hot wallet (an investigator knows it, never all its deposit addresses).
                wallets = e.stop_addr_for(("mixing_service",)) & e.stop_addr_for(WALLETS)
                hot.update(np.unique(labels[np.flatnonzero(wallets)]).tolist())
            clusters = set(hot)
            if hot:
                # Deposit wallets: txs with one output, paid into a chip-creating entity from another one.
                one = np.flatnonzero(np.diff(e.tx_first_out) == 1)     # (uint32: no int64 copy of 10M ids)
                a = e.out_addr[e.tx_first_out[one]]
                ok = a != NONE
                into = one[ok][_member_mask(hot, labels)[labels[a[ok]]]]
                p = e.in_prev[e.tx_first_in[into]]                      # each sweep's first input
                p = p[p != NONE]
                a = e.out_addr[p]
                clusters.update(np.unique(labels[a[a != NONE]]).tolist())
            mask = _member_mask(clusters, labels)[labels]
            if e.stop_addr_for is not None:
                # A tagged exchange or other service that happens to pay round amounts is not a mixer.
                mask = (mask & ~e.stop_addr_for(_NOT_MIXERS)) | e.stop_addr_for(("mixing_service",))
            self._custodial = mask
        return self._custodial

    def chip_splits(self) -> list[int]:
        """Txs that create chips, paid by an entity seen making a strict chip split (>= 3 exact chip
        outputs and at most one other); the cluster-refined ``chip_split`` label alone also marks
        exchanges that pay round amounts."""
        self.prepare()
        if self._chip_splits is None:
            e = self.e
            cands = self.label.with_code(M.L_CHIP_SPLIT)
            first, strict = _chip_split_stats(cands, e.tx_first_in, e.tx_first_out, e.in_prev, e.out_addr,
                                              e.out_value, e.labels, M.CHIPS)
            creators = set(first[strict].tolist())
            self._chip_splits = [t for t, c in zip(cands.tolist(), first.tolist()) if c in creators and c >= 0]
        return self._chip_splits

    def chip_txs(self) -> list[int]:
        """Every tx a custodial mixer's wallet funds that pays an exact chip (its chip creations,
        large and small)."""
        self.prepare()
        if self._chip_txs is None:
            e = self.e
            funded = _funded_by(e.in_prev, e.out_addr, e.in_tx, e.n_tx, self.custodial_addresses())
            paying = _paying_chips(e.tx_first_out, e.out_value, M.CHIPS)
            self._chip_txs = np.flatnonzero(funded & paying).astype(np.int64).tolist()
        return self._chip_txs

    # -- CoinJoins -------------------------------------------------------------------
    def coinjoin_structures(self, entries: list[int]) -> list[tuple[list[int], list[int]]]:
        """Group entry outputs by the remix closure of the mixing txs they enter: [(txs, entries)]."""
        e = self.e
        dsu = _DSU()
        seen: set[int] = set()
        for o in sorted(entries):
            t0 = self.spender(o)
            todo, t_end = [t0], int(e.tx_time[t0]) + self.window_s
            while todo:
                u = todo.pop()
                dsu.union(t0, u)
                if u in seen:
                    continue
                seen.add(u)
                if len(seen) > MAX_STRUCTURE_TXS * max(1, len(entries)):
                    continue
                for x in self.outs(u):
                    v = self.spender(x)
                    if v >= 0 and self.mixing[v] and int(e.tx_time[v]) <= t_end:
                        todo.append(v)
        out: dict[int, tuple[list[int], list[int]]] = {}
        for t in sorted(seen):
            out.setdefault(dsu.find(t), ([], []))[0].append(t)
        for o in sorted(entries):
            out[dsu.find(self.spender(o))][1].append(o)
        return [g for g in out.values() if g[1]]

    def exits_of(self, txs: list[int]) -> list[int]:
        inside = set(txs)
        exits = []
        for t in txs:
            for x in self.outs(t):
                if self.spender(x) not in inside:
                    exits.append(x)
        return exits

    # -- linking exits to owners -------------------------------------------------------
    def components(self, exits: list[int], source_of: dict[int, int], known_txs: set[int],
                   anchored_addrs: set[int]) -> tuple[_DSU, dict[int, set[int]], dict[int, str]]:
        """Union exits by co-spend and shared destinations.

        ``source_of``: exit -> the mix (or spend) it counts as for convergence.
        Returns the union-find, each root's set of mixes, and the anchored roots (-> "anchor").
        """
        e = self.e
        dsu = _DSU()
        spend_txs: dict[int, list[int]] = {}
        for x in exits:
            dsu.find(x)
            s = self.spender(x)
            if s >= 0 and not self.mixing[s]:
                spend_txs.setdefault(s, []).append(x)
        by_dest: dict[int, list[int]] = {}
        for s, xs in spend_txs.items():
            for x in xs[1:]:
                dsu.union(xs[0], x)                     # co-spent
            for y in self.outs(s):
                a = int(e.out_addr[y])
                if a == NONE:
                    continue
                by_dest.setdefault(a, []).append(xs[0])
        payers = set(spend_txs) | known_txs        # once: a union per destination was O(exits^2)
        bound = len(spend_txs) + len(known_txs)
        anchored_roots: set[int] = set()
        for a, xs in by_dest.items():
            exclusive = None
            anchored = a in anchored_addrs
            if len(xs) > 1 or anchored:
                got = self.e.outputs_of(a)
                # More receipts than candidate payers: cannot be exclusive (a public or busy address).
                exclusive = len(got) <= bound and all(t in payers for t in self.e.out_tx[got].tolist())
            if len(xs) > 1 and exclusive:
                for x in xs[1:]:
                    dsu.union(xs[0], x)
            if anchored and exclusive:
                anchored_roots.add(xs[0])
        mixes: dict[int, set[int]] = {}
        for x in exits:
            m = mixes.setdefault(dsu.find(x), set())
            if source_of[x] >= 0:
                m.add(source_of[x])
        anchored = {dsu.find(x): "anchor" for x in sorted(anchored_roots)}
        return dsu, mixes, anchored


    # -- resolution ------------------------------------------------------------------
    def resolve_coinjoins(self, entries: dict[int, int], known_txs: set[int], reached: set[int],
                          service: np.ndarray | None = None) -> list[Resolution]:
        """Resolve every CoinJoin structure the tainted ``entries`` (output -> taint) go into.
        ``service``: per address, is it a cash-out service this trace stops at (the sweep pattern's
        destinations); None: no pattern leads."""
        e = self.e
        structs = self.coinjoin_structures(list(entries))
        exits_of = [self.exits_of(txs)[:MAX_EXITS] for txs, _ in structs]
        # Convergence counts only the mixes the actor entered directly: a background wallet that
        # mixes often and consolidates spans many mixes, but rarely several of the actor's.
        entry_mixes = {self.spender(o) for o in entries}
        source_of = {x: (t if t in entry_mixes else -1) for ex in exits_of for x in ex
                     for t in (self.tx_of_out(x),)}
        allx = [x for ex in exits_of for x in ex]
        dsu, mixes, anchored = self.components(allx, source_of, known_txs, reached)
        values = {x: int(e.out_value[x]) for x in allx}
        # Change found from amounts alone anchors its owner group (co-spent exits are the actor's too).
        changes: dict[int, int] = {}
        for ents in (g[1] for g in structs):
            for c in sorted({self.spender(o) for o in ents}):
                for x in self.change_by_decomposition(c, [o for o in ents if self.spender(o) == c]):
                    if x in values:
                        changes[x] = c
        for x in sorted(changes):
            anchored.setdefault(dsu.find(x), "change-group")
        picks = []
        for (txs, ents), ex in zip(structs, exits_of):
            V = sum(int(e.out_value[o]) for o in ents)
            chosen, why = select_actor_exits(ex, values, dsu, mixes, anchored, V, self.min_span)
            why.update({x: "change:decomposed" for x in chosen if x in changes})
            # Change of mixes too varied to decompose (Wasabi 2): per mix the actor entered, a
            # leftover after its claimed exits that one unique-valued output matches.
            exset, taken = set(ex), set(chosen)
            for c in sorted({self.spender(o) for o in ents}):
                if 0 < len(self.denominations(c)[0]) <= MAX_DENOMINATIONS:
                    continue                        # decomposed above, entry by entry
                v_in = sum(int(e.out_value[o]) for o in ents if self.spender(o) == c)
                outs = self.outs(c)
                left = v_in - sum(values[x] for x in chosen if outs.start <= x < outs.stop)
                tol = int(self.fee_tol * v_in) + 10_000
                if left <= tol:
                    continue
                vals = [int(e.out_value[x]) for x in outs]
                x = change_candidate(vals, taken, outs, left, tol, exset)
                if x is not None and sum(values[y] for y in chosen) + values[x] <= V:
                    chosen.append(x)
                    taken.add(x)
                    why[x] = "change"
            picks.append((chosen, why, V))
        # Leads: exits swept the way the actor swept the exits the evidence gave it, in the same blocks.
        window = self.cash_out_window([x for p in picks for x in p[0]], service)
        out = []
        for (txs, ents), ex, (chosen, why, V) in zip(structs, exits_of, picks):
            if window is not None:
                for x in self.same_pattern(ex, set(chosen), window, service, values,
                                           V - sum(values[y] for y in chosen)):
                    chosen.append(x)
                    why[x] = "pattern:sweep"
            T = sum(entries[o] for o in ents)
            out.append(self._allocate("coinjoin", txs, ents, T, V, chosen, why, values))
        return out

    def _sweep_to_service(self, s: int, service: np.ndarray) -> bool:
        """Is tx ``s`` a sweep (one output, not a mix) into a cash-out service's address?"""
        if s < 0 or self.mixing[s]:
            return False
        o = self.outs(s)
        if len(o) != 1:
            return False
        a = int(self.e.out_addr[o.start])
        return a != NONE and bool(service[a])

    def cash_out_window(self, claimed: list[int], service: np.ndarray | None) -> tuple[int, int] | None:
        """The blocks of the first and last tx in which the actor swept exits claimed by evidence, whole,
        into a cash-out service: its observed cash-out pattern. None unless seen in two txs or more."""
        if service is None:
            return None
        blocks = {s: int(self.e.tx_block[s]) for s in map(self.spender, claimed) if self._sweep_to_service(s, service)}
        if len(blocks) < 2:
            return None
        return min(blocks.values()), max(blocks.values())

    def same_pattern(self, exits: list[int], taken: set[int], window: tuple[int, int], service: np.ndarray,
                     values: dict[int, int], budget: int) -> list[int]:
        """Exits of one structure or account (not yet claimed) swept the way the actor swept its claimed
        ones: whole, with nothing but exits of the mixes being resolved (``values``' keys) beside them,
        into a cash-out service, within the blocks of the actor's own sweeps; earliest first, while the
        value the actor put in allows. A lead, weaker than the evidence above: the service's records
        confirm or refute it. (Measured: starting the window at the mix claims other participants' coins.)"""
        e = self.e
        units: dict[int, list[int]] = {}
        for x in exits:
            s = self.spender(x)
            if x not in taken and self._sweep_to_service(s, service) and window[0] <= int(e.tx_block[s]) <= window[1]:
                units.setdefault(s, []).append(x)
        got: list[int] = []
        for s in sorted(units, key=lambda s: (int(e.tx_block[s]), s)):
            if any(p not in values for p in self.ins(s)):
                continue                           # other coins beside them: not a post-mix sweep
            v = sum(values[x] for x in units[s])
            if v <= budget:
                got += sorted(units[s])
                budget -= v
        return got

    def denominations(self, c: int) -> tuple[list[int], dict[int, int]]:
        """The values mix ``c`` pays more than once (its denominations), and every value's count."""
        count: dict[int, int] = {}
        for x in self.outs(c):
            v = int(self.e.out_value[x])
            count[v] = count.get(v, 0) + 1
        return sorted(v for v, n in count.items() if n > 1), count

    def change_by_decomposition(self, c: int, entries: list[int]) -> list[int]:
        """The actor's change outputs at mix ``c`` (``coinjoin_fees.change_outputs``), at mixes of
        at most MAX_DENOMINATIONS repeated values (Wasabi 1.x levels, JoinMarket's equal amount)."""
        e = self.e
        dens, count = self.denominations(c)
        if not dens or len(dens) > MAX_DENOMINATIONS:
            return []
        outs = list(self.outs(c))
        coord = self.coordinator_output([x for x in outs if count[int(e.out_value[x])] == 1])
        return change_outputs(entries, self.ins(c), outs, e.out_value, coord)

    def coordinator_output(self, uniq: list[int]) -> int | None:
        """The one of the outputs ``uniq`` paid to an address that also receives in another mixing tx
        (a coordinator's reused fee address), or None."""
        e = self.e
        hits = [x for x in uniq if int(e.out_addr[x]) != NONE
                and int(self.mixing[e.txs_of_outputs(e.outputs_of(int(e.out_addr[x])))].sum()) > 1]
        return hits[0] if len(hits) == 1 else None

    def custodial_exits(self, t_from: int, t_to: int) -> list[int]:
        """Chips (exact-value outputs of chip txs) that customers spent between ``t_from`` and ``t_to``."""
        self.prepare()
        if self._spent_chips is None:
            # Every customer-spent chip with its spend time, found once per engine.
            e = self.e
            self._spent_chips = _customer_chips(np.asarray(self.chip_txs(), np.int64), e.tx_first_in, e.tx_first_out,
                                                e.out_value, e.out_spent, e.out_addr, self.custodial_addresses(),
                                                self.label.with_code(M.L_CHIP_SPLIT), e.tx_block, e.blk_time,
                                                M.CHIPS)
        chips, times = self._spent_chips
        return chips[(times >= t_from) & (times <= t_to)][:MAX_EXITS].tolist()

    def prepare(self) -> None:
        """Load the whole-chain facts above (custodial addresses, chip splits, chip txs, spent chips) where an
        earlier engine of the same state persisted them, else find them all now and persist them
        (``trace_facts``). Engines whose state cannot be shared find each when first asked, as before."""
        if self._prepared:
            return
        self._prepared = True
        folder = trace_facts.folder_for(self.e, "demix")
        if folder is None:
            return
        got = trace_facts.load(self.e, folder, "demix")
        if got is not None:
            self._custodial = np.zeros(len(self.e.labels), np.bool_)
            self._custodial[got["custodial"]] = True
            self._chip_splits = got["chip_splits"].tolist()
            self._chip_txs, self._spent_chips = got["chip_txs"].tolist(), (got["spent_chips"], got["spent_times"])
            return
        self.custodial_exits(0, 0)
        chips, times = self._spent_chips
        trace_facts.save(self.e, folder, "demix", {
            "custodial": np.flatnonzero(self.custodial_addresses()).astype(np.uint32),
            "chip_splits": np.asarray(self.chip_splits(), np.int64), "chip_txs": np.asarray(self.chip_txs(), np.int64),
            "spent_chips": chips, "spent_times": times})

    def resolve_custodial(self, deposits: dict[int, int], known_txs: set[int],
                          reached: set[int], service: np.ndarray | None = None) -> list[Resolution]:
        """Resolve tainted deposits (output -> taint) into custodial chip mixers as one account.

        No tx links a deposit to its payout: the actor's chips are found by what their
        spends share (co-spending, destinations) with each other and with the trace, and as
        leads by the way they were spent (``same_pattern``, where ``service`` is given).
        """
        e = self.e
        ents = sorted(deposits)
        times = [int(e.tx_time[self.tx_of_out(o)]) for o in ents]
        ex = self.custodial_exits(min(times), max(times) + self.window_s)
        source_of = {x: self.spender(x) for x in ex}
        dsu, mixes, anchored = self.components(ex, source_of, known_txs, reached)
        values = {x: int(e.out_value[x]) for x in ex}
        V = sum(int(e.out_value[o]) for o in ents)
        T = sum(deposits[o] for o in ents)
        chosen, why = select_actor_exits(ex, values, dsu, mixes, anchored, V, 2)
        tol = int(self.fee_tol * V) + 100_000
        notes: dict = {}
        if V - sum(values[x] for x in chosen) > tol:
            # Evidence alone falls short: an owner group of payouts that make up the rest of the account
            # (net of a fee in range, or within one smallest chip), alone in that band, is a lead that
            # carries how many groups competed and the rule's measured false-match rate. Where only the
            # anchored groups leave a rest that one group matches, the converging groups chosen beside
            # them were another customer's: they are dropped even when leads are off.
            only_anchored, why_a = select_actor_exits(ex, values, dsu, mixes, anchored, V, 1 << 30)
            for base, base_why in ((chosen, why), (only_anchored, why_a)):
                extra, n_cands = amount_match(ex, values, dsu, set(base), V - sum(values[x] for x in base),
                                              self.payout_fee)
                if extra:
                    chosen, why = list(base), dict(base_why)
                    if service is not None:
                        notes = {"amount_timing": PM.lead_note(n_cands)}
                        chosen += extra
                        why.update({x: PM.EVIDENCE for x in extra})
                    break
                if service is not None:
                    notes = {"amount_timing": PM.lead_note(n_cands)}
        # Leads: chips swept whole into an exchange the way, and in the blocks, the actor swept its own.
        window = self.cash_out_window(chosen, service)
        if window is not None:
            for x in self.same_pattern(ex, set(chosen), window, service, values, V - sum(values[y] for y in chosen)):
                chosen = chosen + [x]
                why[x] = "pattern:sweep"
        res = self._allocate("custodial", [], ents, T, V, chosen, why, values)
        res.notes = notes
        return [res]

    def _allocate(self, kind, txs, ents, T, V, chosen, why, values) -> Resolution:
        """Haircut the entries' taint over the chosen exits and the rest of what went in."""
        chosen = sorted(chosen)
        A = sum(values[x] for x in chosen)
        vals = np.array([values[x] for x in chosen] + [max(V - A, 0)], np.int64)
        shares = np.zeros(len(vals), np.int64)
        haircut_split(np.int64(min(T, int(vals.sum()))), vals, shares)
        r = Resolution(kind, list(txs), list(ents), T, V, chosen, [int(s) for s in shares[:-1]],
                       [why[x] for x in chosen])
        rest = T - int(shares[:-1].sum())
        # What the actor got back falls short of what it put in by fees only when the shortfall is small.
        if chosen and V - A <= int(self.fee_tol * V) + 10_000:
            r.fee = rest
        else:
            r.unresolved = rest
        return r


def select_actor_exits(exits: list[int], values: dict[int, int], dsu: _DSU, mixes: dict[int, set[int]],
                       anchored: dict[int, str], budget: int,
                       min_span: int = 2) -> tuple[list[int], dict[int, str]]:
    """The exits of anchored or converging owner groups, strongest first, within ``budget`` sats.
    ``anchored``: root -> the evidence its exits cite."""
    groups: dict[int, list[int]] = {}
    for x in exits:
        groups.setdefault(dsu.find(x), []).append(x)
    cands = [r for r in groups if r in anchored or len(mixes[r]) >= min_span]
    cands.sort(key=lambda r: (r not in anchored, -len(mixes[r]), -sum(values[x] for x in groups[r]), r))
    chosen: list[int] = []
    why: dict[int, str] = {}
    total = 0
    for r in cands:
        v = sum(values[x] for x in groups[r])
        if total + v > budget:
            continue
        total += v
        for x in sorted(groups[r]):
            chosen.append(x)
            why[x] = anchored.get(r) or f"converge:{len(mixes[r])}"
    return chosen, why


def amount_match(exits: list[int], values: dict[int, int], dsu: _DSU, taken: set[int], rest: int,
                 fee_range: tuple[float, float] = PM.FEE_RANGE) -> tuple[list[int], int]:
    """The one owner group (not yet taken) whose value matches ``rest`` (``payout_match.bands``), and how
    many groups match; ([], n) unless exactly one does."""
    groups: dict[int, list[int]] = {}
    for x in exits:
        if x not in taken:
            groups.setdefault(dsu.find(x), []).append(x)
    hits = PM.candidates({r: sum(values[x] for x in g) for r, g in groups.items()}, rest, fee_range)
    return (sorted(groups[hits[0]]) if len(hits) == 1 else []), len(hits)


def change_candidate(values: list[int], taken: set[int], outs: range, leftover: int, tol: int,
                     exits: set[int]) -> int | None:
    """The output of unique value that best uses ``leftover`` (within ``tol`` below it): the change."""
    count: dict[int, int] = {}
    for x in outs:
        count[values[x - outs.start]] = count.get(values[x - outs.start], 0) + 1
    best, best_gap = None, tol + 1
    for x in outs:
        v = values[x - outs.start]
        if x in taken or x not in exits or count[v] > 1 or v > leftover:
            continue
        if leftover - v < best_gap:
            best, best_gap = x, leftover - v
    return best


def allocate_exact(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` over ``weights`` in proportion, exact to the sat (largest remainder)."""
    vals = np.asarray(weights, np.int64)
    shares = np.zeros(len(vals), np.int64)
    haircut_split(np.int64(total), vals, shares)
    return [int(x) for x in shares]

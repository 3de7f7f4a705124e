"""Screening: an address's or a transaction's exposure to each risk category, and its risk level.

For an address in the chain store:

* its own tags, and the definer tags of its cluster;
* incoming exposure: the funds it received, traced backward (haircut by
  default) up to ``hops`` transactions until they reach a tagged address;
* outgoing exposure: the same funds traced forward to where they went.

Hop 1 is direct exposure (the counterparty itself is tagged), hops 2..n
indirect. Addresses of the subject's own cluster do not stop a trace, so an
exchange's internal transfers are not exposure to itself. Amounts are exact
integer sats from the tracing kernel; shares are of the traced total. An
address that is not in the store is screened on its tags alone.

A transaction is screened the same way from its outputs; its output
addresses are its direct counterparties on the outgoing side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.analysis import taint_kernels as K
from chaintrail.analysis.risk import LEVELS, Risk, RiskPolicy, assess
from chaintrail.analysis.risk_words import tag_words
from chaintrail.analysis.tracing import TraceEngine
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.csr import csr
from chaintrail.store.prices import QUOTE, PriceBook, exposure_fiat
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.model import Tag, normalize_address, normalize_addresses
from chaintrail.tags.propagation import Attribution, TagHit
from chaintrail.tags.tagstore import TagStore

_MAX_TAG_REFS = 3


@dataclass(frozen=True)
class ScreenParams:
    hops: int = 3
    model: str = "haircut"
    min_amount_sat: int = 0
    mixer_policy: str = "haircut"
    directions: tuple[str, ...] = ("incoming", "outgoing")

    def check(self) -> None:
        if self.hops < 0:
            raise UsageError("hops must not be negative")
        if not self.directions or set(self.directions) - {"incoming", "outgoing"}:
            raise UsageError("directions are incoming and/or outgoing")
        if self.model not in K.MODELS:
            raise UsageError(f"model must be one of {', '.join(K.MODELS)}, not {self.model!r}")
        if self.mixer_policy not in ("haircut", "stop"):
            raise UsageError("mixer policy must be haircut or stop")


@dataclass
class TagRef:
    """A tag as evidence: what it says, where it sits, and where it came from."""

    label: str | None
    address: str | None
    kind: str
    categories: list[str]
    source: str | None
    confidence: str | None
    provenance: str
    via: str = "address"
    cluster: int | None = None
    conflict: bool = False
    actor: str | None = None

    @classmethod
    def of(cls, tag: Tag, via: str = "address", cluster: int | None = None, conflict: bool = False,
           actor: str | None = None) -> "TagRef":
        return cls(tag.label, tag.address, tag.kind, list(tag.risk_categories), tag.source, tag.confidence,
                   tag.provenance, via, cluster, conflict, actor)

    def values(self) -> dict:
        """The tag as a risk reason's ``tag`` value (analysis.risk_words)."""
        return {"label": self.label, "kind": self.kind, "address": self.address, "via": self.via,
                "cluster": self.cluster, "conflict": self.conflict, "actor": self.actor, "source": self.source,
                "confidence": self.confidence, "provenance": self.provenance}

    def words(self) -> str:
        """The tag in English words: 'label' [kind] on ADDRESS (source …; confidence …; provenance)."""
        return tag_words(self.values())


@dataclass
class Exposure:
    category: str
    direction: str            # self | incoming | outgoing
    amount_sat: int
    share: float
    traced_sat: int
    direct_sat: int = 0
    indirect_sat: int = 0
    min_hops: int = 0
    max_hops: int = 0
    counterparty: str | None = None
    path: list[str] = field(default_factory=list)     # txids, subject side first
    tags: list[TagRef] = field(default_factory=list)
    fiat: dict | None = None      # value on the day each part arrived (store.prices.exposure_fiat); None: no prices


@dataclass
class ScreenResult:
    subject: str
    kind: str                  # address | transaction
    in_store: bool
    cluster: int | None
    tags: list[TagRef]
    exposures: list[Exposure]
    totals: dict
    conflicts: list[str]
    risk: Risk
    params: dict

    def exposure(self, category: str, direction: str) -> Exposure | None:
        return next((e for e in self.exposures if e.category == category and e.direction == direction), None)

    def to_dict(self) -> dict:
        return {"subject": self.subject, "kind": self.kind, "in_store": self.in_store, "cluster": self.cluster,
                "risk": self.risk.to_dict(), "tags": [asdict(t) for t in self.tags],
                "exposures": [asdict(e) for e in self.exposures], "totals": self.totals,
                "conflicts": self.conflicts, "params": self.params}


class Screener:
    """Screens addresses and transactions against one tag store and (optionally) one chain store."""

    def __init__(self, tags: TagStore, store: ChainStore | None = None, params: ScreenParams | None = None,
                 policy: RiskPolicy | None = None, currency: str = QUOTE):
        self.tags = tags
        self.store = store
        self.policy = policy or RiskPolicy()
        # Fiat of each exposure at the UTC close of the day its parts arrived (store.prices); none without prices.
        self.book = PriceBook.open(store.path) if store is not None else PriceBook({})
        self.currency = self.book.check_currency(currency)
        self.attr: Attribution | None = None
        self.engine: TraceEngine | None = None
        if store is not None and store.counts["addresses"]:
            self.attr = Attribution(tags, store)
            self.engine = TraceEngine(store, stop_addr_for=self.attr)
            self._stop = self.attr(tx.CATEGORIES).copy()
            # Plain ndarray views of the mapped index: indexing a memmap wraps every result in a memmap.
            self._out_addr = np.asarray(self.engine.out_addr)
            self._out_value = np.asarray(self.engine.out_value)
            self._addr_nums: dict[str, int] | None = None
            self._members: tuple[np.ndarray, np.ndarray] | None = None
        self.params = params or ScreenParams()

    @property
    def params(self) -> ScreenParams:
        return self._p

    @params.setter
    def params(self, value: ScreenParams) -> None:
        """New parameters for the next screens (the engine and tags stay loaded)."""
        value.check()
        self._p = value
        self._params = asdict(value)
        if self.engine is not None:
            code = K.POLICY_STOP if value.mixer_policy == "stop" else K.POLICY_HAIRCUT
            self._policy = code

    @classmethod
    def open(cls, root: str | Path, params: ScreenParams | None = None) -> "Screener":
        """Tags of ``root``, with its chain store when one exists there."""
        store = ChainStore(root) if (Path(root) / "MANIFEST.json").exists() else None
        return cls(TagStore(root), store, params)

    # -- subjects ------------------------------------------------------------------
    def screen(self, subject: str) -> ScreenResult:
        """Screen one address or txid."""
        return self._screen(subject.strip(), None)

    def screen_many(self, subjects, progress=None):
        """Screen a batch; yields one result per subject, in order.

        The batch's tags are fetched in one hash join and one table lookup, and
        its addresses are numbered in one join against the store.
        """
        subjects = [s.strip() for s in subjects]
        pre = self._prefetch_tags(subjects)
        if self.engine is not None:
            self._prepare_batch(subjects)
        for i, s in enumerate(subjects):
            yield self._screen(s, pre)
            if progress:
                progress(i + 1)

    def triage(self, subjects) -> pa.Table:
        """Risk level from tags alone for a whole batch, vectorised: subject, level, categories, tagged.

        A subject's own tags count and, for addresses in the chain store, its
        cluster's definer tags; flows do not (``screen_many`` adds them). The
        level is the policy's level for a subject that carries the category.
        """
        arr = pa.array([str(x).strip() for x in subjects], pa.string())
        idx = self.tags.index
        slots = idx.slots(arr)
        bits = np.where(slots >= 0, idx.addr_bits[np.maximum(slots, 0)], 0).astype(np.uint16) if len(slots) \
            else np.zeros(0, np.uint16)
        if self.attr is not None and len(arr):
            table = self.store.read_table("addresses", ["addr_num", "address"])
            hit = pc.index_in(normalize_addresses(arr), value_set=table["address"]).fill_null(-1).to_numpy(
                zero_copy_only=False)
            nums = table["addr_num"].to_numpy()
            ok = hit >= 0
            bits[ok] |= self.attr.addr_bits[nums[hit[ok]]]
        rank = {lv: i for i, lv in enumerate(LEVELS)}
        by_bits = np.zeros(1 << len(tx.CATEGORIES), np.int8)
        for b in range(len(by_bits)):
            by_bits[b] = max((rank[self.policy.self_level[c]] for c in tx.categories_from_bits(b)), default=0)
        level = by_bits[bits]
        cats: list = [None] * len(arr)
        for i in np.flatnonzero(bits).tolist():
            cats[i] = tx.categories_from_bits(int(bits[i]))
        return pa.table({"subject": arr, "level": pa.array(np.asarray(LEVELS, dtype=object)[level], pa.string()),
                         "categories": pa.array(cats, pa.list_(pa.string())), "tagged": pa.array(slots >= 0)})

    def _screen(self, s: str, pre: dict[str, list[Tag]] | None) -> ScreenResult:
        if self.engine is not None and len(s) == 64 and all(c in "0123456789abcdefABCDEF" for c in s) \
                and not (pre.get(s) if pre is not None else self.tags.index.slot(s) >= 0):
            return self._screen_tx(s.lower())
        return self._screen_address(s, pre)

    def _prefetch_tags(self, subjects: list[str]) -> dict[str, list[Tag]]:
        """Tags of every tagged subject of a batch (subjects not in the dict have none)."""
        idx = self.tags.index
        slots = idx.slots(subjects)
        hit = np.flatnonzero(slots >= 0)
        if not len(hit):
            return {}
        uniq = np.unique(slots[hit])
        rows = np.concatenate([idx.rows_of_slot(int(x)) for x in uniq])
        by_slot: dict[int, list[Tag]] = {}
        for slot, t in zip(idx.row_addr[rows].tolist(), self.tags.tags_at(rows)):
            by_slot.setdefault(slot, []).append(t)
        return {subjects[i]: by_slot[int(slots[i])] for i in hit.tolist()}

    def _prepare_batch(self, subjects: list[str]) -> None:
        """Address numbers for the whole batch in one hash join, and the address -> outputs index."""
        table = self.store.read_table("addresses", ["addr_num", "address"])
        norm = [normalize_address(s) for s in subjects]
        idx = pc.index_in(pa.array(norm, pa.string()), value_set=table["address"]).fill_null(-1).to_numpy(
            zero_copy_only=False)
        nums = table["addr_num"].to_numpy()
        self._addr_nums = {a: int(nums[i]) for a, i in zip(norm, idx.tolist()) if i >= 0}
        self.engine.outputs_index()

    def addr_num(self, address: str) -> int | None:
        """The store's number for an address, or None when the store has never seen it."""
        if self.engine is None:
            return None
        a = normalize_address(address)
        if self._addr_nums is not None and a in self._addr_nums:
            return self._addr_nums[a]
        rows = pc.index_in(pa.array([a, address]), value_set=self.store.read_table("addresses", ["address"])[
            "address"]).to_pylist()
        hit = next((r for r in rows if r is not None), None)
        return None if hit is None else int(hit)  # addr_num is the row position

    def _cluster_members(self, cid: int) -> np.ndarray:
        if self._members is None:
            self._members = csr(self.attr.labels, self.attr.n)
        order, ptr = self._members
        return order[ptr[cid]:ptr[cid + 1]]

    # -- address -------------------------------------------------------------------
    def _screen_address(self, address: str, pre: dict[str, list[Tag]] | None = None) -> ScreenResult:
        a = self.addr_num(address) if self.engine is not None else None
        refs: list[TagRef] = []
        conflicts: list[str] = []
        exposures: list[Exposure] = []
        totals: dict = {}
        cluster = None
        if a is None:
            own = pre.get(address, []) if pre is not None else self.tags.lookup(address)
            refs = [self._ref(TagHit(-1, t, "address", t.address, None)) for t in own]
        else:
            cluster = int(self.attr.labels[a])
            refs = [self._ref(h) for h in self.attr.hits(a)]
            c = self.attr.conflict_of(cluster)
            if c is not None:
                conflicts.append(c.describe())
            outs = self.engine.outputs_of(a, scan_unless_indexed=True)
            amts = self._out_value[outs].astype(np.int64)
            received = int(amts.sum())
            totals = {"received_sat": received, "outputs": int(len(outs))}
            exposures += self._self_exposures(refs, received, self._fiat(amts, self._out_time(outs)))
            for direction in self.params.directions:
                flow = self._trace(outs, amts, direction == "outgoing", cluster)
                totals[f"{direction}_traced_sat"] = flow["traced"]
                exposures += flow["exposures"]
        if a is None:
            exposures += self._self_exposures(refs, 0)
        risk = assess(address, refs, exposures, self.params.hops, a is not None, conflicts, self.policy)
        return ScreenResult(address, "address", a is not None, cluster, refs, exposures, totals, conflicts, risk,
                            dict(self._params))

    def _self_exposures(self, refs: list[TagRef], received: int, fiat: dict | None = None) -> list[Exposure]:
        if not refs:
            return []
        cats = {c for r in refs for c in r.categories}
        return [Exposure(c, "self", received, 1.0, received, tags=[r for r in refs if c in r.categories][:3],
                         fiat=fiat) for c in tx.CATEGORIES if c in cats]

    def _out_time(self, outs: np.ndarray, spent: bool = False) -> np.ndarray:
        """Block time of the tx paying each output, or (``spent``) of the tx spending it where one does: the day
        funds traced backward left the tagged counterparty."""
        e = self.engine
        outs = np.asarray(outs, np.int64)
        if not len(outs):
            return np.zeros(0, np.int64)
        t = np.asarray(e.txs_of_outputs(outs), np.int64)
        if spent:
            by = e.spenders(outs)
            t = np.where(by >= 0, by, t)
        return e.tx_time[t]

    def _fiat(self, amounts, times) -> dict | None:
        """Fiat of amounts (sats) on their days, summed (``store.prices.exposure_fiat``); None without prices."""
        if not self.book:
            return None
        return exposure_fiat(self.book, np.asarray(amounts, np.int64), np.asarray(times, np.int64), self.currency)

    def _ref(self, h: TagHit) -> TagRef:
        actor = self.tags.actor(h.tag.actor)
        return TagRef.of(h.tag, h.via, h.cluster, h.conflict, actor.describe() if actor else None)

    # -- transaction ---------------------------------------------------------------
    def _screen_tx(self, txid: str) -> ScreenResult:
        e = self.engine
        t = e.txid_to_num(txid)
        outs = np.arange(e.tx_first_out[t], e.tx_first_out[t + 1], dtype=np.int64)
        amts = self._out_value[outs].astype(np.int64)
        total = int(amts.sum())
        refs = [self._ref(TagHit(-1, tg, "address", tg.address, None)) for tg in self._tx_tags(txid)]
        exposures = self._self_exposures(refs, total, self._fiat(amts, self._out_time(outs)))
        none = {"traced": 0, "exposures": []}
        back = self._trace(outs, amts, False, None) if "incoming" in self.params.directions else none
        # Outgoing: tagged outputs are direct counterparties; the rest is traced on.
        addr = self._out_addr[outs]
        tagged = (addr != K.NONE32) & self._stop[np.minimum(addr, self.attr.n - 1)]
        fwd = self._trace(outs[~tagged], amts[~tagged], True, None, hop_base=1, direct_outs=outs[tagged],
                          total=total) if "outgoing" in self.params.directions else none
        exposures += back["exposures"] + fwd["exposures"]
        totals = {"output_sat": total, "incoming_traced_sat": back["traced"], "outgoing_traced_sat": total}
        conflicts = [c.describe() for cid, c in self.attr.conflicts_by_cluster().items()
                     if any(x.cluster == cid for ex in exposures for x in ex.tags)]
        risk = assess(txid, refs, exposures, self.params.hops, True, conflicts, self.policy)
        return ScreenResult(txid, "transaction", True, None, refs, exposures, totals, conflicts, risk,
                            dict(self._params))

    def _tx_tags(self, txid: str) -> list[Tag]:
        t = self.tags.tags
        if not t.num_rows:
            return []
        hit = pc.equal(pc.utf8_lower(t["tx_hash"]), txid)
        rows = np.flatnonzero(pc.fill_null(hit, False).to_numpy(zero_copy_only=False))
        return self.tags.tags_at(rows) if len(rows) else []

    # -- flows ---------------------------------------------------------------------
    def _trace(self, outs: np.ndarray, amts: np.ndarray, forward: bool, own_cluster: int | None, *,
               hop_base: int = 0, direct_outs: np.ndarray | None = None, total: int | None = None) -> dict:
        """Trace ``outs`` until tagged addresses; exposure per category with its best path.

        Runs the tracing engine's kernel on the engine's scratch arrays and reads
        only the tagged endpoints (a screen needs no full trace report), so a
        batch costs little more than the kernel itself.
        """
        e, p = self.engine, self.params
        stop = self._stop
        members = self._cluster_members(own_cluster) if own_cluster is not None else np.zeros(0, np.int64)
        saved = stop[members].copy()
        stop[members] = False          # the subject's own entity passes funds through, it is no counterparty
        ends: list[tuple[int, int, int, list[str], int]] = []   # (addr_num, amount, hops, path, time)
        try:
            if len(outs) and p.hops - hop_base > 0:
                with e.propagate(outs, amts, forward=forward, model=p.model, max_hops=p.hops - hop_base,
                                 min_amount_sat=p.min_amount_sat, stop=stop, policy=self._policy) as run:
                    ends += self._tagged_ends(run[0], hop_base, forward)
        finally:
            stop[members] = saved
        if direct_outs is not None:
            for o in direct_outs.tolist():
                t = self._tx_of_out(o)
                ends.append((int(self._out_addr[o]), int(self._out_value[o]), 1, [e.txid_hex(t)], int(e.tx_time[t])))
        traced = int(amts.sum()) if total is None else total
        return {"traced": traced, "exposures": self._exposures(ends, traced, forward)}

    def _tagged_ends(self, touched: np.ndarray, hop_base: int,
                     forward: bool = True) -> list[tuple[int, int, int, list[str], int]]:
        """Endpoints the trace stopped at because they are tagged: address, amount, hops; a path for the
        largest per category (read from the predecessor links before the scratch is cleared); the time the funds
        reached (forward) or left (backward) the tagged address, its fiat day."""
        e = self.engine
        st = e.status[touched]
        ad = self._out_addr[touched]
        end = (st == K.ENDPOINT) & (ad != K.NONE32)
        end[end] = self._stop[ad[end]]
        o = touched[end]
        if not len(o):
            return []
        amt = e.taint[o].astype(np.int64)
        hop = e.hops[o].astype(np.int64) + hop_base
        addr = ad[end].astype(np.int64)
        bits = self.attr.addr_bits[addr]
        best = set()
        for c in tx.categories_from_bits(int(np.bitwise_or.reduce(bits))):
            has = (bits & np.uint16(tx.BIT[c])) != 0
            best.add(int(np.flatnonzero(has)[np.argmax(amt[has])]))
        when = self._out_time(o, spent=not forward)
        return [(int(addr[k]), int(amt[k]), int(hop[k]), self._path(int(o[k])) if k in best else [], int(when[k]))
                for k in range(len(o))]

    def _tx_of_out(self, o: int) -> int:
        return int(self.engine.out_tx[o])

    def _path(self, o: int) -> list[str]:
        """Txids from the subject to output ``o`` along the trace's best-predecessor links."""
        e = self.engine
        txs: list[int] = []
        while o != int(K.NONE32) and len(txs) < 10_000:
            t = self._tx_of_out(o)
            if not txs or txs[-1] != t:
                txs.append(t)
            o = int(e.pred[o]) - 1 if e.pred[o] else int(K.NONE32)     # stored + 1 (0: a source)
        return [e.txid_hex(t) for t in reversed(txs)]

    def _exposures(self, ends, traced: int, forward: bool) -> list[Exposure]:
        """Group tagged endpoints by screening category (one endpoint may count for several)."""
        per: dict[str, list[tuple[int, int, int, list[str], int]]] = {}
        for a, amount, hops, path, when in ends:
            if amount <= 0:
                continue
            for c in tx.categories_from_bits(int(self.attr.addr_bits[a])):
                per.setdefault(c, []).append((a, amount, hops, path, when))
        out: list[Exposure] = []
        for c in tx.CATEGORIES:
            rows = per.get(c)
            if not rows:
                continue
            rows.sort(key=lambda r: (-r[1], r[2], not r[3]))
            total = sum(r[1] for r in rows)
            direct = sum(r[1] for r in rows if r[2] <= 1)
            refs: list[TagRef] = []
            for a in list(dict.fromkeys(r[0] for r in rows))[:_MAX_TAG_REFS]:
                refs += [self._ref(h) for h in self.attr.hits(a) if c in h.tag.risk_categories][:1]
            out.append(Exposure(c, "outgoing" if forward else "incoming", total, total / traced if traced else 0.0,
                                traced, direct, total - direct, min(r[2] for r in rows), max(r[2] for r in rows),
                                refs[0].address if refs else None, rows[0][3], refs,
                                self._fiat([r[1] for r in rows], [r[4] for r in rows])))
        return out



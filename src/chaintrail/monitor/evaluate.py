"""Every watch against a block's flows with array lookups: cost grows with the block, not with the watch count.

Watches are indexed by what they look at: address watches by address id, entity watches by entity root,
exposure watches by the receiving address id (each a boolean array for the vectorised test plus a dict from id
to watches for the few flows that hit), and category watches by their category bits. A block is tested with a
handful of numpy gathers; only the hits reach Python. Addresses the store has not seen yet wait in a dict by
spelling and are indexed when a block brings them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from chaintrail.i18n import _, ngettext
from chaintrail.monitor.entity_state import EntityState
from chaintrail.monitor.flows import NO, Flows
from chaintrail.tags import taxonomy as tx


@dataclass
class Hit:
    """A watch fired on one transaction: the aggregate of its matching flows per direction and asset."""

    watch: dict
    block: int                  # index into flows.numbers/hashes
    tx: int
    direction: str              # out | in
    addr: int                   # the watched side
    counterparty: int
    asset: int
    amount: int
    reason: str


class _Ids:
    """Address or entity id -> watch indexes, with a boolean array for the vector test."""

    def __init__(self) -> None:
        self.map: dict[int, list[int]] = defaultdict(list)
        self.mask = np.zeros(0, np.bool_)

    def add(self, i: int, w: int) -> None:
        self.map[i].append(w)
        if i >= len(self.mask):
            self.mask = np.concatenate([self.mask, np.zeros(max(i + 1, 2 * len(self.mask)) - len(self.mask),
                                                            np.bool_)])
        self.mask[i] = True

    def hit(self, ids: np.ndarray) -> np.ndarray:
        ok = (ids >= 0) & (ids < len(self.mask))
        out = np.zeros(len(ids), np.bool_)
        out[ok] = self.mask[ids[ok]]
        return out

    def move(self, old: int, new: int) -> None:
        got = self.map.pop(old, None)
        if got:
            for w in got:
                self.add(new, w)
            self.mask[old] = False


class WatchIndex:
    """The active watches of one chain, indexed for ``evaluate``."""

    def __init__(self, watches: list[dict], resolve, entities: EntityState):
        self.watches = watches
        self.addr, self.entity, self.exposure = _Ids(), _Ids(), _Ids()
        self.categories: list[tuple[int, int, int]] = []       # (watch, from bits, to bits)
        self.pending: dict[str, list[int]] = defaultdict(list)
        spellings: list[str] = []
        wanting: list[int] = []
        for w, watch in enumerate(watches):
            kind, target = watch["kind"], watch["target"]
            if kind == "category":
                to = watch["params"].get("to_category")
                self.categories.append((w, tx.BIT[target], tx.BIT[to] if to else 0))
            elif kind == "entity" and target.startswith("cluster:"):
                n = int(target.split(":", 1)[1])
                if n < len(entities):
                    self.entity.add(int(entities.find([n])[0]), w)
            else:
                if kind == "exposure":
                    entities.track(watch["params"]["category"])
                spellings.append(target)
                wanting.append(w)
        for w, i in zip(wanting, resolve(spellings)):
            self._place(w, i, entities) if i >= 0 else self.pending[watches[w]["target"]].append(w)

    def _place(self, w: int, i: int, entities: EntityState) -> None:
        kind = self.watches[w]["kind"]
        if kind == "address":
            self.addr.add(i, w)
        elif kind == "exposure":
            self.exposure.add(i, w)
        else:
            self.entity.add(int(entities.find([i])[0]), w)

    def new_addresses(self, first: int, names: list[str | None], entities: EntityState) -> None:
        """Addresses ``first``.. arrived: index the watches that were waiting for them."""
        if not self.pending:
            return
        for k, name in enumerate(names):
            if name is not None and name in self.pending:
                for w in self.pending.pop(name):
                    self._place(w, first + k, entities)

    def merged(self, merges: list[tuple[int, int]]) -> None:
        for old, new in merges:
            self.entity.move(old, new)

    def evaluate(self, flows: Flows, entities: EntityState) -> list[Hit]:
        """The watches this run of blocks fires, one hit per (watch, tx, direction, asset)."""
        if len(flows) == 0 or not self.watches:
            return []
        rs, rd = entities.find(flows.src), entities.find(flows.dst)
        cs, cd = flows.count_src, flows.count_dst
        found: dict[tuple[int, int, str, int], Hit] = {}

        def take(mask: np.ndarray, watches_of, direction: str, reason) -> None:
            for f in np.flatnonzero(mask).tolist():
                mine, other = (flows.src[f], flows.dst[f]) if direction == "out" else (flows.dst[f], flows.src[f])
                for w in watches_of(f):
                    key = (w, int(flows.tx[f]), direction, int(flows.asset[f]))
                    h = found.get(key)
                    if h is None:
                        found[key] = Hit(self.watches[w], int(flows.block[f]), int(flows.tx[f]), direction,
                                         int(mine), int(other), int(flows.asset[f]), flows.amount(f), reason(w, f))
                    else:
                        h.amount += flows.amount(f)
                        if h.counterparty == NO:
                            h.counterparty = int(other)

        if self.addr.map:
            take(cs & self.addr.hit(flows.src), lambda f: self.addr.map[int(flows.src[f])], "out",
                 lambda w, f: _("the watched address paid"))
            take(cd & self.addr.hit(flows.dst), lambda f: self.addr.map[int(flows.dst[f])], "in",
                 lambda w, f: _("the watched address received"))
        if self.entity.map:
            take(cs & self.entity.hit(rs), lambda f: self.entity.map[int(rs[f])], "out",
                 lambda w, f: _("the watched entity (cluster:{n}) paid").format(n=int(rs[f])))
            take(cd & (rs != rd) & self.entity.hit(rd), lambda f: self.entity.map[int(rd[f])], "in",
                 lambda w, f: _("the watched entity (cluster:{n}) received").format(n=int(rd[f])))
        if self.categories:
            b_src = np.where(rs >= 0, entities.bits[np.maximum(rs, 0)], 0)
            b_dst = np.where(rd >= 0, entities.bits[np.maximum(rd, 0)], 0)
            for w, fb, tb in self.categories:
                m = cd & (rs >= 0) & (rs != rd) & ((b_src & fb) != 0)
                if tb:
                    m &= (b_dst & tb) != 0
                p = self.watches[w]["params"]
                why = (_("an entity tagged {category} paid an entity tagged {to}").format(
                    category=self.watches[w]["target"], to=p["to_category"]) if tb else
                       _("an entity tagged {category} paid").format(category=self.watches[w]["target"]))
                take(m, lambda f, w=w: [w], "out", lambda _w, f, why=why: why)
        if self.exposure.map:
            cand = np.flatnonzero(cd & self.exposure.hit(flows.dst) & (rs >= 0))
            keep = np.zeros(len(flows), np.bool_)
            for f in cand.tolist():
                keep[f] = any(self._exposed(w, int(rs[f]), entities) for w in self.exposure.map[int(flows.dst[f])])
            take(keep, lambda f: [w for w in self.exposure.map[int(flows.dst[f])]
                                  if self._exposed(w, int(rs[f]), entities)], "in",
                 lambda w, f: self._exposure_reason(w, int(rs[f]), entities))
        return [h for h in found.values() if self._passes(h)]

    def _exposed(self, w: int, root: int, entities: EntityState) -> bool:
        p = self.watches[w]["params"]
        return int(entities.hops[p["category"]][root]) <= int(p["max_hops"])

    def _exposure_reason(self, w: int, root: int, entities: EntityState) -> str:
        p = self.watches[w]["params"]
        h = int(entities.hops[p["category"]][root])
        cat = tx.TITLE.get(p["category"], p["category"])
        if h == 0:
            return _("received from an entity tagged {category}").format(category=cat)
        return ngettext("received from an entity {n} payment away from one tagged {category}",
                        "received from an entity {n} payments away from one tagged {category}", h).format(
            n=h, category=cat)

    @staticmethod
    def _passes(h: Hit) -> bool:
        p = h.watch["params"]
        d = p.get("direction", "any")
        if h.watch["kind"] in ("address", "entity") and d != "any" and d != h.direction:
            return False
        return h.amount >= int(p.get("min_amount", "0"))

"""Tags on a chain store's addresses and clusters: propagation, conflicts, and trace stop masks.

A tag always describes its own address. A tag with ``is_cluster_definer``
also names the entity that controls the address, so it extends to every
address of that address's cluster. Tags without it (a deposit address, a
ransom note's address) stay where they are.

When one cluster holds definer tags naming different entities (two
exchanges, say), the cluster is in conflict: the tags still apply, but every
answer that rests on them says so and lists them. Nothing is merged or
dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.analysis.clustering import cluster_labels
from chaintrail.store.chainstore import ChainStore
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.model import Tag
from chaintrail.tags.tagstore import TagStore


@dataclass
class TagHit:
    """One tag that applies to an address, and how it got there."""

    row: int
    tag: Tag
    via: str                   # "address" (its own tag) or "cluster" (a definer tag on another member)
    via_address: str | None    # the address that carries the tag
    cluster: int | None
    conflict: bool = False


@dataclass
class Conflict:
    """A cluster whose definer tags name more than one entity."""

    cluster: int
    entities: list[str]
    tags: list[Tag]

    def describe(self) -> str:
        parts = [f"{t.label!r} [{t.kind}] on {t.address} ({t.provenance})" for t in self.tags]
        return f"cluster {self.cluster} has conflicting attributions: " + " vs ".join(parts)


def entity_key(tag_label: str | None, actor: str | None) -> str:
    """Who a definer tag names: its actor, else its label without punctuation or a .com/.io ending."""
    if actor:
        return actor.lower()
    s = re.sub(r"\.(com|io|net|org|co|info)$", "", (tag_label or "").strip().lower())
    return re.sub(r"[^a-z0-9]+", "", s)


class Attribution:
    """The tag store laid over one chain store: per-address category bits, cluster tags, conflicts.

    Callable as a trace's ``stop_addr_for``: ``attribution(categories)`` is a
    boolean mask over ``addr_num``; ``tags_of(addr_num)`` names the tags.
    Categories may be screening categories (``mixer``, ``darknet market``) or
    GraphSense concepts (``exchange``, ``mixing_service``).
    """

    def __init__(self, tags: TagStore, store: ChainStore, labels: np.ndarray | None = None):
        self.tagstore = tags
        self.index = idx = tags.index
        self.labels = cluster_labels(store) if labels is None else labels
        n = self.n = len(self.labels)
        table = store.read_table("addresses", ["addr_num", "address"])
        nums = table["addr_num"].to_numpy()
        slots = idx.slots(table["address"]) if n else np.zeros(0, np.int64)
        self.addr_slot = np.full(n, -1, np.int64)
        ok = nums < n
        self.addr_slot[nums[ok]] = slots[ok]
        # Slot -> addr_num of the store address carrying it (-1: not in the store).
        self.slot_addr = np.full(idx.n_addr, -1, np.int64)
        has = self.addr_slot >= 0
        self.slot_addr[self.addr_slot[has]] = np.flatnonzero(has)
        # Tag rows that sit on a store address, and the definers among them.
        row_addr = np.where(idx.row_addr >= 0, self.slot_addr[np.maximum(idx.row_addr, 0)], -1)
        self.row_addr_num = row_addr
        on_chain = row_addr >= 0
        definer = on_chain & idx.row_definer
        self.definer_rows = np.flatnonzero(definer)
        self.definer_cluster = self.labels[row_addr[self.definer_rows]] if len(self.definer_rows) else \
            np.zeros(0, np.int64)
        order = np.argsort(self.definer_cluster, kind="stable")
        self.definer_rows, self.definer_cluster = self.definer_rows[order], self.definer_cluster[order]
        self.direct_bits = np.zeros(n, np.uint16)
        self.direct_bits[has] = idx.addr_bits[self.addr_slot[has]]
        self.cluster_bits = np.zeros(n, np.uint16)
        if len(self.definer_rows):
            np.bitwise_or.at(self.cluster_bits, self.definer_cluster, idx.row_bits[self.definer_rows])
        self.addr_bits = self.direct_bits | (self.cluster_bits[self.labels] if n else self.cluster_bits)
        self._masks: dict[frozenset, np.ndarray] = {}
        self._hits: dict[int, list[TagHit]] = {}
        self._conflicts: dict[int, Conflict] | None = None

    @classmethod
    def open(cls, store: ChainStore, labels: np.ndarray | None = None) -> "Attribution | None":
        """The attribution for a store's own tag store, or None when no tags were imported."""
        ts = TagStore(store.path)
        return cls(ts, store, labels) if len(ts) else None

    # -- stop masks ----------------------------------------------------------------
    def __call__(self, categories) -> np.ndarray:
        key = frozenset(categories)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._mask(key)
            self._masks[key] = mask
        return mask

    def _mask(self, names: frozenset) -> np.ndarray:
        cats, concepts = tx.concepts_matching(names)
        mask = (self.addr_bits & np.uint16(tx.bits_of(cats))) != 0
        if concepts:
            t = self.tagstore.tags
            value_set = pa.array(sorted(concepts), pa.string())
            hit = pc.or_(pc.fill_null(pc.is_in(t["category"], value_set=value_set), False),
                         pc.fill_null(pc.is_in(t["abuse"], value_set=value_set), False))
            flat = pc.list_flatten(t["concepts"])
            if len(flat):
                par = pc.list_parent_indices(t["concepts"]).to_numpy()
                inner = pc.is_in(flat, value_set=value_set).to_numpy(zero_copy_only=False)
                extra = np.zeros(t.num_rows, np.bool_)
                extra[par[inner]] = True
                hit = pc.or_(hit, pa.array(extra))
            rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False) & (self.row_addr_num >= 0))
            mask[self.row_addr_num[rows]] = True
            drows = rows[self.index.row_definer[rows]]
            if len(drows):
                clusters = np.zeros(self.n, np.bool_)
                clusters[self.labels[self.row_addr_num[drows]]] = True
                mask |= clusters[self.labels]
        return mask

    # -- naming --------------------------------------------------------------------
    def hits(self, addr: int) -> list[TagHit]:
        """Every tag that applies to ``addr_num``: its own, then its cluster's definer tags (cached)."""
        got = self._hits.get(addr)
        if got is None:
            got = self._hits[addr] = self._hits_of(addr)
        return list(got)

    def _hits_of(self, addr: int) -> list[TagHit]:
        out: list[TagHit] = []
        cluster = int(self.labels[addr])
        conflict = cluster in self.conflicts_by_cluster()
        seen: set[int] = set()
        s = int(self.addr_slot[addr])
        if s >= 0:
            rows = self.index.rows_of_slot(s)
            for r, t in zip(rows.tolist(), self.tagstore.tags_at(rows)):
                seen.add(r)
                out.append(TagHit(r, t, "address", t.address, cluster, conflict and t.is_cluster_definer))
        lo, hi = np.searchsorted(self.definer_cluster, [cluster, cluster + 1])
        rows = [r for r in self.definer_rows[lo:hi].tolist() if r not in seen]
        for r, t in zip(rows, self.tagstore.tags_at(rows) if rows else []):
            out.append(TagHit(r, t, "cluster", t.address, cluster, conflict))
        rank = {c: i for i, c in enumerate(tx.CATEGORIES)}
        out.sort(key=lambda h: (min((rank[c] for c in h.tag.risk_categories), default=99), h.via != "address"))
        return out

    def tags_of(self, addr: int) -> list[str]:
        """Short names for a trace endpoint: 'exchange:Binance', 'ransomware:Locky' (most severe first)."""
        if not (self.addr_bits[addr] or self.addr_slot[addr] >= 0):
            return []
        names: list[str] = []
        for h in self.hits(addr):
            kind = h.tag.risk_categories[0] if h.tag.risk_categories else h.tag.kind
            name = f"{kind}:{h.tag.label or h.tag.actor or '?'}"
            if name not in names:
                names.append(name)
        return names

    # -- conflicts -----------------------------------------------------------------
    def conflicts_by_cluster(self) -> dict[int, Conflict]:
        if self._conflicts is None:
            self._conflicts = self._find_conflicts()
        return self._conflicts

    def conflicts(self) -> list[Conflict]:
        return [self.conflicts_by_cluster()[c] for c in sorted(self.conflicts_by_cluster())]

    def _find_conflicts(self) -> dict[int, Conflict]:
        if not len(self.definer_rows):
            return {}
        t = self.tagstore.tags
        rows = pa.array(self.definer_rows, pa.int64())
        labels = t["label"].take(rows).to_pylist()
        actors = t["actor"].take(rows).to_pylist()
        keys = [entity_key(lb, ac) for lb, ac in zip(labels, actors)]
        out: dict[int, Conflict] = {}
        bounds = np.flatnonzero(np.diff(self.definer_cluster)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(keys)]):
            ents = sorted(set(keys[lo:hi]))
            if len(ents) > 1:
                cid = int(self.definer_cluster[lo])
                out[cid] = Conflict(cid, ents, self.tagstore.tags_at(self.definer_rows[lo:hi]))
        return out

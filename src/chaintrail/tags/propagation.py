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
from chaintrail.errors import StoreError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.model_addresses import ModelAddresses
from chaintrail.store.readmodel import open_read_model
from chaintrail.store.sorted_search import searchsorted
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.model import Tag
from chaintrail.tags.tagmodel import open_tags
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


class _Sparse:
    """A per-key array that is ``fill`` except at a few sorted keys: ``x[i]`` for an int or an int array."""

    def __init__(self, keys: np.ndarray, values: np.ndarray, n: int, fill):
        self.keys, self.values, self.n = keys, values, n
        self.fill = values.dtype.type(fill)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):     # one address (a lookup): no arrays made
            i, keys = int(i), self.keys
            j = searchsorted(keys, i)
            return self.values[j] if j < len(keys) and int(keys[j]) == i else self.fill
        a = np.asarray(i, np.int64)
        flat = a.reshape(-1)
        out = np.full(flat.shape, self.fill, self.values.dtype)
        if len(self.keys) and len(flat):
            j = np.minimum(np.searchsorted(self.keys, flat), len(self.keys) - 1)
            hit = self.keys[j] == flat
            out[hit] = self.values[j[hit]]
        return out.reshape(a.shape)[()]


class _AddrBits:
    """Category bits per addr_num: its own tags' bits | its cluster's definer tags' bits (sparse, no O(chain))."""

    def __init__(self, attr: "Attribution"):
        self._at = attr

    def __len__(self) -> int:
        return self._at.n

    def __getitem__(self, i):
        at = self._at
        if isinstance(i, (int, np.integer)):
            i = int(i)
            return at.direct_bits[i] | at.cluster_bits[int(at.labels[i])]
        a = np.asarray(i, np.int64)
        flat = a.reshape(-1)
        labels = np.asarray(at.labels[flat], np.int64) if len(flat) else np.zeros(0, np.int64)
        out = at.direct_bits[flat] | at.cluster_bits[labels]
        return out.reshape(a.shape)[()]


class Attribution:
    """The tag store laid over one chain store: per-address category bits, cluster tags, conflicts.

    Callable as a trace's ``stop_addr_for``: ``attribution(categories)`` is a
    boolean mask over ``addr_num``; ``tags_of(addr_num)`` names the tags.
    Categories may be screening categories (``mixer``, ``darknet market``) or
    GraphSense concepts (``exchange``, ``mixing_service``).

    Opening one is O(tags): only the tagged addresses are looked up in the store (``addr_nums``, e.g. the
    read model's vectorised search) and per-address answers (``addr_slot``, ``direct_bits``, ``addr_bits``,
    ``cluster_bits``) are searches over those few sorted keys. Only a stop mask is dense (O(addresses)),
    built when a trace first asks for it. Without ``addr_nums`` the store's addresses table is read once.
    """

    def __init__(self, tags: TagStore, store: ChainStore, labels: np.ndarray | None = None, addr_nums=None,
                 slot_addr: np.ndarray | None = None):
        self.tagstore = tags
        self.index = idx = tags.index
        self.labels = cluster_labels(store) if labels is None else labels
        n = self.n = len(self.labels)
        # Slot -> addr_num of the store address carrying it (-1: not in the store); ``slot_addr``: as found
        # before for the same tags and addresses (the workbench keeps it beside its read model).
        self.slot_addr = _slot_addr(idx, store, n, addr_nums) if slot_addr is None else slot_addr
        has = self.slot_addr >= 0
        by_addr = np.argsort(self.slot_addr[has], kind="stable")
        self.tag_addr = self.slot_addr[has][by_addr]            # tagged addr_nums, sorted
        tag_slot = np.flatnonzero(has)[by_addr].astype(np.int64)
        self.addr_slot = _Sparse(self.tag_addr, tag_slot, n, -1)
        self.direct_bits = _Sparse(self.tag_addr, idx.addr_bits[tag_slot].astype(np.uint16), n, 0)
        # Tag rows that sit on a store address, and the definers among them.
        row_addr = np.where(idx.row_addr >= 0, self.slot_addr[np.maximum(idx.row_addr, 0)], -1) \
            if len(self.slot_addr) else np.full(len(idx.row_addr), -1, np.int64)
        self.row_addr_num = row_addr
        on_chain = row_addr >= 0
        definer = on_chain & idx.row_definer
        self.definer_rows = np.flatnonzero(definer)
        self.definer_cluster = np.asarray(self.labels[row_addr[self.definer_rows]], np.int64) \
            if len(self.definer_rows) else np.zeros(0, np.int64)
        order = np.argsort(self.definer_cluster, kind="stable")
        self.definer_rows, self.definer_cluster = self.definer_rows[order], self.definer_cluster[order]
        clusters, first = np.unique(self.definer_cluster, return_index=True)
        bits = np.bitwise_or.reduceat(idx.row_bits[self.definer_rows], first).astype(np.uint16) if len(first) \
            else np.zeros(0, np.uint16)
        self.cluster_bits = _Sparse(clusters.astype(np.int64), bits, n, 0)
        self.addr_bits = _AddrBits(self)
        self._masks: dict[frozenset, np.ndarray] = {}
        self._hits: dict[int, list[TagHit]] = {}
        self._conflicts: dict[int, Conflict] | None = None
        self._conflict_memo: dict[int, Conflict | None] = {}
        self._names_memo: dict[int, list[tuple[int, str]]] = {}

    @classmethod
    def open(cls, store: ChainStore, labels: np.ndarray | None = None, addr_nums=None) -> "Attribution | None":
        """The attribution for a store's own tag store, or None when no tags were imported. Where the store
        has a current read model, the tags and each tagged address's addr_num are mapped from beside it
        (``tags.tagmodel``; built there first if this state of the tags has none) instead of matching the
        tags against every address of the chain (25 s and gigabytes on a 10M-tx chain)."""
        ts = TagStore(store.path)
        if not len(ts):
            return None
        addr_nums = addr_nums if addr_nums is not None else _read_model_addr_nums(store)
        slot_addr = None
        if addr_nums is not None:
            labels = cluster_labels(store) if labels is None else labels
            ts, slot_addr = open_tags(store, len(labels), addr_nums)
        return cls(ts, store, labels, addr_nums, slot_addr)

    # -- stop masks ----------------------------------------------------------------
    def __call__(self, categories) -> np.ndarray:
        key = frozenset(categories)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._mask(key)
            self._masks[key] = mask
        return mask

    def _mask(self, names: frozenset) -> np.ndarray:
        """Dense mask over addr_num (O(addresses)): the one O(chain) thing here, asked for by a trace."""
        cats, concepts = tx.concepts_matching(names)
        want = np.uint16(tx.bits_of(cats))
        mask = np.zeros(self.n, np.bool_)
        mask[self.tag_addr[(self.direct_bits.values & want) != 0]] = True
        clusters = [self.cluster_bits.keys[(self.cluster_bits.values & want) != 0]]
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
                clusters.append(np.asarray(self.labels[self.row_addr_num[drows]], np.int64))
        wanted = np.unique(np.concatenate(clusters))
        if len(wanted):
            # Cluster ids are addr_nums (a cluster's smallest address): a flag per id and one gather, where
            # np.isin sorted the 15M labels of a 10M-tx chain (1.5 s per mask).
            flag = np.zeros(self.n, np.bool_)
            flag[wanted[wanted < self.n]] = True
            mask |= flag[np.asarray(self.labels)]
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
        conflict = self.conflict_of(cluster) is not None
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
        out.sort(key=lambda h: (_rank(h.tag), h.via != "address"))
        return out

    def named(self, addrs: np.ndarray) -> np.ndarray:
        """For each addr_num of ``addrs`` (-1: none), does ``tags_of`` name it (its own tag, or its cluster's
        definer tags)? Vectorised: a trace asks it for all its endpoints at once."""
        a = np.asarray(addrs, np.int64)
        ok = a >= 0
        out = np.zeros(len(a), np.bool_)
        if ok.any():
            b = a[ok]
            out[ok] = (self.addr_bits[b] != 0) | (self.addr_slot[b] >= 0)
        return out

    def tags_of(self, addr: int) -> list[str]:
        """Short names for a trace endpoint: 'exchange:Binance', 'ransomware:Locky' (most severe first),
        in the order of ``hits``. A cluster's part is worked out once per cluster: a trace into an exchange
        ends at many of its deposit addresses, each sharing the cluster's thousands of definer tags."""
        if not (int(self.addr_bits[addr]) or int(self.addr_slot[addr]) >= 0):
            return []
        s = int(self.addr_slot[addr])
        own = [(_rank(t), 0, _short_name(t)) for t in self.tagstore.tags_at(self.index.rows_of_slot(s))] \
            if s >= 0 else []
        # hits() leaves out cluster rows that are the address's own; each such row is in ``own`` with the
        # same rank and name and sorts first, so keeping it here names nothing new.
        items = sorted(own + [(rk, 1, nm) for rk, nm in self._cluster_names(int(self.labels[addr]))],
                       key=lambda x: (x[0], x[1]))
        return list(dict.fromkeys(nm for _, _, nm in items))

    def _cluster_names(self, cluster: int) -> list[tuple[int, str]]:
        """(rank, short name) of the cluster's definer tags, sorted by rank (stable), first of each name."""
        got = self._names_memo.get(cluster)
        if got is None:
            if len(self._names_memo) > 100_000:
                self._names_memo.clear()
            lo, hi = np.searchsorted(self.definer_cluster, [cluster, cluster + 1])
            rows = self.definer_rows[lo:hi]
            ranked = sorted(((_rank(t), _short_name(t)) for t in self.tagstore.tags_at(rows)) if len(rows) else [],
                            key=lambda x: x[0])
            first: dict[str, int] = {}
            for rk, nm in ranked:
                first.setdefault(nm, rk)
            got = self._names_memo[cluster] = [(rk, nm) for nm, rk in first.items()]
        return got

    # -- conflicts -----------------------------------------------------------------
    def conflicts_by_cluster(self) -> dict[int, Conflict]:
        if self._conflicts is None:
            self._conflicts = self._find_conflicts()
        return self._conflicts

    def conflict_of(self, cluster: int) -> Conflict | None:
        """The conflict of ``cluster`` (its definer tags name more than one entity), or None. Reads that
        cluster's rows only: naming a trace's endpoints or one address must not wait for every cluster's
        conflicts (1.2 s for 1.3M tags)."""
        if self._conflicts is not None:
            return self._conflicts.get(cluster)
        if cluster not in self._conflict_memo:
            lo, hi = np.searchsorted(self.definer_cluster, [cluster, cluster + 1])
            rows = self.definer_rows[lo:hi]
            ents = sorted(set(self._entity_keys(rows)))
            self._conflict_memo[cluster] = Conflict(cluster, ents, self.tagstore.tags_at(rows)) \
                if len(ents) > 1 else None
        return self._conflict_memo[cluster]

    def _entity_keys(self, rows: np.ndarray) -> list[str]:
        t = self.tagstore.tags
        rows = pa.array(rows, pa.int64())
        return [entity_key(lb, ac) for lb, ac in zip(t["label"].take(rows).to_pylist(), t["actor"].take(rows).to_pylist())]

    def conflicts(self) -> list[Conflict]:
        return [self.conflicts_by_cluster()[c] for c in sorted(self.conflicts_by_cluster())]

    def _find_conflicts(self) -> dict[int, Conflict]:
        if not len(self.definer_rows):
            return {}
        keys = self._entity_keys(self.definer_rows)
        out: dict[int, Conflict] = {}
        bounds = np.flatnonzero(np.diff(self.definer_cluster)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(keys)]):
            ents = sorted(set(keys[lo:hi]))
            if len(ents) > 1:
                cid = int(self.definer_cluster[lo])
                out[cid] = Conflict(cid, ents, self.tagstore.tags_at(self.definer_rows[lo:hi]))
        return out


_RANK = {c: i for i, c in enumerate(tx.CATEGORIES)}


def _rank(t: Tag) -> int:
    """How severe a tag's first-ranked category is (0: most; 99: none), as ``hits`` sorts them."""
    return min((_RANK[c] for c in t.risk_categories), default=99)


def _short_name(t: Tag) -> str:
    kind = t.risk_categories[0] if t.risk_categories else t.kind
    return f"{kind}:{t.label or t.actor or '?'}"


def _read_model_addr_nums(store: ChainStore):
    """The read model's vectorised address search (``ModelAddresses.nums``) for the store's current state,
    or None where it has none (never built, or stale after an ingest)."""
    try:
        model = open_read_model(store, build_if_missing=False)
    except (StoreError, OSError, ValueError):
        return None
    counts = model.meta.get("counts", {})
    return ModelAddresses(model).nums if counts == {k: store.counts[k] for k in counts} else None


def _slot_addr(idx, store: ChainStore, n: int, addr_nums) -> np.ndarray:
    """addr_num of each distinct tagged address (-1: not among the first ``n`` store addresses)."""
    out = np.full(idx.n_addr, -1, np.int64)
    if not n or not idx.n_addr:
        return out
    if addr_nums is not None:
        got = np.asarray(addr_nums(idx.addresses.to_pylist()), np.int64)
        out[:] = np.where((got >= 0) & (got < n), got, -1)
        return out
    table = store.read_table("addresses", ["addr_num", "address"])
    nums = table["addr_num"].to_numpy()
    slots = idx.slots(table["address"])
    ok = (slots >= 0) & (nums < n)
    out[slots[ok]] = nums[ok]
    return out

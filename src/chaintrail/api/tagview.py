"""Tags as the API shows them: per-address risk and labels, entity names, label search.

A thin layer over ``tags.propagation.Attribution`` (the tag store laid over
the store's clusters): the API never reads tag files itself, so what the
workbench shows is what ``chaintrail tags`` imported and what a trace stops at.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.tags.tagmodel import open_tags
from chaintrail.store.chainstore import ChainStore
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.propagation import Attribution
from chaintrail.tags.tagstore import TagStore


def tag_dict(t, via: str = "address", conflict: bool = False) -> dict:
    """One tag with its provenance, as the API returns it."""
    return {"address": t.address, "label": t.label, "kind": t.kind, "category": t.category, "abuse": t.abuse,
            "risk_categories": list(t.risk_categories), "actor": t.actor, "source": t.source,
            "confidence": t.confidence, "confidence_level": t.confidence_level,
            "is_cluster_definer": bool(t.is_cluster_definer), "provenance": t.provenance, "via": via,
            "conflict": conflict}


class TagView:
    """Read-only tag lookups for one store; rebuilt whole when tags change."""

    def __init__(self, store: ChainStore, labels: np.ndarray, addr_nums=None):
        self.store = store
        # The tags table, its index and each tagged address's addr_num, mapped from beside the read model
        # (``tags.tagmodel``: built there once per state of the tags); without ``addr_nums``, in memory.
        self.tagstore, slot_addr = open_tags(store, len(labels), addr_nums) if addr_nums is not None \
            else (TagStore(store.path), None)
        self.attribution: Attribution | None = Attribution(self.tagstore, store, labels, addr_nums, slot_addr) \
            if len(self.tagstore) else None
        self.n_tags = self.tagstore.tags.num_rows
        self._labels: tuple[pa.Array, np.ndarray] | None = None        # label search's encoding, on first use

    # -- per address -----------------------------------------------------------------
    def bits(self, a: int) -> int:
        at = self.attribution
        return int(at.addr_bits[a]) if at is not None and 0 <= a < at.n else 0

    def risk(self, a: int) -> list[str]:
        return tx.categories_from_bits(self.bits(a))

    def names(self, a: int) -> list[str]:
        """Short tag names ('exchange:Binance'), most severe first."""
        at = self.attribution
        return at.tags_of(a) if at is not None and 0 <= a < at.n else []

    def hits(self, a: int, limit: int = 50) -> list[dict]:
        """Tags that apply to an address, as ``Attribution.hits`` orders them, at most ``limit``.

        An address of a big exchange carries its cluster's definer tags, possibly
        thousands: only the first ``limit`` rows are ever read (``count_hits`` counts all).
        """
        at = self.attribution
        if at is None or not 0 <= a < at.n:
            return []
        cluster = int(at.labels[a])
        conflict = at.conflict_of(cluster) is not None
        s = int(at.addr_slot[a])
        own = at.index.rows_of_slot(s)[:limit].tolist() if s >= 0 else []
        lo, hi = np.searchsorted(at.definer_cluster, [cluster, cluster + 1])
        seen = set(own)
        more = [r for r in at.definer_rows[lo:min(hi, lo + limit + len(own))].tolist() if r not in seen]
        rows = own + more[: max(0, limit - len(own))]
        tags = at.tagstore.tags_at(rows) if rows else []
        out = [tag_dict(t, "address", conflict and t.is_cluster_definer) if i < len(own) else tag_dict(t, "cluster", conflict)
               for i, t in enumerate(tags)]
        rank = {c: i for i, c in enumerate(tx.CATEGORIES)}
        out.sort(key=lambda d: (min((rank[c] for c in d["risk_categories"]), default=99), d["via"] != "address"))
        return out

    def count_hits(self, a: int) -> int:
        at = self.attribution
        if at is None or not 0 <= a < at.n:
            return 0
        s = int(at.addr_slot[a])
        own = at.index.rows_of_slot(s) if s >= 0 else np.zeros(0, np.int64)
        cluster = int(at.labels[a])
        lo, hi = np.searchsorted(at.definer_cluster, [cluster, cluster + 1])
        return int(len(own) + (hi - lo) - np.isin(at.definer_rows[lo:hi], own).sum())

    def is_tagged(self, a: int) -> bool:
        at = self.attribution
        return at is not None and 0 <= a < at.n and (int(at.addr_bits[a]) != 0 or int(at.addr_slot[a]) >= 0)

    def label(self, a: int) -> str | None:
        """The most telling tag label of an address (its own or its entity's), if any."""
        if not self.is_tagged(a):
            return None
        hits = self.hits(a, limit=8)
        return hits[0]["label"] if hits else None

    # -- per entity ------------------------------------------------------------------
    def cluster_bits(self, cid: int, members: np.ndarray) -> int:
        at = self.attribution
        if at is None or not len(members):
            return 0
        direct = np.bitwise_or.reduce(at.direct_bits[members]) if len(members) else 0
        return int(at.cluster_bits[cid]) | int(direct)

    def tagged_members(self, members: np.ndarray) -> int:
        at = self.attribution
        if at is None or not len(members):
            return 0
        return int(((at.addr_slot[members] >= 0) | (at.direct_bits[members] != 0)).sum())

    def cluster_tags(self, cid: int, members: np.ndarray, limit: int = 20) -> list[dict]:
        """Definer tags naming the entity, then tags on its members (first ``limit``)."""
        at = self.attribution
        if at is None or not len(members):
            return []
        out: list[dict] = []
        conflict = at.conflict_of(cid) is not None
        lo, hi = np.searchsorted(at.definer_cluster, [cid, cid + 1])
        rows = at.definer_rows[lo:hi][:limit].tolist()
        seen = set(rows)
        for t in at.tagstore.tags_at(rows) if rows else []:
            out.append(tag_dict(t, "cluster", conflict))
        tagged = members[at.addr_slot[members] >= 0]
        for a in tagged[: max(0, limit - len(out))].tolist():
            for r in at.index.rows_of_slot(int(at.addr_slot[a])).tolist():
                if r not in seen and len(out) < limit:
                    seen.add(r)
                    out.append(tag_dict(at.tagstore.tags_at([r])[0], "address"))
        return out

    def cluster_name(self, cid: int, members: np.ndarray) -> str | None:
        tags = self.cluster_tags(cid, members, limit=1)
        return tags[0]["label"] if tags else None

    # -- search ----------------------------------------------------------------------
    def search_labels(self, text: str, limit: int) -> list[dict]:
        """Tags whose label contains ``text`` (case-insensitive), one per distinct (label, address)."""
        if not self.n_tags or not text:
            return []
        if self._labels is None:
            enc = pc.dictionary_encode(pc.fill_null(self.tagstore.tags["label"], "").combine_chunks())
            self._labels = enc.dictionary, enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        label_dict, label_codes = self._labels
        hit = pc.match_substring(label_dict, text, ignore_case=True).to_numpy(zero_copy_only=False)
        codes = np.flatnonzero(hit)
        if not len(codes):
            return []
        rows = np.flatnonzero(np.isin(label_codes, codes))[: limit * 4]
        out, seen = [], set()
        for t in self.tagstore.tags_at(rows.tolist()):
            key = (t.label, t.address)
            if key in seen:
                continue
            seen.add(key)
            out.append(tag_dict(t))
            if len(out) >= limit:
                break
        return out

    def sources(self) -> list[dict]:
        """Imported tag files with their kind, SHA-256 and tag count."""
        return self.tagstore.sources.to_pylist()

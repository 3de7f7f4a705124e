"""Entities as a monitor keeps them between blocks: union-find roots, tag categories and exposure per entity.

Seeded from the store's clustering (``clusters`` / ``eth_clusters``: every address labelled with its entity's
smallest address id, a valid union-find parent array), then grown block by block: new addresses start alone,
and a Bitcoin transaction spending from several addresses joins them (the multi-input heuristic). Merging two
entities merges their category bits and keeps the closer exposure, and reports the merge so watches on either
entity follow the joined one.

Exposure: for each category a watch asks about, the number of payments between the entity and the nearest
entity tagged with it (0: tagged itself; 255: none known), relaxed over every flow in chain order.
"""

from __future__ import annotations

import numba
import numpy as np

from chaintrail.monitor.flows import Flows
from chaintrail.tags import taxonomy as tx

FAR = np.uint8(255)


@numba.njit(cache=True)
def _find_all(parent, ids, out):
    for k in range(len(ids)):
        x = ids[k]
        if x < 0:
            out[k] = -1
            continue
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        out[k] = x


@numba.njit(cache=True)
def _relax(parent, src, dst, hops):
    """One pass in flow order: a payee's entity is at most one payment further than its payer's."""
    for k in range(len(src)):
        s, d = src[k], dst[k]
        if s < 0 or d < 0:
            continue
        while parent[s] != s:
            s = parent[s]
        while parent[d] != d:
            d = parent[d]
        h = hops[s]
        if h < 254 and h + 1 < hops[d]:
            hops[d] = h + 1


class EntityState:
    """Entity roots and what is known of each, for ``n`` addresses (grows with ``grow``)."""

    def __init__(self, labels: np.ndarray, addr_bits: np.ndarray, categories: set[str]):
        self.parent = np.asarray(labels, np.int64).copy()
        self.bits = np.zeros(len(self.parent), np.uint16)            # per root: OR of its members' tags
        roots = self.find(np.arange(len(self.parent)))
        np.bitwise_or.at(self.bits, roots, np.asarray(addr_bits, np.uint16))
        self.hops: dict[str, np.ndarray] = {}
        for c in categories:
            self.track(c)

    def __len__(self) -> int:
        return len(self.parent)

    def find(self, ids) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        out = np.empty(len(ids), np.int64)
        _find_all(self.parent, ids, out)
        return out

    def track(self, category: str) -> None:
        """Start keeping exposure to ``category`` (tagged entities at 0; the history is relaxed by ``replay``)."""
        if category not in self.hops:
            h = np.full(len(self.parent), FAR, np.uint8)
            h[(self.bits & tx.BIT[category]) != 0] = 0
            self.hops[category] = h

    def replay(self, flows: Flows) -> None:
        """Relax every tracked exposure over ``flows`` (the store's history, at start)."""
        for h in self.hops.values():
            _relax(self.parent, flows.src, flows.dst, h)

    def grow(self, n: int, new_bits: np.ndarray | None = None) -> None:
        """Addresses up to id ``n - 1`` exist now; the new ones start as entities of their own."""
        old = len(self.parent)
        if n <= old:
            return
        self.parent = np.concatenate([self.parent, np.arange(old, n, dtype=np.int64)])
        bits = np.zeros(n - old, np.uint16) if new_bits is None else np.asarray(new_bits, np.uint16)
        self.bits = np.concatenate([self.bits, bits])
        for c, h in self.hops.items():
            self.hops[c] = np.concatenate([h, np.where((bits & tx.BIT[c]) != 0, 0, FAR).astype(np.uint8)])

    def join(self, groups: list[np.ndarray]) -> list[tuple[int, int]]:
        """Put each group's addresses in one entity; returns (absorbed root, surviving root) per merge."""
        merges = []
        for g in groups:
            roots = np.unique(self.find(g))
            if len(roots) < 2:
                continue
            keep = int(roots[0])                # the smallest id stays the entity's id, as in clustering
            for r in roots[1:].tolist():
                self.parent[r] = keep
                self.bits[keep] |= self.bits[r]
                for h in self.hops.values():
                    h[keep] = min(h[keep], h[r])
                merges.append((r, keep))
        return merges

    def relax(self, flows: Flows) -> None:
        """Exposure after a new block's flows (in flow order)."""
        self.replay(flows)

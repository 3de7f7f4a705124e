"""Why are two addresses one entity? The shortest chain of linking transactions.

Entities are built from links (a tx's input addresses are linked by the
multi-input heuristic; optional change links tie an input to its change
output). This rebuilds the links inside the one cluster, as a bipartite
address–transaction graph, and answers with a breadth-first shortest path.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from chaintrail.analysis.clustering import cluster_labels
from chaintrail.errors import UsageError
from chaintrail.store.address_names import AddressNames
from chaintrail.store.chainstore import ChainStore


@dataclass
class Link:
    from_address: str
    to_address: str
    txid: str
    heuristic: str        # multi-input | change
    block_hash: str


def explain(store: ChainStore, addr_a: str, addr_b: str, skip_tx: np.ndarray | None = None) -> list[Link]:
    """The shortest list of links joining ``addr_a`` to ``addr_b`` (empty if they are the same address)."""
    from chaintrail.store.sql import query

    rows = query(store, "SELECT address, addr_num FROM raw.addresses WHERE address IN ($a, $b)",
                 {"a": addr_a, "b": addr_b}).to_pylist()
    nums = {r["address"]: int(r["addr_num"]) for r in rows}
    for a in (addr_a, addr_b):
        if a not in nums:
            raise UsageError(f"address {a} is not in the store")
    a, b = nums[addr_a], nums[addr_b]
    if a == b:
        return []
    labels = cluster_labels(store)
    if labels[a] != labels[b]:
        raise UsageError(f"{addr_a} and {addr_b} are in different entities ({labels[a]} and {labels[b]})")
    members = np.flatnonzero(labels == labels[a]).astype(np.uint32)
    in_addr = np.asarray(store.column("in_addr"))
    tx_first_in = np.asarray(store.column("tx_first_in"), np.int64)
    sel = np.flatnonzero(np.isin(in_addr, members))
    in_tx = np.searchsorted(tx_first_in, sel, side="right") - 1
    if skip_tx is not None:
        keep = ~skip_tx[in_tx]
        sel, in_tx = sel[keep], in_tx[keep]
    by_addr: dict[int, list[int]] = {}
    by_tx: dict[int, list[int]] = {}
    for i, t in zip(in_addr[sel].tolist(), in_tx.tolist()):
        by_addr.setdefault(i, []).append(t)
        by_tx.setdefault(t, []).append(i)
    prev: dict[int, tuple[int, int]] = {a: (-1, -1)}
    queue = deque([a])
    while queue and b not in prev:
        x = queue.popleft()
        for t in by_addr.get(x, []):
            for y in by_tx[t]:
                if y not in prev:
                    prev[y] = (x, t)
                    queue.append(y)
    if b not in prev:
        raise UsageError(f"no multi-input link between {addr_a} and {addr_b} found in the store")
    hops = []
    y = b
    while y != a:
        x, t = prev[y]
        hops.append((x, y, t))
        y = x
    hops.reverse()
    return _describe(store, hops)


def _describe(store: ChainStore, hops: list[tuple[int, int, int]]) -> list[Link]:
    names = AddressNames(store)
    txid = store.column("txid")
    blk_first = np.asarray(store.column("blk_first_tx"), np.int64)
    blocks = store.read_table("blocks", ["block_seq", "hash"])
    hash_of = dict(zip(blocks["block_seq"].to_pylist(), (h.hex() for h in blocks["hash"].to_pylist())))
    out = []
    for x, y, t in hops:
        seq = int(np.searchsorted(blk_first, t, side="right") - 1)
        ax, ay = names([x, y])
        out.append(Link(ax, ay, bytes(txid[t][::-1]).hex(), "multi-input", hash_of[seq]))
    return out



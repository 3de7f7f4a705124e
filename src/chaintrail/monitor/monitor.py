"""The monitor's state over one chain store: after each ingest, evaluate the new blocks and record alerts.

``Monitor.update`` is called after the store grew (or was cut back by a reorganisation). It folds the new
blocks into the entities (new addresses, multi-input joins, exposure), evaluates every active watch on their
flows, and raises the alerts in the case database. After a reorganisation it first retracts every alert whose
block is no longer in the store's chain, then rebuilds its state up to the fork and evaluates the new branch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from chaintrail.cases.db import Database
from chaintrail.monitor import alerts as A
from chaintrail.monitor.address_book import AddressBook
from chaintrail.monitor.entity_state import EntityState
from chaintrail.monitor.evaluate import Hit, WatchIndex
from chaintrail.monitor.flows import NO, Flows, btc_flows, eth_flows
from chaintrail.monitor.watches import active_watches, watches_version
from chaintrail.store.chainstore import ChainStore

log = logging.getLogger(__name__)
NATIVE = {"btc": "BTC", "eth": "ETH"}
REORG = "reorganisation: the block is no longer in the node's best chain"


@dataclass
class UpdateResult:
    blocks: int = 0
    raised: list[dict] = field(default_factory=list)
    retracted: list[dict] = field(default_factory=list)
    seconds: float = 0.0


class Monitor:
    """Watches of ``chain`` over ``store`` (the ingest job's own, writable store), alerts into ``db``."""

    def __init__(self, store: ChainStore, chain: str, db: Database):
        self.store = store
        self.chain = chain
        self.db = db
        self.book = AddressBook(store, chain)
        self._version: tuple[int, int] | None = None
        self._build(self._n_blocks())

    # -- state -------------------------------------------------------------------------
    def _n_blocks(self) -> int:
        return int(self.store.counts.get("eth_blocks" if self.chain == "eth" else "blocks", 0))

    def _flows(self, a: int, b: int) -> Flows:
        if self.chain == "eth":
            return eth_flows(self.store, a, b)
        from chaintrail.analysis.tracing import mixer_tx_mask
        return btc_flows(self.store, a, b, mixer_tx_mask(self.store))      # the batch clustering's CoinJoin guard

    def _build(self, upto: int) -> None:
        """Entities, tags and exposure as of block ``upto`` (store order), and the watch index."""
        from chaintrail.tags.tagstore import TagStore
        n = len(self.book)
        labels = self._labels(n)
        idx = TagStore(self.store.path).index
        self.tag_bits = {a: int(b) for a, b in zip(idx.addresses.to_pylist(), idx.addr_bits.tolist())
                         if a is not None and b}
        bits = np.zeros(n, np.uint16)
        names = list(self.tag_bits)
        for a, i in zip(names, self.book.resolve(names)):
            if i >= 0:
                bits[i] |= self.tag_bits[a]
        self.entities = EntityState(labels, bits, set())
        with self.db.read() as conn:
            self._version = watches_version(conn, self.chain)
            watches = active_watches(conn, self.chain)
        self.index = WatchIndex(watches, self.book.resolve, self.entities)
        if upto:
            hist = self._flows(0, upto)
            self.entities.join(hist.multi_in)
            self.entities.replay(hist)
        self.done = upto
        self.n_addr = n

    def _labels(self, n: int) -> np.ndarray:
        if self.chain == "eth":
            from chaintrail.analysis.eth.entities import eth_cluster_labels
            labels = eth_cluster_labels(self.store)
        else:
            from chaintrail.analysis.clustering import cluster_labels
            labels = cluster_labels(self.store)
        labels = np.asarray(labels[:n], np.int64)
        return np.where(labels < n, labels, np.arange(n))

    def reload_watches(self) -> bool:
        """Pick up watches added or removed since (cheap when nothing changed)."""
        with self.db.read() as conn:
            v = watches_version(conn, self.chain)
            if v == self._version:
                return False
            self._version = v
            watches = active_watches(conn, self.chain)
        self.index = WatchIndex(watches, self.book.resolve, self.entities)
        log.info("watches reloaded: %d active on %s", len(watches), self.chain)
        return True

    # -- per block ---------------------------------------------------------------------
    def update(self, *, kept: int | None = None, hash_at: Callable[[int], str | None] | None = None
               ) -> UpdateResult:
        """Evaluate blocks added since the last update. ``kept``: a reorg cut the store back to this many blocks
        (``hash_at(number)`` gives the store's block hash at a number now, for retracting alerts)."""
        t0 = time.perf_counter()
        res = UpdateResult()
        if kept is not None and kept < self.done:
            res.retracted = A.retract(self.db, self.chain, lambda n, h: hash_at is not None and hash_at(n) == h,
                                      REORG)
            self._build(kept)
        else:
            self.reload_watches()
        end = self._n_blocks()
        if end > self.done:
            flows = self._flows(self.done, end)
            hits = self._step(flows)
            res.raised = A.raise_alerts(self.db, self._rows(hits, flows))
            res.blocks = end - self.done
            self.done = end
        res.seconds = time.perf_counter() - t0
        return res

    def _step(self, flows: Flows) -> list[Hit]:
        n = len(self.book)
        if n > self.n_addr:
            new = self.book.names(np.arange(self.n_addr, n)) if (self.tag_bits or self.index.pending) else []
            bits = np.array([self.tag_bits.get(self.book.normal(a), 0) if a else 0 for a in new], np.uint16) \
                if self.tag_bits and new else None
            self.entities.grow(n, bits)
            self.index.new_addresses(self.n_addr, new, self.entities)
            self.n_addr = n
        self.index.merged(self.entities.join(flows.multi_in))
        hits = self.index.evaluate(flows, self.entities)
        self.entities.relax(flows)
        return hits

    def _rows(self, hits: list[Hit], flows: Flows) -> list[dict]:
        if not hits:
            return []
        ids = sorted({i for h in hits for i in (h.addr, h.counterparty, h.asset) if i != NO})
        names = dict(zip(ids, self.book.names(ids)))
        out = []
        for h in hits:
            w = h.watch
            out.append({"watch_id": int(w["id"]), "case_id": int(w["case_id"]), "case_ref": w["case_ref"],
                        "agency": w["agency"], "tlp": w["tlp"], "chain": self.chain,
                        "block_number": int(flows.numbers[h.block]), "block_hash": flows.hashes[h.block],
                        "tx_hash": self._tx_hash(h.tx, flows.numbers[h.block]), "direction": h.direction,
                        "address": names.get(h.addr) or "", "counterparty": names.get(h.counterparty),
                        "asset": NATIVE[self.chain] if h.asset == NO else names[h.asset],
                        "amount": str(h.amount), "reason": h.reason})
        return out

    def _tx_hash(self, t: int, number: int) -> str:
        if t == NO:
            return f"block {number} reward"
        if self.chain == "eth":
            return "0x" + bytes(self.store.column("eth_tx_hash")[t]).hex()
        return bytes(self.store.column("txid")[t])[::-1].hex()

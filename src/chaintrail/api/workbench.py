"""Everything one API process holds for its store: the read model, the tags and one trace engine.

The trace engine keeps per-output scratch arrays the size of the store, so
there is exactly one per process, used under a lock (it is not thread-safe).
Its address lookups and endpoint naming go through the in-memory read model
instead of a SQL query and a table scan per trace.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaintrail.analysis.model_lookups import ModelLookups
from chaintrail.analysis.sparse_tx_labels import TxFlags
from chaintrail.analysis.tracing import TraceEngine, TraceParams, TraceResult
from chaintrail.api.chainview import ChainView
from chaintrail.api.errors import NotFoundError
from chaintrail.api.tagview import TagView
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.i18n import _


RESULTS_KEPT = 8                    # trace results kept for paging
RESULTS_ENDPOINTS = 50_000          # ... holding at most this many endpoints in all (~1-2 KB each with paths)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep every answer small and fast, whatever the store holds."""

    large_entity: int = 1000        # entities at least this big are shown as a summary, never expanded
    expand_members: int = 50        # an entity this small may be expanded into its addresses
    page_max: int = 1000            # most rows in one page
    trace_hops_max: int = 200
    graph_endpoints: int = 60       # endpoints drawn on the canvas per trace (the table has them all)
    task_seconds_max: float = 60.0   # a trace or screen in a worker past this is stopped (its workers replaced)


class _Tracer(TraceEngine):
    """The store's trace engine with the read model's O(1) address lookups."""

    def __init__(self, store: ChainStore, view: ChainView, stop, mixer_txs):
        # The read model's mapped labels where it has every address's (no O(addresses) copy per process).
        labels = view.labels if isinstance(view.labels, np.ndarray) else None
        super().__init__(store, stop_addr_for=stop, mixer_txs=mixer_txs, labels=labels)
        self.view = view
        self.lookups = ModelLookups(store, view.model)   # tx labels mapped; the demixer's facts shared per state
        # Plain ndarray views of the same mapped columns: per-element reads through numpy.memmap's
        # __getitem__ cost more than the rest of a large trace's endpoint table (same data, same results).
        for name in ("txids_col", "in_prev", "in_value", "out_value", "out_spent", "out_addr"):
            if isinstance(getattr(self, name, None), np.memmap):
                setattr(self, name, np.asarray(getattr(self, name)))

    # numpy.searchsorted of a Python int in a uint32 array first converts the whole array (O(txs) per
    # call, once per endpoint and path step); the read model's int64 copies keep it O(log txs).
    def _tx_of_out(self, o: int) -> int:
        return self.view.tx_of_out(int(o))

    def outpoint(self, o: int) -> str:
        return self.view.outpoint(int(o))

    def _address_names(self, addr: np.ndarray) -> list[str | None]:
        # The read model holds every address already; the engine need not read its own copy.
        names = self.view.addresses(np.maximum(addr, 0))
        return [None if a < 0 else x for a, x in zip(addr.tolist(), names)]

    def txids_to_nums(self, hexes: list[str]) -> list[int]:
        # The read model's sorted txids, not the engine's hash table of every txid (~80 bytes per tx).
        nums = []
        for h in hexes:
            t = self.view.tx_num(h)
            if t is None:
                try:
                    ok = len(bytes.fromhex(h)) == 32
                except ValueError:
                    ok = False
                raise UsageError(_("transaction {txid} is not in the store").format(txid=h) if ok else
                                 _("not a txid: {value!r}").format(value=h))
            nums.append(t)
        return nums

    def outputs_of(self, a: int, scan_unless_indexed: bool = False) -> np.ndarray:
        # The read model's per-address runs, not the engine's O(outputs) index built in this process.
        return self.view.addr_outputs(int(a)).astype(np.int64)

    def addr_to_num(self, address: str) -> int:
        a = self.view.addr_num(address)
        if a is None:
            raise NotFoundError(_("address {address} is not in the store").format(address=address))
        return a

    def resolve(self, spec: str, direction: str):
        s = spec.strip()
        if s.startswith("cluster:") and s[8:].isdigit() and self.view.is_cluster(int(s[8:])):
            cid = int(s[8:])
            outs = self.view.outputs_of(self.view.members(cid)).astype(np.int64)  # as the base class, in O(size)
            return outs, np.asarray(self.out_value[outs], np.int64), {"kind": "entity", "cluster": cid}
        if s.startswith("cluster:") or ":" in s or (len(s) == 64 and all(c in "0123456789abcdefABCDEF" for c in s)):
            return super().resolve(spec, direction)
        a = self.addr_to_num(s)
        outs = self.view.addr_outputs(a).astype(np.int64)   # ascending out_num, as the base class finds them
        return outs, np.asarray(self.out_value[outs], np.int64), {"kind": "address", "address": s}


class Workbench:
    """The store, its read model, its tags and its trace engine, for one API process."""

    def __init__(self, store_path: str | Path, limits: Limits | None = None, other_store: str | Path | None = None):
        self.store = ChainStore(store_path)
        # The store of the chain a bridge leads to (Ethereum traces follow crossings onto it), if served.
        self.other_store = ChainStore(other_store) if other_store is not None else None
        self.limits = limits or Limits()
        self.view = ChainView(self.store)
        self.tags = TagView(self.store, self.view.labels, self.view.addr_nums)
        # The trace engine's per-output scratch and mixer mask are O(chain): built on the first trace (with
        # trace workers, the API process never builds them), so opening a workbench stays O(1).
        self._mixers: TxFlags | None = None
        self._tracer: _Tracer | None = None
        self._trace_lock = threading.Lock()
        self._tags_lock = threading.Lock()
        # Recent results as dicts: paging through a trace (or downloading its CSV after viewing it)
        # must not rerun it. Deterministic for (source, params) until the tags change.
        self._results: OrderedDict[tuple, dict] = OrderedDict()
        self.member_cache: dict[tuple[int, str], np.ndarray] = {}
        from chaintrail.api.eth import EthService
        from chaintrail.api.screen import ScreenService
        self.screens = ScreenService(self)
        self.eth = EthService(self.store, self.other_store)      # the store's Ethereum data, indexed on first use

    def close(self) -> None:
        self.store.close()
        if self.other_store is not None:
            self.other_store.close()

    @property
    def tracer(self) -> _Tracer:
        """The trace engine (built on first use; callers hold ``_trace_lock`` or accept a race to build)."""
        tracer = self._tracer
        if tracer is None:
            if self._mixers is None:
                self._mixers = ModelLookups(self.store, self.view.model).mixer_txs()   # the mixes only, mapped
            tracer = self._tracer = _Tracer(self.store, self.view, self.tags.attribution, self._mixers)
        return tracer

    def warm_tracer(self) -> None:
        """Make the first trace as fast as the next (a trace worker, right after it starts): build the engine,
        load (or find and persist) its whole-chain facts, and load the compiled kernels by tracing nothing
        forward with demixing, with haircut at mixes, and backward (~0.5 s of numba cache loading)."""
        with self._trace_lock:
            tracer = self.tracer
            tracer.demixer().prepare()
            tracer.swept_into()
            none = np.zeros(0, np.int64)
            for params in (TraceParams(max_hops=1), TraceParams(max_hops=1, mixer_policy="haircut"),
                           TraceParams(direction="backward", max_hops=1)):
                tracer.trace(outputs=none, params=params)

    def trace(self, spec: str, params: TraceParams) -> TraceResult:
        """One trace; traces run one at a time (the engine's scratch arrays are shared)."""
        params.check()
        if params.max_hops > self.limits.trace_hops_max:
            raise UsageError(_("max_hops must be at most {n}").format(n=self.limits.trace_hops_max))
        with self._trace_lock:
            return self.tracer.trace(spec, params)

    def trace_dict(self, spec: str, params: TraceParams) -> dict:
        """``trace(...).to_dict()``, kept for the next pages: the last RESULTS_KEPT results of at most
        RESULTS_ENDPOINTS endpoints in all (a larger one is rerun per page rather than held)."""
        key = (spec, params)
        with self._trace_lock:
            got = self._results.get(key)
            if got is not None:
                self._results.move_to_end(key)
                return got
        out = self.trace(spec, params).to_dict()
        n = len(out["endpoints"])
        with self._trace_lock:
            if n <= RESULTS_ENDPOINTS:
                self._results[key] = out
                while len(self._results) > RESULTS_KEPT or \
                        sum(len(r["endpoints"]) for r in self._results.values()) > RESULTS_ENDPOINTS:
                    self._results.popitem(last=False)
        return out

    def reload_tags(self) -> None:
        """Re-read the tag store (after a tag was added); a fresh engine, so no stop mask is stale."""
        with self._tags_lock:
            tags = TagView(self.store, self.view.labels, self.view.addr_nums)
            with self._trace_lock:
                self.tags, self._tracer = tags, None      # the next trace builds an engine with the new tags
                self._results.clear()       # stop categories and endpoint tags may have changed
            self.eth.tags_changed()

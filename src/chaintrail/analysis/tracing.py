"""Follow the money: forward and backward traces over the store's index.

A ``TraceEngine`` maps the store's index columns once and keeps per-output
scratch arrays, so each trace costs time in proportion to what it touches.
Results carry exact integer accounting (see ``taint_kernels``), an endpoint
table with best paths, and the block hashes of every tx the trace read, and
serialise to canonical JSON whose hash a case file can cite.
"""

from __future__ import annotations

import gc
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.analysis import taint_kernels as K
from chaintrail.analysis import trace_facts
from chaintrail.i18n import _, ngettext
from chaintrail.analysis.sparse_tx_labels import TxFlags, TxLabels, mixer_tx_list, tx_label_list
from chaintrail.analysis.trace_scratch import Scratch
from chaintrail.analysis.clustering import cluster_labels
from chaintrail.analysis.mixers import LABELS
from chaintrail.analysis.model_lookups import ModelLookups
from chaintrail.analysis.swept_deposits import CATEGORIES as SWEPT_CATEGORIES
from chaintrail.analysis.swept_deposits import EVIDENCE as SWEPT_EVIDENCE
from chaintrail.analysis.swept_deposits import WALLETS as SWEPT_WALLETS
from chaintrail.analysis.swept_deposits import swept_deposits
from chaintrail.analysis.tx_labels import labelled_txs
from chaintrail.errors import UsageError
from chaintrail.store.address_names import AddressNames
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.csr import csr
from chaintrail.store import index as ix
from chaintrail.store.hashtable import KeyTable, scan_keys
from chaintrail.store.tx_maps import open_maps

ENGINE_VERSION = "trace/3"   # 2: each step names its model and heuristics; 3: demix sweep-pattern leads
MIXER_POLICIES = ("haircut", "stop", "demix")
DEMIX_ROUNDS = 8


def default_mixer_policy(direction: str) -> str:
    """What a trace does at mixes unless told: follow the actor's own coins out (demix, forward only)
    rather than spread the victim's taint over every other participant (haircut pass-through)."""
    return "demix" if direction == "forward" else "haircut"


# The services `--until-exchange` stops at (legal process can be served on them).
SERVICE_STOPS = ("exchange", "gambling", "merchant", "payment_processor", "mixer")


@dataclass(frozen=True)
class TraceParams:
    """Everything that decides a trace's result (and so goes into its hash)."""

    direction: str = "forward"            # forward | backward
    model: str = "haircut"                # haircut | poison | fifo | lifo | tiho
    max_hops: int = 10
    min_amount_sat: int = 0               # taint below this on an output stops there
    stop_categories: tuple[str, ...] = ("exchange",)
    # haircut (pass through) | stop (stop and flag) | demix (follow the owner); None: default_mixer_policy
    mixer_policy: str | None = None
    time_from: int | None = None          # unix seconds; txs outside the window stop the branch
    time_to: int | None = None
    demix_leads: bool = True              # demix: also claim exits swept like the actor's (evidence "pattern:sweep")

    def __post_init__(self):
        if self.mixer_policy is None:
            object.__setattr__(self, "mixer_policy", default_mixer_policy(self.direction))

    def check(self) -> None:
        if self.direction not in ("forward", "backward"):
            raise UsageError(_("direction must be forward or backward, not {value!r}").format(value=self.direction))
        if self.model not in K.MODELS:
            raise UsageError(_("model must be one of {choices}, not {value!r}").format(choices=", ".join(K.MODELS),
                                                                                   value=self.model))
        if self.max_hops < 0 or self.min_amount_sat < 0:
            raise UsageError(_("max hops and min amount must not be negative"))
        if self.mixer_policy not in MIXER_POLICIES:
            raise UsageError(_("mixer policy must be one of {choices}, not {value!r}").format(
                choices=", ".join(MIXER_POLICIES), value=self.mixer_policy))
        if self.mixer_policy == "demix" and self.direction != "forward":
            raise UsageError(_("the demix policy follows funds forward only"))
        from chaintrail.tags import taxonomy as tx
        unknown = [c for c in self.stop_categories
                   if c not in tx.CONCEPTS and c not in SERVICE_STOPS and tx.normalize_category(c) is None]
        if unknown:   # a typo would silently trace through the services it meant to stop at
            raise UsageError(ngettext("unknown stop category {names}; valid: {valid} or a GraphSense concept "
                                      "({concepts}, ...)",
                                      "unknown stop categories {names}; valid: {valid} or a GraphSense concept "
                                      "({concepts}, ...)", len(unknown)).format(
                names=", ".join(map(repr, unknown)), valid=", ".join(tx.CATEGORIES),
                concepts=", ".join(sorted(tx.CONCEPTS)[:12])))


@dataclass(slots=True)
class Endpoint:
    address: str | None
    cluster: int | None
    tags: list[str]
    amount_sat: int
    hops: int
    path: list[str]                       # txids from the source to the endpoint's tx
    kind: str                             # tagged | unspent | below_threshold | stopped_* | coinbase | unknown_source
    outputs: list[str] = field(default_factory=list)   # txid:vout of each output aggregated here
    output_amounts: list[int] = field(default_factory=list)  # the taint on each of those outputs

    def to_dict(self) -> dict:
        """As ``dataclasses.asdict`` (lists copied), without its generic deep copy (most of a big table's export)."""
        return {"address": self.address, "cluster": self.cluster, "tags": list(self.tags),
                "amount_sat": self.amount_sat, "hops": self.hops, "path": list(self.path), "kind": self.kind,
                "outputs": list(self.outputs), "output_amounts": list(self.output_amounts)}


# Endpoint kinds; codes 0-7 are the kernel's statuses (PASSED never ends a branch, SOURCE_EDGE ends
# as plain "stopped").
_KINDS = ("stopped", "tagged", "unspent", "below_threshold", "stopped_max_hops", "stopped_time", "stopped_mixer",
          "stopped", "coinbase", "unknown_source", "stopped_in_custody")
_KIND_CODE = {k: i for i, k in enumerate(_KINDS)}
_KIND_RANK = np.array([sorted(set(_KINDS)).index(k) for k in _KINDS])   # endpoints of equal amount: by kind name
_STATUS_KIND = np.full(256, _KIND_CODE["stopped"], np.int8)
_STATUS_KIND[K.PASSED:K.PASSED + 8] = np.arange(8)


@dataclass
class _Ends:
    """Settled rows of a trace as columns, before grouping into endpoints."""

    kind: np.ndarray                      # int8 index into _KINDS
    out: np.ndarray                       # int64 output id, -1 none (unknown sources)
    addr: np.ndarray                      # int64 address id, -1 none
    amt: np.ndarray                       # int64 taint
    hops: np.ndarray                      # int64
    outpoints: list[str]                  # txid:vout (txid:inN for unknown sources)
    paths: Callable[[list[int]], list[list[str]]]   # the best paths of the given rows
    hexes: dict[int, str] | None = None   # txids of every tx the run touched (its provenance steps)


class _Txids(dict):
    """tx -> txid of a run's touched txs; any other tx (not expected) is looked up when asked."""

    def __init__(self, eng: "TraceEngine", items):
        super().__init__(items)
        self.eng = eng

    def __missing__(self, t: int) -> str:
        self[t] = h = self.eng.txid_hex(t)
        return h


@dataclass
class TraceResult:
    source: dict
    model: str
    params: dict
    endpoints: list[Endpoint]
    totals: dict
    steps: list[dict]
    engine: str = ENGINE_VERSION
    demix: list[dict] = field(default_factory=list)   # per resolved mix: entries, exits, evidence
    # Where txs were classified at trace time (no labels file, or blocks newer than it): how many.
    tx_labels: dict | None = None

    def to_dict(self) -> dict:
        with _gc_paused():
            eps = [e.to_dict() for e in self.endpoints]
        d = {"source": self.source, "model": self.model, "params": self.params, "endpoints": eps,
             "totals": self.totals, "steps": self.steps, "engine": self.engine}
        if self.demix:
            d["demix"] = self.demix
        if self.tx_labels:
            d["tx_labels"] = self.tx_labels
        d["trace_hash"] = hashlib.sha256(_canonical(d)).hexdigest()
        return d

    def to_json(self) -> str:
        return _canonical(self.to_dict()).decode()

    def write_parquet(self, path: str | Path, d: dict | None = None) -> Path:
        """The endpoint table at ``path`` and the steps beside it (``<stem>.steps.parquet``); both carry
        the result's trace_hash, engine, source, params and totals as file metadata, so either file
        names the result it belongs to. ``d``: this result's ``to_dict()``, where the caller has it
        (the canonical-JSON hash of a large result is not free). Returns the steps file's path."""
        d = d or self.to_dict()
        meta = {k: json.dumps(d[k], sort_keys=True) for k in ("trace_hash", "engine", "source", "params", "totals")}
        ends = pa.Table.from_pylist(d["endpoints"], schema=pa.schema([
            ("address", pa.string()), ("cluster", pa.int64()), ("tags", pa.list_(pa.string())),
            ("amount_sat", pa.int64()), ("hops", pa.int32()), ("path", pa.list_(pa.string())),
            ("kind", pa.string()), ("outputs", pa.list_(pa.string())), ("output_amounts", pa.list_(pa.int64()))],
            metadata=meta))
        steps = pa.Table.from_pylist(d["steps"], schema=pa.schema([
            ("txid", pa.string()), ("block_hash", pa.string()), ("model", pa.string()),
            ("heuristics", pa.list_(pa.string()))], metadata=meta))
        path = Path(path)
        steps_path = path.with_name(path.stem + ".steps.parquet")
        pq.write_table(ends, path)
        pq.write_table(steps, steps_path)
        return steps_path


@contextmanager
def _gc_paused():
    """Pause the cycle collector: a large endpoint table allocates many small acyclic objects, and
    collections triggered on the way rescan the heap (measured: 40-60 % of a 10k-endpoint trace)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_SCANS_BEFORE_TABLE = 16   # txid scans (each for a batch of lookups) before the engine builds a hash table


def _map_in(*columns: np.ndarray) -> None:
    """Fault in the pages of mapped columns now (one read per page): otherwise the first traces
    through each page pay a page fault per load (measured: 1-hop kernel median 29 -> 10 us on a
    10M-tx chain, for ~40 ms at open)."""
    for a in columns:
        if a.size:
            int(a[:: max(1, 4096 // a.itemsize)].sum())


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class TraceEngine:
    """Holds the mapped index and scratch space for repeated traces on one store."""

    def __init__(self, store: ChainStore, stop_addr_for: "StopAddresses | None" = None,
                 mixer_txs: "np.ndarray | TxFlags | None" = None, prefault: bool = True,
                 labels: np.ndarray | None = None):
        """``prefault``: touch the mapped columns now, as a long-lived engine wants (no page faults
        inside traces); a one-shot trace (the CLI) faults in only the pages it uses. ``labels``: per
        address its cluster (a mapped read model's), else read from the store."""
        self.store = store
        c = store.counts
        self.n_tx, self.n_in, self.n_out = c["txs"], c["inputs"], c["outputs"]
        # Nothing here is a per-output or per-tx array in this process's own memory: the index columns and
        # the tx maps are mapped files (page cache, shared by every process), and the scratch is resident
        # only where traces wrote it (trace_scratch). Plain ndarray views: element access on a np.memmap
        # builds an object each time.
        view = lambda name: store.column(name).view(np.ndarray)  # noqa: E731
        self.in_prev, self.in_value = view("in_prev"), view("in_value")
        self.out_value, self.out_addr = view("out_value"), view("out_addr")
        # The file itself, not the store's private snapshot (4 bytes per output): links to inputs past
        # n_in (an ingest patching it now) read as unspent (``spenders``; the kernel checks the same).
        self.out_spent = (ix.open_column(store.index_dir, "out_spent", self.n_out).view(np.ndarray)
                          if self.n_out else np.zeros(0, np.uint32))
        blocks = store.read_table("blocks", ["block_seq", "time", "hash"])
        order = np.argsort(blocks["block_seq"].to_numpy())
        self.blk_time = np.ascontiguousarray(blocks["time"].to_numpy()[order], np.int64)     # O(blocks): small
        h = blocks["hash"].combine_chunks() if blocks.num_rows else None
        self.blk_hash = (np.frombuffer(h.buffers()[1], np.uint8)[h.offset * 32:(h.offset + len(h)) * 32]
                         .reshape(-1, 32)[order] if h is not None else np.zeros((0, 32), np.uint8))
        maps = open_maps(store, self.blk_hash)
        self.tx_first_in, self.tx_first_out = maps.tx_first_in, maps.tx_first_out
        self.in_tx, self.out_tx, self.out_next, self.tx_block = maps.in_tx, maps.out_tx, maps.out_next, maps.tx_block
        self.tx_is_cb = maps.tx_is_cb.view(np.bool_)
        self.tx_time = _TxTime(self.tx_block, self.blk_time)
        if prefault:
            _map_in(self.in_prev, self.in_value, self.out_value, self.out_addr, self.out_next, self.out_tx,
                    self.tx_first_in, self.tx_first_out)
        # The store's CoinJoin/mixer txs, those it lacks labels for classified now, unless given (as
        # TxFlags or a mask): a sorted list, not a byte per tx.
        self.mixer_txs = (mixer_tx_list(store) if mixer_txs is None else
                          mixer_txs if isinstance(mixer_txs, TxFlags) else TxFlags.of_mask(mixer_txs))
        self.labelled_txs = labelled_txs(store)   # txs after these were classified at trace time (mixer_tx_mask)
        self.stop_addr_for = stop_addr_for
        self.labels = cluster_labels(store) if labels is None else labels
        self._txids: KeyTable | None = None
        self._txid_scans = 0
        self._txid_memo: dict[bytes, int] = {}
        self.txids_col = store.column("txid").view(np.ndarray)
        if prefault:
            _map_in(self.txids_col.reshape(-1))    # every trace names its txs
        self._stop_cache: dict[tuple, np.ndarray] = {}
        self._swept: _SweptInto | None = None
        self._addresses: AddressNames | None = None
        self._demixer = None
        self._tx_labels: TxLabels | None = None
        self._outs_of: tuple[np.ndarray, np.ndarray] | None = None
        # The store's current read model's lookups (``open``; the workbench's engine): addresses, outputs
        # of an address, tx labels in O(log n), and the demixer's persisted facts keyed on its state.
        self.lookups: ModelLookups | None = None
        # Scratch: zeroed after each trace, its pages handed back past a budget (trace_scratch).
        self.scratch = sc = Scratch(self.n_out, self.n_tx)
        self.taint, self.hops, self.pred, self.status = sc.taint, sc.hops, sc.pred, sc.status
        self.iv_off, self.iv_cnt, self.qbits0, self.qbits1 = sc.iv_off, sc.iv_cnt, sc.qbits0, sc.qbits1

    def txs_of_outputs(self, o) -> np.ndarray:
        """The tx (int64) of each output in ``o``."""
        return self.out_tx[np.asarray(o, np.int64)].astype(np.int64)

    def txs_of_inputs(self, i) -> np.ndarray:
        """The tx (int64) of each input in ``i``."""
        return self.in_tx[np.asarray(i, np.int64)].astype(np.int64)

    def spenders(self, o) -> np.ndarray:
        """The tx (int64) spending each output in ``o``, -1 where none does (as of this snapshot)."""
        s = self.out_spent[np.asarray(o, np.int64)].astype(np.int64)
        ok = s < self.n_in
        out = np.full(len(s), -1, np.int64)
        out[ok] = self.in_tx[s[ok]]
        return out

    @classmethod
    def open(cls, store: ChainStore, prefault: bool = True) -> "TraceEngine":
        """An engine with the store's tags (stop categories) and mixer labels, where present."""
        from chaintrail.tags.propagation import Attribution  # the tag store, laid over clusters
        lk = ModelLookups.open(store)        # None without a read model of the store's current state
        labels = lk.labels() if lk is not None else None
        attr = Attribution.open(store, labels, addr_nums=lk.addr_nums if lk is not None else None)
        eng = cls(store, stop_addr_for=attr, prefault=prefault, labels=labels,
                  mixer_txs=lk.mixer_txs() if lk is not None else None)
        eng.lookups = lk
        return eng

    # -- resolving starting points -------------------------------------------------
    def txid_to_num(self, txid_hex: str) -> int:
        return self.txids_to_nums([txid_hex])[0]

    def txids_to_nums(self, hexes: list[str]) -> list[int]:
        """tx numbers of display-order txids; a UsageError names one that is malformed or absent."""
        keys = []
        for h in hexes:
            try:
                key = bytes.fromhex(h)[::-1]
            except ValueError:
                raise UsageError(_("not a txid: {value!r}").format(value=h)) from None
            if len(key) != 32:
                raise UsageError(_("not a txid: {value!r}").format(value=h))
            keys.append(key)
        want = [k for k in dict.fromkeys(keys) if k not in self._txid_memo]
        if want:
            q = np.frombuffer(b"".join(want), np.uint8).reshape(-1, 32)
            if self._txids is None and self._txid_scans < _SCANS_BEFORE_TABLE:
                # A CLI trace resolves a few starting points: one scan of the txid column for all of
                # them (~50 ms on a 10M-tx chain) beats hashing every txid (3.5 s).
                self._txid_scans += 1
                found = scan_keys(np.asarray(self.txids_col).view(np.uint64), q.view(np.uint64))
            else:
                if self._txids is None:
                    self._txids = KeyTable(32, np.asarray(self.txids_col))
                found = self._txids.lookup(q)
            if len(self._txid_memo) > 100_000:
                self._txid_memo.clear()
            self._txid_memo.update(zip(want, found.tolist()))
        nums = [self._txid_memo[k] for k in keys]
        for h, t in zip(hexes, nums):
            if t < 0:
                raise UsageError(_("transaction {txid} is not in the store").format(txid=h))
        return nums

    def addr_to_num(self, address: str) -> int:
        if self.lookups is not None:            # a binary search; the SQL below scans every address
            a = self.lookups.addr_num(address)
            if a is None:
                raise UsageError(_("address {address} is not in the store").format(address=address))
            return a
        from chaintrail.store.sql import query
        rows = query(self.store, "SELECT addr_num FROM raw.addresses WHERE address = $a", {"a": address}).to_pylist()
        if not rows:
            raise UsageError(_("address {address} is not in the store").format(address=address))
        return int(rows[0]["addr_num"])

    def resolve(self, spec: str, direction: str) -> tuple[np.ndarray, np.ndarray, dict]:
        """Outputs (and tainted amounts) a trace starts from: TXID:VOUT, TXID, ADDRESS or cluster:N."""
        spec = spec.strip()
        if spec.startswith("cluster:"):
            cid = int(spec.split(":", 1)[1])
            members = np.flatnonzero(self.labels == cid)
            if not len(members):
                raise UsageError(_("no entity with cluster id {id}").format(id=cid))
            outs = np.flatnonzero(np.isin(self.out_addr, members.astype(np.uint32)))
            kind = {"kind": "entity", "cluster": cid}
        elif ":" in spec and len(spec.split(":")[0]) == 64:
            txid, vout = spec.split(":")
            t = self.txid_to_num(txid)
            o = int(self.tx_first_out[t]) + int(vout)
            if not int(vout) < int(self.tx_first_out[t + 1] - self.tx_first_out[t]):
                raise UsageError(_("{txid} has no output {vout}").format(txid=txid, vout=vout))
            outs = np.array([o], np.int64)
            kind = {"kind": "output", "txid": txid, "vout": int(vout)}
        elif len(spec) == 64 and all(ch in "0123456789abcdefABCDEF" for ch in spec):
            t = self.txid_to_num(spec)
            outs = np.arange(self.tx_first_out[t], self.tx_first_out[t + 1], dtype=np.int64)
            kind = {"kind": "transaction", "txid": spec.lower()}
        else:
            a = self.addr_to_num(spec)
            outs = self.outputs_of(a, scan_unless_indexed=True)
            kind = {"kind": "address", "address": spec}
        outs = outs.astype(np.int64)
        return outs, np.asarray(self.out_value[outs], np.int64), kind

    # -- tracing -------------------------------------------------------------------
    def trace(self, spec: str | list[str] | None = None, params: TraceParams | None = None, *,
              outputs: np.ndarray | None = None, amounts: np.ndarray | None = None) -> TraceResult:
        """Trace from one starting point or several (e.g. every ransom payment of a case)."""
        params = params or TraceParams()
        params.check()
        if outputs is None:
            if not spec:
                raise UsageError(_("a trace needs a starting point"))
            specs = [spec] if isinstance(spec, str) else list(spec)
            # Every txid of a multi-source trace in one lookup (one scan before the table is built).
            txids = [sp.strip().split(":")[0] for sp in specs]
            txids = [h for h in txids if len(h) == 64 and all(c in "0123456789abcdefABCDEF" for c in h)]
            if len(txids) > 1:
                try:
                    self.txids_to_nums(txids)
                except UsageError:
                    pass            # resolve below reports the first bad starting point in order
            parts = [self.resolve(sp, params.direction) for sp in specs]
            outputs = np.concatenate([p[0] for p in parts])
            amounts = np.concatenate([p[1] for p in parts])
            source = parts[0][2] if len(parts) == 1 else {"kind": "several", "sources": [p[2] for p in parts]}
        else:
            outputs = np.asarray(outputs, np.int64).reshape(-1)
            # The kernel does not bounds-check: a bad output number would write outside its arrays.
            if len(outputs) and (outputs.min() < 0 or outputs.max() >= self.n_out):
                raise UsageError(_("output numbers must be in 0..{last}").format(last=self.n_out - 1))
            amounts = np.asarray(self.out_value[outputs] if amounts is None else amounts, np.int64).reshape(-1)
            if len(amounts) != len(outputs) or (amounts < 0).any():
                raise UsageError(_("one non-negative amount per output is needed"))
            source = {"kind": "outputs", "outputs": [self.outpoint(int(o)) for o in outputs]}
        stop = self._stop_mask(params.stop_categories)
        t_min = params.time_from if params.time_from is not None else -(1 << 62)
        t_max = params.time_to if params.time_to is not None else (1 << 62)
        if params.mixer_policy == "demix":
            with _gc_paused():
                return self._trace_demix(params, source, outputs, amounts, stop, t_min, t_max)
        policy = self._policy(params.mixer_policy)
        with _gc_paused(), self.propagate(outputs, amounts, forward=params.direction == "forward",
                                          model=params.model, max_hops=params.max_hops,
                                          min_amount_sat=params.min_amount_sat, stop=stop, policy=policy,
                                          t_min=t_min, t_max=t_max) as run:
            touched, totals, _n1, _n2, edge_in, edge_amt, popped = run
            return self._result(params, source, outputs, touched, totals, edge_in, edge_amt, popped, policy)

    @contextmanager
    def propagate(self, outputs: np.ndarray, amounts: np.ndarray, *, forward: bool, model: str, max_hops: int,
                  min_amount_sat: int, stop: np.ndarray, policy: np.ndarray, t_min: int = -(1 << 62),
                  t_max: int = 1 << 62):
        """Run the kernel; inside the block the scratch arrays (taint, hops, pred, status) hold its result.

        Yields the kernel's tuple (touched, totals, pool_s, pool_e, edge_in, edge_amt, popped); the
        scratch is reset on leaving, so screening and other callers can read it without copying.
        """
        run = K.trace_kernel(forward, K.MODELS[model], outputs, amounts, self.tx_first_in, self.tx_first_out,
                             self.out_next, self.out_tx, self.in_prev, self.in_value, self.out_value, self.out_spent,
                             self.out_addr, stop, self.mixer_txs.txs, policy, self.tx_block, self.blk_time,
                             self.tx_is_cb, t_min, t_max, max_hops, min_amount_sat, self.taint, self.hops,
                             self.pred, self.status, self.iv_off, self.iv_cnt, self.qbits0, self.qbits1)
        try:
            yield run
        finally:
            self.scratch.clean(run[0], run[6], intervals=model in ("fifo", "lifo"))

    def demixer(self):
        """The demixing helper (tx labels read once from ``analysis/tx_labels.parquet``)."""
        if self._demixer is None:
            from chaintrail.analysis.demix import Demixer
            self._demixer = Demixer(self, self.tx_labels())
        return self._demixer

    def _trace_demix(self, params, source, outputs, amounts, stop, t_min, t_max) -> TraceResult:
        """Rounds of kernel runs: each stops at mixes, demixes them, and goes on from the actor's exits."""
        from chaintrail.analysis.demix import allocate_exact
        dm = self.demixer()
        custodial = dm.custodial_addresses()
        stop_all = stop | custodial
        policy = self._policy("stop")
        # Where the actor's sweep pattern is looked for: the exchanges (and P2P traders) this trace stops at.
        cash_out = stop & self._stop_mask(("exchange",)) if params.demix_leads else None
        rows: list[tuple] = []
        totals = np.zeros(6, np.int64)
        step_txs: set[int] = set()
        applied: set[int] = set()                 # txs where the model split the taint
        demixed: dict[int, list[str]] = {}        # mix tx -> what its resolution rested on
        log: list[dict] = []
        batches = [(np.asarray(outputs, np.int64), np.asarray(amounts, np.int64), 0, None)]
        for rnd in range(DEMIX_ROUNDS + 1):
            cj: dict[int, int] = {}
            dep: dict[int, int] = {}
            where: dict[int, tuple] = {}
            for outs, amts, base, prefix in batches:
                with self.propagate(outs, amts, forward=True, model=params.model,
                                    max_hops=max(0, params.max_hops - base), min_amount_sat=params.min_amount_sat,
                                    stop=stop_all, policy=policy, t_min=t_min, t_max=t_max) as run:
                    touched, tot, _n1, _n2, edge_in, edge_amt, popped = run
                    got, uniq = self._rows(params, touched, edge_in, edge_amt, base, prefix)
                    applied.update(self._applied(popped, policy).tolist())
                if rnd == 0:
                    totals[K.T_SOURCE] = tot[K.T_SOURCE]
                for k in (K.T_FEES, K.T_ABSORBED, K.T_EDGES, K.T_TXS, K.T_MIXER_TXS):
                    totals[k] += tot[k]
                step_txs.update(uniq.tolist())
                for row in got:
                    kind, o, addr = row[0], row[1], row[2]
                    last = rnd == DEMIX_ROUNDS
                    into = cj if kind == "stopped_mixer" else dep
                    if not last and (kind == "stopped_mixer" or (
                            kind == "tagged" and addr is not None and custodial[addr])):
                        # An entry reached by several runs: one row carrying the summed taint.
                        into[o] = into.get(o, 0) + row[3]
                        prev = where.get(o)
                        where[o] = row[:3] + (into[o], min(row[4], prev[4]) if prev else row[4]) + row[5:]
                    else:
                        rows.append(row)
            if not cj and not dep:
                break
            reached = {r[2] for r in rows if r[2] is not None}
            resolved = dm.resolve_coinjoins(cj, step_txs, reached, cash_out) if cj else []
            resolved += dm.resolve_custodial(dep, step_txs, reached, cash_out) if dep else []
            batches = []
            for res in resolved:
                totals[K.T_FEES] += res.fee
                ents = [where[o] for o in res.entries]
                if res.unresolved:
                    kind = "stopped_mixer" if res.kind == "coinjoin" else "stopped_in_custody"
                    for r, part in zip(ents, allocate_exact(res.unresolved, [r[3] for r in ents])):
                        if part:
                            rows.append((kind,) + r[1:3] + (part,) + r[4:])
                best = max(ents, key=lambda r: (r[3], -r[4]))
                log.append(self._demix_record(res, ents))
                keep = [(x, a) for x, a in zip(res.exits, res.exit_taint) if a > 0]
                if keep:
                    mixes = [self.txid_hex(t) for t in res.mix_txs[:1]]
                    batches.append((np.array([x for x, _ in keep], np.int64), np.array([a for _, a in keep], np.int64),
                                    min(r[4] for r in ents) + 1, best[5] + mixes))
                step_txs.update(res.mix_txs)
                why = [f"demix:{res.kind}"] + sorted({ev.split(":")[0] if ev.startswith("converge") else ev
                                                     for ev in res.evidence})
                demixed.update((t, why) for t in res.mix_txs)
        extra = {"demixed_sat": sum(sum(d["exit_amounts"]) for d in log)}
        result = self._assemble_rows(params, source, rows, totals, sorted(step_txs), extra,
                                     applied=np.array(sorted(applied), np.int64), demixed=demixed)
        return replace(result, demix=log)

    def _demix_record(self, res, ents) -> dict:
        rec = {"kind": res.kind, "mix_txids": [self.txid_hex(t) for t in res.mix_txs],
               "entries": [r[6] for r in ents], "entry_taint_sat": res.entry_taint, "entry_value_sat": res.entry_value,
               "exits": [self.outpoint(x) for x in res.exits], "exit_amounts": res.exit_taint,
               "evidence": res.evidence, "fee_sat": res.fee, "unresolved_sat": res.unresolved}
        timing = res.notes.get("amount_timing")
        leads = [{"exit": self.outpoint(x), "swept_in": self.txid_hex(self.demixer().spender(x)), "evidence": ev}
                 | (timing if ev == "pattern:amount-timing" else {})
                 for x, ev in zip(res.exits, res.evidence) if ev.startswith("pattern")]
        if leads:
            rec["leads"] = leads            # each with the tx that swept it: the deposit to ask records for
        if timing:
            rec["amount_timing"] = timing   # candidates in the window and the rule's false-match rate
        return rec

    def can_stop_at(self, categories: tuple[str, ...]) -> bool:
        """Does any address carry one of these tag categories (so a trace can end at it)?"""
        return bool(self._stop_mask(tuple(categories)).any())

    def _stop_mask(self, categories: tuple[str, ...]) -> np.ndarray:
        """Per-address stop flags for these tag categories (cached: tags change rarely). Exchange
        deposit addresses the tags miss are added where the chain shows them (``swept_deposits``)."""
        key = tuple(sorted(categories))
        if key not in self._stop_cache:
            mask = (self.stop_addr_for(key) if self.stop_addr_for else np.zeros(len(self.labels), np.bool_))
            if set(key) & set(SWEPT_CATEGORIES):
                mask = mask.copy()
                mask[self.swept_into().keys] = True
            self._stop_cache[key] = mask
        return self._stop_cache[key]

    def swept_into(self) -> "_SweptInto":
        """Per address, the tagged exchange address it was swept into (a deposit address the tags
        miss), or -1 (``analysis.swept_deposits``): kept for the swept addresses only."""
        if self._swept is None:
            # A pass over the chain, once per state and tags: later engines load it (``trace_facts``).
            folder = trace_facts.folder_for(self, "swept")
            got = trace_facts.load(self, folder, "swept") if folder is not None else None
            if got is not None:
                self._swept = _SweptInto.of(got["keys"], got["into"])
                return self._swept
            none = np.zeros(len(self.labels), np.bool_)
            service = self.stop_addr_for(SWEPT_CATEGORIES) if self.stop_addr_for else none
            wallet = self.stop_addr_for(SWEPT_WALLETS) if self.stop_addr_for else none
            self._swept = _SweptInto(swept_deposits(self.tx_first_in, self.tx_first_out, self.in_prev, self.out_addr,
                                                    service, wallet, self.mixer_txs.dense(self.n_tx)))
            if folder is not None:
                trace_facts.save(self, folder, "swept", {"keys": self._swept.keys, "into": self._swept.into})
        return self._swept

    @staticmethod
    def _policy(mixer_policy: str) -> int:
        """The kernel's code for what happens at the txs ``mixer_txs`` flags."""
        return K.POLICY_STOP if mixer_policy == "stop" else K.POLICY_HAIRCUT

    def _applied(self, popped: np.ndarray, policy: int) -> np.ndarray:
        """The txs of ``popped`` where the model split the taint (not mixes the policy stopped at)."""
        popped = np.asarray(popped, np.int64)
        return popped[~self.mixer_txs[popped]] if policy == K.POLICY_STOP else popped

    def outputs_index(self) -> tuple[np.ndarray, np.ndarray]:
        """The address -> outputs index, built once: outputs grouped by address, and per address its
        first position in that order."""
        if self._outs_of is None:
            self._outs_of = csr(self.out_addr, len(self.labels), skip=int(K.NONE32))
        return self._outs_of

    def outputs_of(self, a: int, scan_unless_indexed: bool = False) -> np.ndarray:
        """Every output paid to address ``a`` (int64, in output order). ``scan_unless_indexed``: a
        one-off lookup scans ``out_addr`` rather than build the index."""
        if self.lookups is not None:            # the read model's per-address runs: no O(outputs) index
            return self.lookups.outputs_of(a)
        if self._outs_of is None and scan_unless_indexed:
            return np.flatnonzero(self.out_addr == np.uint32(a)).astype(np.int64)
        order, ptr = self.outputs_index()
        return order[ptr[a]:ptr[a + 1]].astype(np.int64)

    def outpoint(self, o: int) -> str:
        t = int(self.txs_of_outputs([o])[0])
        return f"{self.txid_hex(t)}:{o - int(self.tx_first_out[t])}"

    def txid_hex(self, t: int) -> str:
        return bytes(self.txids_col[t][::-1]).hex()

    def _result(self, params, source, sources, touched, totals, edge_in, edge_amt, popped, policy) -> TraceResult:
        ends, uniq = self._ends(params, touched, edge_in, edge_amt)
        applied = self._applied(popped, policy)
        return self._assemble(params, source, ends, totals, uniq, applied=applied)

    def _hexes(self, txs: np.ndarray) -> list[str]:
        """Txids (display order) of the tx numbers ``txs``, in bulk."""
        h = self.txids_col[txs][:, ::-1].tobytes().hex()
        return [h[i:i + 64] for i in range(0, len(h), 64)]

    def _ends(self, params, touched, edge_in, edge_amt, hop_base: int = 0,
              prefix: list[str] | None = None) -> tuple["_Ends", np.ndarray]:
        """One kernel run's settled outputs as columns (and the sorted txs it touched).

        Read while the scratch still holds the run (paths are walked on demand, for the rows that
        need one). ``hop_base``/``prefix`` place a run that starts inside a trace (after a demixed
        mix) at its hop count and behind its path.
        """
        tnums = self.txs_of_outputs(touched)
        uniq = np.unique(tnums)
        hexes = _Txids(self, zip(uniq.tolist(), self._hexes(uniq)))
        status = self.status[touched]
        taint = self.taint[touched]
        keep = (status != K.PASSED) & (taint > 0)
        outs = touched[keep].astype(np.int64)
        t_end = tnums[keep]
        kind = _STATUS_KIND[status[keep]]
        addr = self.out_addr[outs].astype(np.int64)
        addr[addr == int(K.NONE32)] = -1
        if params.direction != "forward" and len(outs):
            cb = (kind == _KIND_CODE["tagged"]) & self.tx_is_cb[t_end]   # a kernel ENDPOINT
            if cb.any() and self.stop_addr_for is not None:
                cb &= ~((addr >= 0) & self._stop_mask(params.stop_categories)[np.maximum(addr, 0)])
            kind[cb] = _KIND_CODE["coinbase"]
        vouts = (outs - self.tx_first_out[t_end].astype(np.int64)).tolist()
        outpoints = [f"{hexes[t]}:{v}" for t, v in zip(t_end.tolist(), vouts)]
        n = len(outs)
        fixed: dict[int, list[str]] = {}            # rows whose path is known without a walk
        in_txs = self.txs_of_inputs(edge_in)
        for k, (i, t, h) in enumerate(zip(edge_in.tolist(), in_txs.tolist(), self._hexes(in_txs))):
            outpoints.append(f"{h}:in{i - int(self.tx_first_in[t])}")
            fixed[n + k] = [h]
        m = len(edge_in)

        def paths(rows: list[int]) -> list[list[str]]:
            # An output's path is its predecessor's plus its own tx: walk each (pred, tx) pair once.
            walk = outs[[r for r in rows if r < n]]
            if len(walk) > 32:
                pair = self.pred[walk].astype(np.int64) << 32 | self.txs_of_outputs(walk)
                _, first, inv = np.unique(pair, return_index=True, return_inverse=True)
            else:                                       # a few: walking each beats finding the pairs
                first = inv = np.arange(len(walk))
            off, txs = K.best_paths(walk[first], self.pred, self.out_tx, self.tx_first_out, 10_000)
            off_l, txs_l = off.tolist(), txs.tolist()
            built = [[hexes[t] for t in txs_l[off_l[j]:off_l[j + 1]]] for j in range(len(first))]
            which = iter(inv.tolist())
            got = []
            for r in rows:
                if r >= n:
                    got.append(fixed[r])
                    continue
                path = built[next(which)]
                if prefix:
                    path = prefix + path[1:] if path and prefix[-1] == path[0] else prefix + path
                got.append(path[:])
            return got

        amt, hops = taint[keep].astype(np.int64), self.hops[outs].astype(np.int64) + hop_base
        if m:                                       # backward: inputs no tx pays for, as rows of their own
            kind = np.concatenate([kind, np.full(m, _KIND_CODE["unknown_source"], np.int8)])
            addr = np.concatenate([addr, np.full(m, -1, np.int64)])
            amt = np.concatenate([amt, np.asarray(edge_amt, np.int64)])
            hops = np.concatenate([hops, np.zeros(m, np.int64)])
        ends = _Ends(kind=kind, out=np.concatenate([outs, np.full(m, -1, np.int64)]) if m else outs, addr=addr,
                     amt=amt, hops=hops, outpoints=outpoints, paths=paths, hexes=hexes)
        return ends, uniq

    def _rows(self, params, touched, edge_in, edge_amt, hop_base: int = 0,
              prefix: list[str] | None = None) -> tuple[list[tuple], np.ndarray]:
        """A run's settled outputs as rows (kind, output, address, amount, hops, path, outpoint), for
        traces that gather rows over several runs (demixing)."""
        e, uniq = self._ends(params, touched, edge_in, edge_amt, hop_base, prefix)
        n = len(e.amt)
        paths = e.paths(list(range(n)))
        rows = [(_KINDS[k], None if o < 0 else o, None if a < 0 else a, amt, h, path, op)
                for k, o, a, amt, h, path, op in zip(e.kind.tolist(), e.out.tolist(), e.addr.tolist(),
                                                       e.amt.tolist(), e.hops.tolist(), paths, e.outpoints)]
        return rows, uniq

    def _assemble_rows(self, params, source, rows: list[tuple], totals, step_txs: list[int],
                       extra: dict | None = None, **rules) -> TraceResult:
        cols = list(zip(*rows)) if rows else [()] * 7
        ends = _Ends(kind=np.array([_KIND_CODE[k] for k in cols[0]], np.int8),
                     out=np.array([-1 if o is None else o for o in cols[1]], np.int64),
                     addr=np.array([-1 if a is None else a for a in cols[2]], np.int64),
                     amt=np.array(cols[3], np.int64), hops=np.array(cols[4], np.int64),
                     outpoints=list(cols[6]), paths=lambda idx: [cols[5][i] for i in idx])
        return self._assemble(params, source, ends, totals, np.asarray(step_txs, np.int64), extra, **rules)

    def _assemble(self, params, source, e: "_Ends", totals, step_txs: np.ndarray,
                  extra: dict | None = None, applied: np.ndarray | None = None,
                  demixed: dict[int, list[str]] | None = None) -> TraceResult:
        """Group rows into the endpoint table (per kind and address; rows without an address stay
        alone, per output) and add the accounting. Each endpoint keeps its rows in row order, the
        path of its row with the fewest hops (the first such), and the table is sorted by amount."""
        n = len(e.amt)
        kind = e.kind.astype(np.int64)
        key = np.where(e.addr >= 0, kind << 40 | e.addr,
                       np.where(e.out >= 0, (1 << 60) | kind << 44 | e.out, (1 << 61) + np.arange(n)))
        order = np.argsort(key, kind="stable")          # rows by group, in row order within one
        grouped = key[order]
        starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1]))) if n else np.zeros(0, np.int64)
        amount = np.add.reduceat(e.amt[order], starts) if n else np.zeros(0, np.int64)
        best = np.lexsort((e.hops, key))[starts]         # fewest hops, first in row order (lexsort is stable)
        first = order[starts]
        names = self._address_names(e.addr[first])
        r = np.asarray(self._rank(amount, e.kind[first], names, [e.outpoints[i] for i in first.tolist()]), np.int64)
        # Columns in table order, then one Endpoint per group (map: no bytecode per endpoint).
        size = np.diff(np.append(starts, n))[r]
        lead = starts[r]
        ops, amt_l = e.outpoints, e.amt.tolist()
        outputs = [[ops[i]] for i in order[lead].tolist()]
        amounts = [[amt_l[i]] for i in order[lead].tolist()]
        for j in np.flatnonzero(size > 1).tolist():
            mine = order[lead[j]:lead[j] + size[j]].tolist()
            outputs[j], amounts[j] = [ops[i] for i in mine], [amt_l[i] for i in mine]
        addr = e.addr[first[r]]
        addr_l = addr.tolist()
        clusters = [None if a < 0 else c for a, c in zip(addr_l, self.labels[np.maximum(addr, 0)].tolist())]
        tags_of = getattr(self.stop_addr_for, "tags_of", None)
        tags: list[list[str]] = [[] for _ in addr_l]
        # Only the endpoints that carry a tag, own or their cluster's, are named one by one (a trace
        # into a busy service can end at millions of untagged addresses).
        named = getattr(self.stop_addr_for, "named", None)
        if tags_of:
            for j in np.flatnonzero(named(addr) if named else addr >= 0).tolist():
                tags[j] = tags_of(addr_l[j])
        if self._swept is not None:       # deposit addresses found by their sweeps name where they went
            into = self._swept.many(addr)
            for j in np.flatnonzero(into >= 0).tolist():
                if tags[j]:
                    continue
                d = int(into[j])
                tags[j] = (tags_of(d) if tags_of else []) + [f"inferred:{SWEPT_EVIDENCE} ({self._address_names(np.array([d]))[0]})"]
        eps = list(map(Endpoint, [names[g] for g in r.tolist()], clusters, tags, amount[r].tolist(),
                       e.hops[best[r]].tolist(), e.paths(best[r].tolist()) if n else [],
                       [_KINDS[k] for k in e.kind[first[r]].tolist()], outputs, amounts))
        # float sums are exact here: every total is below 2^53 sat (21M BTC is 2.1e15 sat)
        sums = np.bincount(e.kind, weights=e.amt, minlength=len(_KINDS))
        by_kind: dict[str, int] = {}
        for c in np.flatnonzero(np.bincount(e.kind, minlength=len(_KINDS))).tolist():
            by_kind[_KINDS[c]] = by_kind.get(_KINDS[c], 0) + int(sums[c])
        stopped = sum(v for k, v in by_kind.items() if k.startswith("stopped"))
        tot = {
            "traced_sat": int(totals[K.T_SOURCE]),  # distinct sats: change back to a source is not new money
            "to_endpoints_sat": by_kind.get("tagged", 0),
            "fees_sat": int(totals[K.T_FEES]),
            "unspent_sat": by_kind.get("unspent", 0),
            "below_threshold_sat": by_kind.get("below_threshold", 0),
            "stopped_sat": stopped,
            "coinbase_sat": by_kind.get("coinbase", 0),
            "unknown_source_sat": by_kind.get("unknown_source", 0),
            "absorbed_sat": int(totals[K.T_ABSORBED]),
            "edges_touched": int(totals[K.T_EDGES]),
            "txs_touched": int(totals[K.T_TXS]),
            "mixer_txs": int(totals[K.T_MIXER_TXS]),
        }
        if extra:
            tot.update(extra)
        bh = self.blk_hash[self.tx_block[step_txs]].tobytes().hex()
        blocks = [bh[i:i + 64] for i in range(0, len(bh), 64)]
        hexes = e.hexes if e.hexes is not None else dict(zip(step_txs.tolist(), self._hexes(step_txs)))
        models, heuristics = self._step_rules(params, step_txs, applied, demixed or {})
        steps = [{"txid": hexes[t], "block_hash": b, "model": m, "heuristics": h}
                 for t, b, m, h in zip(step_txs.tolist(), blocks, models, heuristics)]
        labelled = None
        if self.labelled_txs < self.n_tx:
            labelled = {"from_store": self.labelled_txs, "classified_at_trace_time": self.n_tx - self.labelled_txs}
        return TraceResult(source=source, model=params.model, params=_params_dict(params), endpoints=eps,
                           totals=tot, steps=steps, tx_labels=labelled)

    def _step_rules(self, params, step_txs: np.ndarray, applied: np.ndarray | None,
                    demixed: dict[int, list[str]]) -> tuple[list, list[list[str]]]:
        """Per step: the model that split the taint at that tx and what that rested on besides the
        model. None where the trace read the tx but split nothing there (it holds a starting point,
        or a trail ends in it)."""
        n = len(step_txs)
        if applied is None or not n:
            return [None] * n, [[] for _ in range(n)]
        done = np.sort(applied)                      # (np.isin costs ~70 us on a handful of txs)
        at = np.minimum(np.searchsorted(done, step_txs), max(len(done) - 1, 0))
        split = done[at] == step_txs if len(done) else np.zeros(n, np.bool_)
        passed = split & self.mixer_txs[step_txs] & (params.mixer_policy == "haircut")
        unknown = np.zeros(n, np.bool_)
        if params.model in ("fifo", "lifo"):
            unknown = split & K.unknown_inputs(self.tx_first_in, self.in_value, step_txs)
        labels = self.tx_labels()[step_txs].tolist() if passed.any() else None   # one search for all steps
        models, heuristics = [], []
        for k, t in enumerate(step_txs.tolist()):
            if t in demixed:
                models.append("haircut")             # over the exits the evidence gave the actor
                heuristics.append(demixed[t])
            elif passed[k]:
                models.append("haircut")
                heuristics.append([f"mixer-pass-through:{LABELS[labels[k]]}"])
            elif unknown[k]:
                models.append("haircut")
                heuristics.append(["unknown-input-value"])   # positions on the value line are undefined
            else:
                models.append(params.model if split[k] else None)
                heuristics.append([])
        return models, heuristics

    def tx_labels(self) -> TxLabels:
        """The classifier's label code (``mixers.LABELS``) of the txs that have one, read once."""
        if self._tx_labels is None:
            self._tx_labels = self.lookups.tx_labels() if self.lookups is not None else tx_label_list(self.store)
        return self._tx_labels

    @staticmethod
    def _rank(amount: np.ndarray, kind: np.ndarray, names: list, first_outpoint: list[str]) -> list[int]:
        """Endpoint order: amount (largest first), kind name, address, first outpoint. Numbers sort
        first; only runs of equal amount and kind are then sorted by their strings."""
        order = np.lexsort((_KIND_RANK[kind], -amount))
        a, k = amount[order], kind[order]
        tie = np.concatenate(([False], (a[1:] == a[:-1]) & (k[1:] == k[:-1])))   # same as the one before
        if tie.any():
            at = np.flatnonzero(tie | np.concatenate((tie[1:], [False])))       # every member of a run
            run = np.cumsum(~tie)[at]
            sub = order[at].tolist()
            # Within a run one address is one group, so its name decides; groups without an address
            # (None, sorting as "") come first, by outpoint.
            key = [names[g] if names[g] is not None else "\0" + first_outpoint[g] for g in sub]
            by_name = np.array(sorted(range(len(sub)), key=key.__getitem__), np.int64)
            order[at] = np.asarray(sub)[by_name[np.argsort(run[by_name], kind="stable")]]
        return order.tolist()

    def _address_names(self, addr: np.ndarray) -> list[str | None]:
        """Address strings of address ids (-1: None), read from the store part by part as needed."""
        if not (addr >= 0).any():
            return [None] * len(addr)
        if self.lookups is not None:            # the read model's mapped strings: no Parquet part read
            return self.lookups.address_names(addr)
        return self._names()(addr)

    def load_address_names(self) -> None:
        """Read every address name now (a long-lived engine: no trace then pays for a part's read)."""
        self._names().load_all()

    def _names(self) -> AddressNames:
        if self._addresses is None:
            self._addresses = AddressNames(self.store)
        return self._addresses


def _params_dict(p: TraceParams) -> dict:
    d = {f.name: getattr(p, f.name) for f in fields(p)}   # every field is a scalar but the categories
    d["stop_categories"] = list(p.stop_categories)
    return d


class _SweptInto:
    """``swept_deposits``' answer for the addresses it found (sorted ``keys``, their ``into``), not 8 bytes
    per address of the chain: ``x[a]`` is where address ``a`` was swept, or -1."""

    def __init__(self, dense: np.ndarray):
        self.keys = np.flatnonzero(dense >= 0)
        self.into = dense[self.keys]

    @classmethod
    def of(cls, keys: np.ndarray, into: np.ndarray) -> "_SweptInto":
        """From the swept addresses (ascending) and their targets, as persisted."""
        got = cls(np.zeros(0, np.int64))
        got.keys, got.into = np.asarray(keys, np.int64), np.asarray(into, np.int64)
        return got

    def __getitem__(self, a: int) -> int:
        j = int(np.searchsorted(self.keys, a))
        return int(self.into[j]) if j < len(self.keys) and self.keys[j] == a else -1

    def many(self, a: np.ndarray) -> np.ndarray:
        """``x[a]`` for each address of ``a`` (-1 where not swept, and for -1)."""
        a = np.asarray(a, np.int64)
        out = np.full(len(a), -1, np.int64)
        if len(self.keys) and len(a):
            j = np.minimum(np.searchsorted(self.keys, a), len(self.keys) - 1)
            hit = (self.keys[j] == a) & (a >= 0)
            out[hit] = self.into[j[hit]]
        return out


class _TxTime:
    """Per tx its block's time (``x[t]`` for an int or an array), from the mapped tx -> block map."""

    def __init__(self, tx_block: np.ndarray, blk_time: np.ndarray):
        self.tx_block, self.blk_time = tx_block, blk_time

    def __getitem__(self, t):
        return self.blk_time[self.tx_block[t]]

    def __len__(self) -> int:
        return len(self.tx_block)


class StopAddresses:
    """Which addresses end a trace for given tag categories; also names their tags.

    A small in-memory stand-in; ``tags.propagation.Attribution`` is the same
    protocol backed by the tag store, with cluster propagation.
    """

    def __init__(self, n_addr: int, tags: dict[int, list[tuple[str, str]]]):
        # tags: addr_num -> [(category, label)]
        self.n = n_addr
        self.tags = tags

    def __call__(self, categories: tuple[str, ...]) -> np.ndarray:
        mask = np.zeros(self.n, np.bool_)
        cats = set(categories)
        for a, items in self.tags.items():
            if any(c in cats for c, _ in items):
                mask[a] = True
        return mask

    def tags_of(self, addr: int) -> list[str]:
        return [f"{c}:{label}" for c, label in self.tags.get(addr, [])]


def mixer_tx_mask(store: ChainStore) -> np.ndarray:
    """Txs labelled CoinJoin or mixer, as a bool per tx (``sparse_tx_labels.mixer_tx_list``: where they
    come from)."""
    return mixer_tx_list(store).dense(store.counts["txs"])

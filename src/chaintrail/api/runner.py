"""Where traces and screens run: beside the API, or in worker processes so they never stall lookups.

A trace is CPU work in Python and numba for milliseconds to seconds; in the
API process it would hold the interpreter while dozens of address lookups
wait behind it. With ``workers > 0`` each trace and screen runs in a worker
process that holds its own read model and trace engine over the same store
(the index columns are memory-mapped, so the pages are shared), and the API
process only answers lookups. With ``workers == 0`` (tests, notebooks) they
run in a thread of the API process, one at a time.

Tags added through the API bump a version number; a worker whose tags are
older re-reads them before its next task. Likewise, when an ingest grew the
store and the API process reopened it (``live``), a worker whose generation is
older reopens its own workbench before its next task (keeping its snapshot if
that fails, e.g. mid-commit).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path

import anyio

from chaintrail.analysis.screening import ScreenParams
from chaintrail.analysis.tracing import TraceParams
from chaintrail.api.live import LiveWorkbench
from chaintrail.api.workbench import Limits, Workbench
from chaintrail.errors import ChaintrailError, StoreError, UsageError
from chaintrail.i18n import _

log = logging.getLogger(__name__)
# The worker process's own workbench (set once by the pool initializer; never used in the API process).
_WORKER: dict = {}


def _init_worker(store_path: str, limits: dict, other_store: str | None = None) -> None:
    # Lookups are interactive, traces are not: when cores are short, the API process goes first.
    try:
        os.nice(19)
    except OSError:
        pass
    _WORKER.update(wb=Workbench(store_path, Limits(**limits), other_store), tags_version=0, generation=0,
                   store_path=store_path, limits=limits, other_store=other_store)


def _worker_wb(generation: int, tags_version: int) -> Workbench:
    if _WORKER["generation"] != generation:
        try:
            _WORKER["wb"] = Workbench(_WORKER["store_path"], Limits(**_WORKER["limits"]), _WORKER["other_store"])
            _WORKER.update(generation=generation, tags_version=tags_version)
        except Exception as exc:  # noqa: BLE001 - keep answering from the snapshot; retried next task
            log.warning("trace worker could not reopen the store yet (%s)", exc)
    wb = _WORKER["wb"]
    if _WORKER["tags_version"] != tags_version:
        wb.reload_tags()
        _WORKER["tags_version"] = tags_version
    return wb


def trace_body(wb: Workbench, spec: str, params: TraceParams, offset: int, limit: int, graph: bool,
               steps: bool, currency: str = "USD") -> dict:
    """The /trace JSON body: the full result's hash and totals, one page of endpoints, the canvas fragment."""
    from chaintrail.api.graph import GraphBuilder
    from chaintrail.api.present import next_offset
    from chaintrail.api.tracing import annotated, run_trace

    out = run_trace(wb, spec, params)
    eps = out["endpoints"]
    page, step_rows, fiat = annotated(wb, eps[offset:offset + limit], currency, out["steps"] if steps else None)
    body = {k: out[k] for k in ("source", "model", "params", "engine", "trace_hash", "totals")}
    body.update(endpoints=page, endpoints_total=len(eps), offset=offset, limit=limit,
                next_offset=next_offset(offset, len(page), len(eps)), steps_total=len(out["steps"]),
                step_rules=step_rules(out["steps"]), steps=step_rows if steps else None, fiat=fiat,
                graph=GraphBuilder(wb).trace_graph(out, wb.limits.graph_endpoints) if graph else None)
    return body


def step_rules(steps: list[dict]) -> dict[str, int]:
    """Steps per rule, most first: "fifo", "haircut (mixer-pass-through:wasabi2)", ... (steps that only
    hold a starting point or end a trail are left out)."""
    n = Counter(s["model"] + (f" ({', '.join(s['heuristics'])})" if s["heuristics"] else "")
                for s in steps if s.get("model"))
    return dict(sorted(n.items(), key=lambda kv: (-kv[1], kv[0])))


def trace_full(wb: Workbench, spec: str, params: TraceParams, currency: str = "USD") -> dict:
    """The whole result with every endpoint annotated (the CSV download)."""
    from chaintrail.api.tracing import annotated, run_trace

    out = run_trace(wb, spec, params)
    eps, _, fiat = annotated(wb, out["endpoints"], currency)
    return {**out, "endpoints": eps, "fiat": fiat}


def screen(wb: Workbench, subject: str, params: ScreenParams, currency: str = "USD") -> dict:
    return wb.screens.screen(subject, params, currency)


def eth_trace_body(wb: Workbench, spec: str, params, until_exchange: bool, offset: int, limit: int,
                   steps: bool, graph: bool = False, currency: str = "USD") -> dict:
    """The /eth/trace JSON body: one page of the full Ethereum result (see ``api.eth``)."""
    from chaintrail.api.eth import trace_page

    return trace_page(wb.eth.trace(spec, params, until_exchange, currency), offset, limit, steps, graph)


def eth_trace_full(wb: Workbench, spec: str, params, until_exchange: bool, currency: str = "USD") -> dict:
    """Every endpoint of an Ethereum trace with its fiat (the CSV export)."""
    from chaintrail.analysis.eth.priced_tokens import chain_id_of

    out = wb.eth.trace(spec, params, until_exchange, currency)
    full = {k: out[k] for k in ("source", "trace_hash", "endpoints", "fiat") if k in out}
    full["chain_id"] = out["chain_id"] if out.get("chain_id") is not None else chain_id_of(wb.eth.store)
    if "other_chain" in out:      # across a bridge: the far chain's endpoints too
        full["other_chain"] = {k: out["other_chain"][k] for k in ("chain_id", "endpoints")}
    return full


def eth_screen(wb: Workbench, subject: str, hops: int, as_of, currency: str = "USD") -> dict:
    return wb.eth.screen(subject, hops, as_of, currency)


def _in_worker(fn_name: str, generation: int, tags_version: int, *args):
    return globals()[fn_name](_worker_wb(generation, tags_version), *args)


class Runner:
    """Runs trace and screen tasks for one app."""

    def __init__(self, live: LiveWorkbench, store_path: str | Path, workers: int = 0):
        self.live = live
        self.workers = workers
        self._store_path = str(store_path)
        self._pool: ProcessPoolExecutor | None = self._new_pool() if workers > 0 else None
        self._slot_loop: asyncio.AbstractEventLoop | None = None
        self._slot_sem: asyncio.Semaphore | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: the API process has threads (uvicorn), which fork would copy half-way.
        other = None if self.live.other_store is None else str(self.live.other_store)
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(self._store_path, asdict(self.live.limits), other))

    def warm(self, wait: bool = False) -> None:
        """Start the workers now (they open the store and build their trace engines), not on the first trace.

        The server answers lookups meanwhile: a trace engine's scratch is O(chain) to build, so waiting
        for it would make start-up grow with the chain; a trace sent before it is ready waits in the pool.
        """
        if self._pool is not None:
            futures = [self._pool.submit(_worker_ready) for _ in range(self.workers)]
            self._lower_priority()
            for f in futures if wait else ():
                f.result()

    def _lower_priority(self) -> None:
        """Lower the workers' priority from here, at once: a spawned worker imports the project before its
        initializer runs ``os.nice``, and those seconds of CPU would compete with the server's first answers."""
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            try:
                os.setpriority(os.PRIO_PROCESS, proc.pid, 19)
            except (OSError, AttributeError, TypeError):
                pass

    async def run(self, fn_name: str, *args):
        generation = self.live.generation
        try:
            return await self._run(fn_name, *args)
        except ChaintrailError:
            raise
        except Exception:
            # A rollback may have removed Parquet parts the snapshot still names: ask the reopened store.
            if not self.live.changed_since(generation):
                raise
        await anyio.to_thread.run_sync(self.live.refresh)
        try:
            return await self._run(fn_name, *args)
        except ChaintrailError:
            raise
        except Exception as exc:
            raise StoreError(_("the store changed while this was answered (an ingest is running); retry")) from exc

    async def _run(self, fn_name: str, *args):
        wb = self.live.current()
        if self._pool is None:
            fn = globals()[fn_name]
            return await anyio.to_thread.run_sync(lambda: fn(wb, *args))
        async with self._slots():
            return await self._run_in_pool(fn_name, *args)

    def _slots(self) -> asyncio.Semaphore:
        """One slot per worker, so a task is sent only when a worker is free and its time budget counts its
        own run, not the wait behind others (the pool would queue it and start the clock at once)."""
        loop = asyncio.get_running_loop()
        if self._slot_loop is not loop:
            self._slot_loop, self._slot_sem = loop, asyncio.Semaphore(self.workers)
        return self._slot_sem

    async def _run_in_pool(self, fn_name: str, *args):
        limit = self.live.limits.task_seconds_max
        for attempt in range(2):
            pool = self._pool
            fut = pool.submit(_in_worker, fn_name, self.live.generation, self.live.tags_version, *args)
            try:
                return await asyncio.wait_for(asyncio.wrap_future(fut), limit)
            except asyncio.TimeoutError:
                # A worker cannot be interrupted mid-kernel: replace the pool, so one huge trace does not
                # hold a worker and a core for minutes while the others' traces queue behind it.
                self._replace_pool(pool)
                raise UsageError(_("this ran for more than {n} s and was stopped: narrow it (fewer hops, a "
                                   "minimum amount, a time window) or run it from the command line "
                                   "(chaintrail trace ... --parquet FILE)").format(n=f"{limit:g}")) from None
            except (BrokenProcessPool, asyncio.CancelledError):
                # Its worker went with a pool replaced for another task: once more on the new one.
                replaced = self._pool is not pool and fut.done() and (
                    fut.cancelled() or isinstance(fut.exception(), BrokenProcessPool))
                if attempt or not replaced:
                    raise
        raise AssertionError("unreachable")

    def _replace_pool(self, pool: ProcessPoolExecutor) -> None:
        """Start a fresh pool (warming up), then stop ``pool``'s workers, even mid-task."""
        if self._pool is not pool:
            return                  # another task already replaced it
        log.warning("a worker task ran past %s s: replacing the trace workers", self.live.limits.task_seconds_max)
        self._pool = self._new_pool()
        self.warm()
        # Terminate and join off the event loop (a join may wait seconds).
        threading.Thread(target=_stop, args=(pool,), name="stop-workers", daemon=True).start()

    def close(self) -> None:
        """Stop the workers now, even mid-trace (nobody is waiting for the answer any more)."""
        if self._pool is not None:
            _stop(self._pool)
            self._pool = None


def _stop(pool: ProcessPoolExecutor) -> None:
    procs = list((getattr(pool, "_processes", None) or {}).values())      # None once shut down
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(5)


def default_workers() -> int:
    """Trace workers for this machine: half its cores, at least 1, at most 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def _worker_ready() -> bool:
    # Now rather than inside the first trace: the engine, its whole-chain facts (loaded where an engine of this
    # state persisted them, else found and persisted: seconds on a 10M-tx chain) and the compiled kernels.
    _WORKER["wb"].warm_tracer()
    return "wb" in _WORKER

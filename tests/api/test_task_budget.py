"""A trace past the workers' time budget is stopped: the API answers with what to do instead, the workers are
replaced (a worker cannot be interrupted mid-kernel, and a huge trace would hold it and a core for minutes),
and the next trace runs on the new ones with the same answer."""

from __future__ import annotations

import asyncio

import pytest

from chaintrail.analysis.tracing import TraceParams
from chaintrail.api.live import LiveWorkbench
from chaintrail.api.runner import Runner, trace_body
from chaintrail.api.workbench import Limits
from chaintrail.errors import UsageError


def test_a_trace_past_the_budget_is_stopped_and_the_workers_replaced(demo):
    live = LiveWorkbench(demo.store, Limits(task_seconds_max=0.05))
    runner = Runner(live, demo.store, workers=1)
    args = ("trace_body", demo.subject, TraceParams(max_hops=3), 0, 10, False, False)
    try:
        runner.warm()                       # the worker starts (and loads the engine: longer than the budget)
        old = runner._pool
        old_procs = list(old._processes.values())
        with pytest.raises(UsageError, match="was stopped"):
            asyncio.run(runner.run(*args))
        assert runner._pool is not old
        live.limits = Limits()
        body = asyncio.run(runner.run(*args))
        ref = trace_body(live.current(), *args[1:])
        assert body["trace_hash"] == ref["trace_hash"] and body["totals"] == ref["totals"]
        for p in old_procs:
            p.join(10)
            assert not p.is_alive()
    finally:
        runner.close()

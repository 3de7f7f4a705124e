"""Paging a trace reads the kept result: the engine runs once per (source, params) until the tags change."""

from __future__ import annotations

from ct_workbench import MAINNET_SUBJECT

from chaintrail.analysis.tracing import TraceParams
from chaintrail.api import runner
from chaintrail.api.workbench import Workbench


def test_pages_come_from_one_run(mainnet_store):
    wb = Workbench(mainnet_store)
    try:
        runs = []
        real = wb.tracer.trace

        def counted(spec, params):
            runs.append(spec)
            return real(spec, params)

        wb.tracer.trace = counted
        params = TraceParams(max_hops=3)
        first = runner.trace_body(wb, MAINNET_SUBJECT, params, 0, 2, False, False)
        total = first["endpoints_total"]
        assert total > 2
        pages, offset = [first], first["next_offset"]
        while offset is not None:
            pages.append(runner.trace_body(wb, MAINNET_SUBJECT, params, offset, 2, False, False))
            offset = pages[-1]["next_offset"]
        assert len(runs) == 1
        full = runner.trace_full(wb, MAINNET_SUBJECT, params)
        assert len(runs) == 1
        assert [e for p in pages for e in p["endpoints"]] == full["endpoints"]
        assert {p["trace_hash"] for p in pages} == {full["trace_hash"]}
        assert all("risk" in e and "label" in e for e in full["endpoints"])
        # The kept result is the engine's, not the annotated copy pages were given.
        assert all("risk" not in e for e in wb.trace_dict(MAINNET_SUBJECT, params)["endpoints"])

        runner.trace_body(wb, MAINNET_SUBJECT, TraceParams(max_hops=2), 0, 2, False, False)
        assert len(runs) == 2                      # other params: another run
        wb.reload_tags()                           # a fresh engine: the kept results are dropped
        runs_after = []
        real2 = wb.tracer.trace
        wb.tracer.trace = lambda spec, params: runs_after.append(spec) or real2(spec, params)
        again = runner.trace_body(wb, MAINNET_SUBJECT, params, 0, 2, False, False)
        assert len(runs_after) == 1 and again["trace_hash"] == first["trace_hash"]
    finally:
        wb.close()

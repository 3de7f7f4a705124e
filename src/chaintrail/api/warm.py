"""Compile the numba kernels of the demo and the workbench once, into numba's on-disk cache.

Every kernel is ``@nb.njit(cache=True)``: numba keeps the machine code in
``__pycache__`` beside each source file, keyed by the file's mtime and size
and by the argument types. A fresh clone has none, so the first ``chaintrail
demo`` would spend about a minute compiling (scenario generator, parser,
ingest, CoinJoin labels, clustering) and the workbench's first trace another
(the taint kernel). ``warm`` runs that same path once on a small case in a
temporary folder; ``scripts/setup.sh`` calls it, so the user's first demo
loads the compiled code instead. The types a kernel is called with do not
depend on the chain's size, so a small case covers the full-size demo.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WARM_SCALE = 1.0     # thousands of background transactions: enough that every event kind and case step runs


def warm_kernels(*, scale: float = WARM_SCALE, progress: Callable[[str], None] | None = None) -> dict:
    """Build a small demo case and trace and screen it as the workbench does; return the seconds per step."""
    from chaintrail.analysis.screening import ScreenParams
    from chaintrail.analysis.tracing import TraceParams
    from chaintrail.api.demo_case import build_demo
    from chaintrail.api.runner import screen, trace_body
    from chaintrail.api.workbench import Workbench

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="chaintrail-warm-"))
    try:
        case = build_demo(tmp / "demo", scale=scale, progress=say)
        timings["demo_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        say("compiling the trace and screening kernels")
        wb = Workbench(case.store)
        try:
            # The demo's guided trace (forward, demix), then backward and every model's path through the kernel.
            for params in (TraceParams(direction="forward"), TraceParams(direction="backward"),
                           TraceParams(model="fifo", mixer_policy="haircut")):
                trace_body(wb, case.subject, params, 0, 50, True, False)
            screen(wb, case.subject, ScreenParams())
            wb.view.addr_num("1")   # the address search's kernel (store/model_addresses.py)
        finally:
            wb.close()
        timings["trace_s"] = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    timings["total_s"] = time.perf_counter() - t0
    return {k: round(v, 2) for k, v in timings.items()}

"""Time and memory of building the workbench's read model (``store.readmodel.build``) on a store.

    .venv/bin/python bench/readmodel_build.py --store DIR [--rows N] [--tail-blocks N]

Removes the store's read model, then in a fresh child process builds it whole and prints the time and the
child's peak memory: anonymous (what the build itself holds, sampled every 10 ms) and its peak RSS
(VmHWM: anonymous plus the file pages it had mapped, i.e. OS page cache it touched). Then the
incremental case: a model of the store as of all but its last ``--tail-blocks`` blocks (the state an
earlier ingest left), and the build for the whole store on top of it (reused runs are hard links).

``--rows`` sets the rows (inputs + outputs) per built run (``readmodel_runs.ROWS``; the merge's chunk is a
quarter of it): peak memory follows it, not the chain's length, which is what this prints on two stores of
different sizes (small generated chains need a small ``--rows`` to be split into several runs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, threading, time
from chaintrail.store import readmodel, readmodel_runs
from chaintrail.store.chainstore import ChainStore
rows = int(sys.argv[2])
if rows:
    readmodel_runs.ROWS = rows
    readmodel_runs.CHUNK = max(1024, rows // 4)
peak = [0]
def status():
    out = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("RssAnon", "VmHWM", "RssFile"):
            out[k] = int(v.split()[0]) * 1024
    return out
stop = []
def sample():
    while not stop:
        peak[0] = max(peak[0], status()["RssAnon"])
        time.sleep(0.01)
base = status()["RssAnon"]
th = threading.Thread(target=sample, daemon=True); th.start()
t = time.perf_counter()
with ChainStore(sys.argv[1]) as st:
    cut = int(sys.argv[3])
    if cut:     # the store as an earlier ingest left it: counts at a block boundary (a snapshot, read-only)
        c = st.manifest["counts"]
        k = c["blocks"] - cut
        tn = int(st.column("blk_first_tx")[k])
        c.update(blocks=k, txs=tn, inputs=int(st.column("tx_first_in")[tn]),
                 outputs=int(st.column("tx_first_out")[tn]), addresses=int(st.column("blk_first_addr")[k]))
    folder = readmodel.build(st)
    counts = st.counts
took = time.perf_counter() - t
stop.append(1); th.join()
meta = json.loads((folder / readmodel.META).read_text())
print(json.dumps({"seconds": took, "anon_peak": peak[0], "anon_at_start": base, "vm_hwm": status()["VmHWM"],
                  "counts": counts, "runs": [r["b"] for r in meta["runs"]]}))
"""


def _child(store: Path, rows: int, cut: int = 0) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(store), str(rows), str(cut)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=0, help="rows per built run (default: readmodel_runs.ROWS)")
    ap.add_argument("--tail-blocks", type=int, default=10, help="blocks the incremental build adds")
    args = ap.parse_args()
    root = args.store / "readmodel"
    shutil.rmtree(root, ignore_errors=True)
    _child(args.store, args.rows)         # warm numba's cache and the page cache: the timed build is the next one
    shutil.rmtree(root, ignore_errors=True)
    whole = _child(args.store, args.rows)
    c = whole["counts"]
    print(f"store {args.store}: {c['txs']:,} txs, {c['inputs']:,} inputs, {c['outputs']:,} outputs, "
          f"{c['addresses']:,} addresses; runs {whole['runs']}")
    print(f"whole build: {whole['seconds']:.1f} s, anon peak {_mb(whole['anon_peak'])} "
          f"(python+numpy at start {_mb(whole['anon_at_start'])}), VmHWM {_mb(whole['vm_hwm'])}")
    shutil.rmtree(root, ignore_errors=True)
    older = _child(args.store, args.rows, args.tail_blocks)
    inc = _child(args.store, args.rows)
    print(f"incremental: model of all but the last {args.tail_blocks} blocks ({older['seconds']:.1f} s), then the "
          f"whole store's on top of it: {inc['seconds']:.1f} s (whole from scratch {whole['seconds']:.1f} s), "
          f"anon peak {_mb(inc['anon_peak'])}, runs {inc['runs']}")

if __name__ == "__main__":
    main()

"""False-match rate of the custodial mixer's amount-timing leads, measured on generated chains.

Run: .venv/bin/python bench/amount_timing.py STORE... [--trials 400] [--seed 1] [--write]
     (stores prepared from `chaintrail scenario generate` folders, e.g. by bench/tag_coverage.py --work DIR,
      or `chaintrail demo`; each needs a custodial mixer)

Per store, ``--trials`` synthetic deposits: an amount drawn log-uniform between 0.005 and 10 BTC and a
time drawn uniform over the mixer's active span. None has a payout of its own, so every lead the rule
(`analysis/payout_match.py`, as `demix` applies it: the one owner group of customer-spent chips in the
demix window after the deposit whose value matches, net of a fee in range or within one smallest chip)
would claim for it is a false match. Prints the count, the rate and its 95 % Wilson interval, and how
often at least one candidate was in the band; `--write` stores them in
src/chaintrail/analysis/amount_timing_rate.json, where trace results and court reports quote them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from chaintrail.analysis import payout_match as PM
from chaintrail.analysis.demix import amount_match
from chaintrail.analysis.evaluation import wilson
from chaintrail.analysis.tracing import TraceEngine
from chaintrail.store.chainstore import ChainStore


def trials(store: Path, n: int, rng: np.random.Generator) -> tuple[int, int, int]:
    """(false matches, trials with any candidate, trials) on one store."""
    with ChainStore(store) as st:
        eng = TraceEngine.open(st)
        dm = eng.demixer()
        allx = dm.custodial_exits(-(1 << 62), 1 << 62)
        if not allx:
            return 0, 0, 0
        spend_t = np.array([int(eng.tx_time[dm.spender(x)]) for x in allx])
        lo, hi = int(spend_t.min()) - dm.window_s, int(spend_t.max())
        false = anyc = 0
        for _ in range(n):
            t = int(rng.integers(lo, hi + 1))
            amount = int(10 ** rng.uniform(np.log10(500_000), 9))
            ex = dm.custodial_exits(t, t + dm.window_s)
            dsu, _, _ = dm.components(ex, {x: dm.spender(x) for x in ex}, set(), set())
            values = {x: int(eng.out_value[x]) for x in ex}
            got, cands = amount_match(ex, values, dsu, set(), amount, dm.payout_fee)
            false += bool(got)
            anyc += cands > 0
        return false, anyc, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--trials", type=int, default=400, help="synthetic deposits per store")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--label", default="", help="where the stores came from, e.g. 'development seeds 31-35'")
    ap.add_argument("--write", action="store_true", help=f"store the figures in {PM.RATE_FILE.name}")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    k = anyc = n = 0
    for s in args.stores:
        f, a, m = trials(s, args.trials, rng)
        print(f"{s}: {f}/{m} false matches, {a}/{m} with a candidate in the band")
        k, anyc, n = k + f, anyc + a, n + m
    lo_hi = wilson(k, n)
    rate = {"false_match_rate": k / n if n else None, "false_matches": k, "trials": n,
            "wilson95": [round(lo_hi[0], 4), round(lo_hi[1], 4)] if lo_hi else None,
            "any_candidate_rate": anyc / n if n else None,
            "fee_range": list(PM.FEE_RANGE), "smallest_chip_sat": PM.SMALLEST_CHIP,
            "measured_on": f"generated chains ({args.label or ', '.join(p.name for p in args.stores)}): synthetic "
                           "deposits (log-uniform 0.005-10 BTC, uniform time), none with a payout of its own",
            "method": "bench/amount_timing.py"}
    print(json.dumps(rate, indent=1))
    if args.write:
        PM.RATE_FILE.write_text(json.dumps(rate, indent=1) + "\n")


if __name__ == "__main__":
    main()

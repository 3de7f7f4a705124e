"""Demix results against tag coverage: what an investigator recovers with full, partial and hot-wallet-only tags.

Run: .venv/bin/python bench/tag_coverage.py SCENARIO_DIR... [--coverage full,0.5,0.1,hot,realistic] [--work DIR]
     (folders from `chaintrail scenario generate --seed N --kind all --scale S --out DIR`)

Each folder is ingested, labelled and clustered once; then per coverage the scenario's service tags
(`scenario.attribution`: `full` = every service address from the answer key, a fraction = that share
of every service's addresses beyond its hot and cold wallets, `hot` = hot/cold wallets and one address
per P2P trader or casino, `realistic` = the default) are imported into a copy and every case is traced
(`scenario score-trace`). Prints per seed, coverage and case kind: cash-outs matched within 1 %,
coverage of the laundered value, and the precision of the sats claimed at exchanges (the share the
answer key puts on the same output), then the totals per coverage and kind. `--json FILE` keeps them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from chaintrail.analysis.trace_eval import build_store, import_service_tags, score_traces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--coverage", default="full,0.5,0.1,hot,realistic")
    ap.add_argument("--work", type=Path, default=None, help="where the stores go (default: a temporary folder)")
    ap.add_argument("--no-leads", action="store_true", help="demix on evidence alone")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    covs = [c.strip() for c in args.coverage.split(",") if c.strip()]
    tmp = tempfile.TemporaryDirectory(prefix="ct-tag-coverage-") if args.work is None else None
    work = Path(tmp.name) if tmp else args.work
    rows = []
    for folder in args.folders:
        seed = json.loads((folder / "answer_key.json").read_text())["generator"]["seed"]
        base = work / f"{folder.name}-base"
        if not (base / "MANIFEST.json").exists():
            shutil.rmtree(base, ignore_errors=True)
            build_store(folder, base)
        for cov in covs:
            store = work / f"{folder.name}-{cov}"
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(base, store)
            import_service_tags(folder, store, cov)
            res = score_traces(folder, store, demix_leads=not args.no_leads)
            for c in res["cases"]:
                rows.append({"folder": folder.name, "seed": seed, "coverage": cov, "case": c["case"], "kind": c["kind"],
                             "matched": c["matched"], "cash_outs": c["cash_outs"], "coverage_of_value": c["coverage"],
                             "claimed_sat": c["claimed_at_exchanges_sat"], "correct_sat": c["correct_at_exchanges_sat"],
                             "leads": c["lead_exits"], "amount_timing_leads": c["amount_timing_leads"]})
                r = rows[-1]
                prec = r["correct_sat"] / r["claimed_sat"] if r["claimed_sat"] else float("nan")
                print(f"seed {seed:>3} {cov:>9} {c['kind']:<14} {r['matched']:>3}/{r['cash_outs']:<3} "
                      f"value {r['coverage_of_value']:.4f}  precision {prec:.4f}  leads {r['leads']}", flush=True)
            if tmp:
                shutil.rmtree(store, ignore_errors=True)      # kept under --work (bench/amount_timing.py reads them)
    print("\ntotals per coverage and case kind (matched cash-outs, precision of sats claimed at exchanges)")
    tot: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        for k in (r["kind"], "all"):
            t = tot[(r["coverage"], k)]
            t[0] += r["matched"]
            t[1] += r["cash_outs"]
            t[2] += r["correct_sat"]
            t[3] += r["claimed_sat"]
    for (cov, kind), t in sorted(tot.items(), key=lambda kv: (covs.index(kv[0][0]), kv[0][1])):
        print(f"{cov:>9} {kind:<14} {t[0]:>4}/{t[1]:<4} precision {t[2] / t[3] if t[3] else float('nan'):.4f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()

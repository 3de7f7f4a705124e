"""Regenerate the error-rate table in one go: generate, evaluate in and out of sample, add real data.

The seed lists live here and nowhere else. In-sample runs are development seeds with the reference
behaviour (the chains the rules were written on); out-of-sample runs are reserved evaluation seeds
(``scenario.evaluation``) with behaviour drawn per seed. The real-data figures come from
``analysis.real_eval.evaluate_real`` over the labelled sets in the shared data folder.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chaintrail.analysis import error_rates as ER
from chaintrail.analysis.rate_inputs import fingerprint, heuristic_versions
from chaintrail.errors import UsageError


@dataclass(frozen=True)
class Run:
    seed: int
    kind: str
    scale: float


# The documented runs (docs/heuristics.md). Out of sample mirrors the in-sample mix of case kinds.
IN_SAMPLE = (Run(1, "all", 1.0), Run(2, "ransomware", 5.0), Run(3, "exchange_hack", 5.0), Run(6, "darknet", 5.0),
             Run(7, "scam", 5.0), Run(8, "all", 10.0), Run(11, "all", 2.0))
OUT_OF_SAMPLE = (Run(9000, "all", 2.0), Run(9001, "ransomware", 3.0), Run(9002, "exchange_hack", 3.0),
                 Run(9003, "darknet", 3.0), Run(9004, "scam", 3.0), Run(9005, "all", 5.0))
# --quick: one small chain per generated source (minutes, wide intervals; the table says so).
QUICK_IN_SAMPLE = (Run(11, "all", 1.0),)
QUICK_OUT_OF_SAMPLE = (Run(9000, "all", 1.0),)


def check_runs(in_sample: tuple[Run, ...], out_of_sample: tuple[Run, ...]) -> None:
    """In-sample runs must use development seeds, out-of-sample runs unspent evaluation seeds."""
    from chaintrail.scenario.evaluation import DEVELOPMENT_SEEDS, is_eval_seed

    bad = [r.seed for r in in_sample if r.seed not in DEVELOPMENT_SEEDS]
    if bad:
        raise UsageError(f"in-sample runs must use development seeds; not one: {bad}")
    bad = [r.seed for r in out_of_sample if not is_eval_seed(r.seed)]
    if bad:
        raise UsageError(f"out-of-sample runs must use unspent evaluation seeds; not one: {bad}")


def evaluate_runs(runs: tuple[Run, ...], behaviour: str, workdir: Path,
                  step: Callable[[str], None]) -> list[dict]:
    """Generate each run's chain under ``workdir``, score it against its answer key, delete it."""
    from chaintrail.analysis.scenario_eval import evaluate_scenario
    from chaintrail.scenario.generator import generate

    results = []
    for r in runs:
        folder = workdir / f"{behaviour}-{r.seed}-{r.kind}-{r.scale:g}"
        step(f"generating seed {r.seed} {r.kind} scale {r.scale:g} ({behaviour} behaviour)")
        generate(folder, seed=r.seed, kind=r.kind, scale=r.scale, behaviour=behaviour)
        step(f"evaluating seed {r.seed} {r.kind} scale {r.scale:g}")
        res = evaluate_scenario(folder)
        res["scenario"] = {"seed": r.seed, "kind": r.kind, "scale": r.scale, "behaviour": behaviour}
        results.append(res)
        shutil.rmtree(folder, ignore_errors=True)
    return results


def real_scores(data_dir: Path | None) -> tuple[dict | None, str]:
    """real_eval's result over ``data_dir``, or (None, why there is none)."""
    if data_dir is None:
        return None, "no real data folder given (--real-data)"
    if not Path(data_dir).is_dir():
        raise UsageError(f"real data folder {data_dir} does not exist")
    try:
        from chaintrail.analysis.real_eval import evaluate_real
    except ImportError:
        return None, "the real-data evaluator (chaintrail.analysis.real_eval) is not available"
    return evaluate_real(Path(data_dir)), ""


def regenerate(data_dir: Path | None, quick: bool = False, workdir: Path | None = None,
               step: Callable[[str], None] | None = None, command: str | None = None,
               runs: tuple[tuple[Run, ...], tuple[Run, ...]] | None = None, real_out: dict | None = None) -> dict:
    """The whole error-rate table, measured now (``runs`` overrides the documented seed lists);
    ``real_out``, when given, receives real_eval's whole result (its detail tables)."""
    step = step or (lambda _msg: None)
    in_runs, out_runs = runs or ((QUICK_IN_SAMPLE, QUICK_OUT_OF_SAMPLE) if quick else (IN_SAMPLE, OUT_OF_SAMPLE))
    check_runs(in_runs, out_runs)
    versions = heuristic_versions()
    inputs = fingerprint(versions=versions)   # the code as it was when measuring started
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ct-rates-", dir=workdir) as tmp:
        in_res = evaluate_runs(in_runs, "reference", Path(tmp), step)
        out_res = evaluate_runs(out_runs, "random", Path(tmp), step)
    step("evaluating real labelled data")
    real, reason = real_scores(data_dir)
    if real is not None and real_out is not None:
        real_out.update(real)
    command = command or ("chaintrail heuristics regenerate" + (f" --real-data {data_dir}" if data_dir else "")
                          + (" --quick" if quick else ""))
    return ER.build_table(in_res, out_res, real, real_reason=reason, versions=versions, inputs=inputs,
                          measured_at=datetime.date.today().isoformat(), command=command, quick=quick)

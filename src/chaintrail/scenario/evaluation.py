"""The seeds reserved for out-of-sample evaluation, the seeds the rules were developed on, and a helper.

Every figure measured on generated chains says which seeds it rests on:

* ``DEVELOPMENT_SEEDS``: the seeds the heuristics, the classifier and demix were written
  and tuned on (docs/heuristics.md, docs/demixing.md, the tests, the benches, git log),
  all generated with the reference behaviour profile.  Figures on them are in sample.
* ``EVAL_SEEDS`` (9000-9999): reserved.  No rule is tuned on them; they are generated with
  behaviour drawn at random per seed (``scenario.behaviour.draw``), including behaviour
  families the rules were not written against.  Figures on them are out of sample.
  Once a rule is changed because of what an evaluation seed showed, that seed is spent:
  move it to ``SPENT_EVAL_SEEDS`` so no later figure counts it as out of sample.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

EVAL_SEEDS = range(9000, 10000)
SPENT_EVAL_SEEDS: frozenset[int] = frozenset()
# seed -> where it was used while the rules were written (in sample)
DEVELOPMENT_SEEDS: dict[int, str] = {
    1: "heuristics table (all, scale 1); screening tests; bench/cluster",
    2: "heuristics table (ransomware, scale 5)",
    3: "heuristics table (exchange_hack, scale 5); demix test fixture (all, scale 1); determinism tests",
    4: "scenario CLI test",
    5: "clustering tests; determinism (xor) test",
    6: "heuristics table (darknet, scale 5)",
    7: "heuristics table (scam, scale 5); workbench tests",
    8: "heuristics table (all, scale 10)",
    9: "determinism tests",
    11: "heuristics table (all, scale 2); scenario test session; score-trace tests; bench/screen",
    12: "determinism tests",
    27: "demix tests (ransomware, scale 2)",
    31: "demix rules (scale 20)", 32: "demix rules (scale 20)", 33: "demix rules (scale 20)",
    34: "demix rules (scale 20); bench traces", 35: "demix rules (scale 20)",
    36: "demix lead rule, then the custodial-mixer lead rule (scale 20)",
    37: "demix lead rule (scale 20)", 38: "demix lead rule (scale 20)",
    42: "README bench chain (all, scale 10000)",
}


def is_eval_seed(seed: int) -> bool:
    """True for a seed of the reserved evaluation block that has not been spent."""
    return int(seed) in EVAL_SEEDS and int(seed) not in SPENT_EVAL_SEEDS


def sample_kind(seed: int) -> str:
    """``out_of_sample``, ``in_sample`` (a development seed) or ``generated`` (any other seed)."""
    if is_eval_seed(seed):
        return "out_of_sample"
    return "in_sample" if int(seed) in DEVELOPMENT_SEEDS else "generated"


def generate_eval_scenarios(out_dir: str | Path, seeds: Iterable[int], kinds: Iterable[str],
                            scale: float = 2.0, reuse: bool = True) -> list[Path]:
    """Generate one scenario per (seed, kind) under ``out_dir`` with random behaviour; returns the folders.

    Folders are named ``eval-<seed>-<kind>-<scale>``.  With ``reuse`` a folder whose answer key
    already records the same seed, kind, scale and random behaviour is kept as it is (the
    generator is deterministic).  Every seed must be an evaluation seed.
    """
    import json

    from chaintrail.errors import UsageError
    from chaintrail.scenario.generator import generate

    seeds, kinds = [int(s) for s in seeds], list(kinds)
    bad = [s for s in seeds if not is_eval_seed(s)]
    if bad:
        raise UsageError(f"not evaluation seeds: {bad} (use {EVAL_SEEDS.start}-{EVAL_SEEDS.stop - 1})")
    folders = []
    for seed in seeds:
        for kind in kinds:
            folder = Path(out_dir) / f"eval-{seed}-{kind}-{scale:g}"
            key = folder / "answer_key.json"
            if reuse and key.is_file():
                gen = json.loads(key.read_text()).get("generator", {})
                if (gen.get("seed"), gen.get("kind"), gen.get("scale"),
                        gen.get("behaviour", {}).get("mode")) == (seed, kind, scale, "random"):
                    folders.append(folder)
                    continue
            generate(folder, seed=seed, kind=kind, scale=scale, behaviour="random")
            folders.append(folder)
    return folders

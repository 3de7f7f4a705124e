"""What the stored error rates depend on: each heuristic's version and a fingerprint of the code.

``error_rates.json`` stores both beside its figures. When a rule, the generator or an evaluator
changes, the recomputed fingerprint differs from the stored one and a test tells the developer to
run ``chaintrail heuristics regenerate``; a version string (kept beside each rule, bumped when the
rule changes) tells a reader which rule a figure measured.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import chaintrail

REGENERATE_COMMAND = "chaintrail heuristics regenerate --real-data ../shared/data"

# Source files the figures depend on, relative to the package folder (glob patterns).
INPUT_FILES = (
    "analysis/mixers.py",
    "analysis/heuristics/*.py",
    "analysis/clustering.py",
    "analysis/union_find.py",
    "analysis/peel_chains.py",
    "analysis/evaluation.py",
    "analysis/scenario_eval.py",
    "analysis/real_eval.py",
    "analysis/labelled_txs.py",
    "analysis/rate_regen.py",
    "scenario/**/*.py",
)
# Ethereum's scenario files: the Bitcoin figures do not depend on them.
EXCLUDED_FILES = ("scenario/eth_*.py", "scenario/eth/**/*.py")


def package_root() -> Path:
    return Path(chaintrail.__file__).resolve().parent


def heuristic_versions() -> dict[str, str | None]:
    """The version string of each heuristic in the error-rate table, read from beside its rule."""
    from chaintrail.analysis import mixers, peel_chains
    from chaintrail.analysis.clustering import VERSION as CLUSTERING
    from chaintrail.analysis.heuristics import HEURISTICS
    from chaintrail.analysis.heuristics.combine import VERSION as CHANGE

    v: dict[str, str | None] = {"multi-input": CLUSTERING, "multi-input+change": f"{CLUSTERING}+{CHANGE}",
                                "change": CHANGE, "coinjoin": mixers.VERSION, "peel-chain": peel_chains.VERSION,
                                "tag-propagation": None}
    v.update({f"change:{h.NAME}": h.VERSION for h in HEURISTICS})
    return v


def input_files(root: Path | None = None) -> list[Path]:
    """The files the fingerprint covers, sorted by their path under ``root`` (the package folder)."""
    root = root or package_root()
    found: set[Path] = set()
    for pattern in INPUT_FILES:
        found.update(p for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    for pattern in EXCLUDED_FILES:
        found.difference_update(root.glob(pattern))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def fingerprint(root: Path | None = None, versions: dict | None = None) -> dict:
    """sha256 of each input file (line endings normalised), and one sha256 over them and the versions."""
    root = root or package_root()
    versions = heuristic_versions() if versions is None else versions
    files = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes().replace(b"\r\n", b"\n")).hexdigest()
             for p in input_files(root)}
    h = hashlib.sha256()
    for rel, digest in files.items():
        h.update(f"{rel} {digest}\n".encode())
    for name in sorted(versions):
        h.update(f"{name}={versions[name]}\n".encode())
    return {"sha256": h.hexdigest(), "files": files}


def staleness(table: dict, root: Path | None = None) -> list[str]:
    """Why the stored figures no longer describe the code (empty when they are current)."""
    from chaintrail.analysis.error_rates import HEURISTICS, version_key

    problems = []
    code_versions = heuristic_versions()
    stored = table.get("heuristics", {})
    for name in HEURISTICS:
        have, want = (stored.get(name) or {}).get("version"), code_versions.get(version_key(name))
        if name not in stored:
            problems.append(f"{name}: no figures stored")
        elif have != want:
            problems.append(f"{name}: figures measured version {have}, the code is {want}")
    inputs = table.get("inputs") or {}
    now = fingerprint(root, code_versions)
    if inputs.get("sha256") != now["sha256"]:
        was = inputs.get("files") or {}
        changed = sorted(f for f in set(now["files"]) | set(was) if now["files"].get(f) != was.get(f))
        problems.append("the heuristics, generator or evaluators changed since the figures were measured"
                        + (f" ({', '.join(changed)})" if changed else ""))
    return problems

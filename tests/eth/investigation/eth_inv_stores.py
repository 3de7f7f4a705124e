"""Ethereum scenario chains for the investigation tests: generated, served from the journals and ingested once per
test session and arguments (chain A's store and the answer key)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from anvil_needed import need_anvil

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
_BUILT: dict[tuple, tuple[Path, dict]] = {}   # one session's chains, by arguments


def _build(root: Path, seed: int, kind: str, scale: float, fast: bool) -> tuple[Path, dict]:
    from chaintrail.scenario.eth.behaviour import REFERENCE
    from chaintrail.scenario.eth.generate import generate
    from chaintrail.scenario.eth.serve import serve

    out = root / f"{seed}-{kind}-{scale}-{int(fast)}"
    # short Tornado waits, frequent sweeps and small blocks, so a small chain holds every kind of activity
    behaviour = replace(REFERENCE, txs_per_block=40, tornado_wait_min=1, tornado_wait_max=4, sweep_every=4,
                        bridge_back_p=0.9) if fast else None
    generate(seed, kind, scale, out / "scenario", behaviour=behaviour)
    with serve(out / "scenario") as nodes:
        r = subprocess.run([*CLI, "ingest", "eth", "--rpc", nodes[31337].url, "--store", str(out / "a"), "--json"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    return out, json.loads((out / "scenario" / "answer_key.json").read_text())


def scenario_store(tmp_path_factory, seed: int, kind: str = "all", scale: float = 2, *,
                   fast: bool = True) -> tuple[Path, Path, dict]:
    """(chain A's store, the scenario folder, the answer key) of one generated chain, built once per session;
    evaluation seeds keep their randomised behaviour when ``fast`` is False."""
    need_anvil()
    args = (seed, kind, scale, fast)
    if args not in _BUILT:
        _BUILT[args] = _build(tmp_path_factory.mktemp("eth-inv"), *args)
    out, key = _BUILT[args]
    return out / "a", out / "scenario", key

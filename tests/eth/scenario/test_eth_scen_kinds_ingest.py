"""Issue 20's done-when, per crime kind: generate, serve from the journals, ingest both chains with
`chaintrail ingest eth`, and for every actor of the answer key its value flows per asset equal its balance change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anvil_needed import need_anvil
from test_eth_scen_economy import FAST, _check_identity, _ingest

from chaintrail.scenario.eth.generate import generate
from chaintrail.scenario.eth.serve import serve


def _actors(case: dict, chain: str) -> list[str]:
    """Every address the key gives the case on one chain: its entities', victims', deposit addresses."""
    out = {a["address"] for e in case["entities"] for a in e["addresses"] if a.get("chain", "A") == chain}
    if chain == "A":
        out |= {v if isinstance(v, str) else v["address"] for v in case["victims"]}
        out |= {d["address"] for d in case["deposit_addresses"]}
    return sorted(out)


@pytest.mark.parametrize("kind", ["defi_exploit", "approval_phishing", "pig_butchering", "sanctions_evasion"])
def test_each_kind_generates_ingests_and_its_actors_balance(kind, tmp_path) -> None:
    need_anvil()
    out = tmp_path / "scenario"
    generate(11, kind, 2, out, behaviour=FAST)
    key = json.loads((out / "answer_key.json").read_text())
    (case,) = [c for c in key["cases"] if c["kind"] == kind]
    assert case["reached"], "the case reached no exchange"
    world = key["world"]
    tokens_a = [*world["stablecoins"].values(), world["weth"]]
    wrapped = list(world["bridge"]["wrapped"].values())
    with serve(out) as nodes:
        url_a, url_b = nodes[31337].url, nodes[31338].url
        tip_a = _ingest(url_a, tmp_path / "a")
        tip_b = _ingest(url_b, tmp_path / "b")
        actors_a = _actors(case, "A")
        assert len(actors_a) >= 3
        assert _check_identity(url_a, tmp_path / "a", tip_a, actors_a, tokens_a) >= 3
        actors_b = _actors(case, "B")
        if actors_b:
            _check_identity(url_b, tmp_path / "b", tip_b, actors_b, wrapped)

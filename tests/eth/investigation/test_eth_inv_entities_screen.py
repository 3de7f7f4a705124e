"""Ethereum entities and screening on a generated two-chain scenario (all four crime kinds), ingested from anvil:
`chaintrail cluster --chain eth`, `entity explain --chain eth` and `chaintrail screen --chain eth`, checked
against the answer key (which the analysis never reads)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from anvil_needed import need_anvil

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
OFAC_ETH = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tags" / "ofac-sdn" / \
    "sanctioned_addresses_ETH.txt"


def _run(*args: str, ok: int = 0) -> dict:
    r = subprocess.run([*CLI, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == ok, r.stderr
    return json.loads(r.stdout) if r.stdout.strip() else {}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    need_anvil()
    from chaintrail.scenario.eth.generate import generate
    from chaintrail.scenario.eth.serve import serve
    from chaintrail.scenario.eth.service_tags import write_service_tags

    root = tmp_path_factory.mktemp("ethinv")
    generate(7, "all", 2, root / "scenario")
    with serve(root / "scenario") as nodes:
        r = subprocess.run([*CLI, "ingest", "eth", "--rpc", nodes[31337].url, "--store", str(root / "store"),
                            "--json"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    write_service_tags(root / "scenario", root / "services.csv")
    _run("tags", "import", str(root / "services.csv"), "--store", str(root / "store"))
    key = json.loads((root / "scenario" / "answer_key.json").read_text())
    return root, key


def _case(key: dict, kind: str) -> dict:
    return next(c for c in key["cases"] if c["kind"] == kind)


def _role(case: dict, role: str) -> list[str]:
    return [a["address"] for e in case["entities"] for a in e["addresses"] if a["role"] == role]


def test_cluster_eth_links_gas_funded_hops_refuses_the_drainer_and_explains(world) -> None:
    root, key = world
    store = str(root / "store")
    rep = _run("cluster", "--chain", "eth", "--store", store)
    assert rep["links"]["deployer/1"] > 0 and rep["links"]["gas-funding/1"] > 0
    # The phishing drainer is approved by many victims: refused, never one entity with them.
    drainer = _role(_case(key, "approval_phishing"), "drainer")[0]
    assert drainer in {r["spender"] for r in rep["refused"]}
    labels = pq.read_table(root / "store" / "analysis" / "eth_clusters.parquet")["cluster_id"].to_numpy()
    assert len(labels) == rep["addresses"]
    # The sanctions case's funder pays gas for its hops: the key's gas_funding moves are found as links.
    flows = pq.read_table(root / "scenario" / "answer_key" / "flows.parquet").to_pylist()
    se = _case(key, "sanctions_evasion")["id"]
    gas = [(f["from"], f["to"], f["tx"]) for f in flows if f["kind"] == "gas_funding" and f["case"] == se]
    assert gas
    found = 0
    for frm, to, txh in gas:
        r = subprocess.run([*CLI, "entity", "explain", "--chain", "eth", frm, to, "--store", store, "--json"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            steps = json.loads(r.stdout)["links"]
            if len(steps) == 1:
                assert steps[0]["heuristic"] == "gas-funding/1" and steps[0]["tx"] == txh
                found += 1
    assert found >= len(gas) // 2, (found, len(gas))


def test_screen_eth_mixer_exposure_per_asset_and_issuer_freeze(world) -> None:
    root, key = world
    store = str(root / "store")
    se = _case(key, "sanctions_evasion")
    pools = set(key["world"]["pools"].values())
    # The hop that deposited into the pools: direct outgoing mixer exposure in ETH, named by the pool tag.
    depositors = {ln["depositor"] for ln in se["tornado_links"]}
    res = _run("screen", "--chain", "eth", sorted(depositors)[0], "--store", store)
    mix = [e for e in res["exposures"] if e["category"] == "mixer" and e["direction"] == "outgoing"]
    assert mix and mix[0]["asset"] == "ETH" and mix[0]["direct"] > 0 and mix[0]["counterparty"] in pools
    assert res["risk"]["level"] in ("medium", "high")
    # A case account left holding the issuer's stablecoin: the freeze is named with the contract's function.
    usdx = key["world"]["stablecoins"]["USDX"].lower()
    cand = [h["address"] for c in key["cases"] for h in c["held"]
            if h["chain"] == "A" and h["asset"] == usdx and int(h["amount"]) > 0]
    assert cand, "no case account holds USDX at the end"
    addr = cand[0]
    res = _run("screen", "--chain", "eth", addr, "--store", store)
    freeze = [f for f in res["freeze"] if f["asset"] == usdx]
    assert freeze and freeze[0]["symbol"] == "USDX" and freeze[0]["function"] == "addBlackList(address)"
    assert freeze[0]["action"].startswith(f"USDX held at {addr.lower()} can be frozen by its issuer")


@pytest.mark.skipif(not OFAC_ETH.exists(), reason="shared data not mounted")
def test_screen_eth_names_the_list_and_honours_the_delisting(world) -> None:
    root, _ = world
    store = str(root / "store")
    _run("tags", "import", str(OFAC_ETH), "--store", store)
    pool = "0x12d66f87a04a9e220743712ce6d9bb1b5616b8fc"
    before = _run("screen", "--chain", "eth", pool, "--as-of", "2024-01-01", "--store", store)
    assert before["risk"]["level"] == "severe"
    assert before["sanction_lists"][0]["date"] == "2024-09-27"
    after = _run("screen", "--chain", "eth", pool, "--as-of", "2025-06-01", "--store", store)
    assert after["risk"]["level"] == "low"
    assert any("DELISTED on 2025-03-21" in r["text"] for r in after["risk"]["reasons"])
    lazarus = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
    assert _run("screen", "--chain", "eth", lazarus, "--as-of", "2025-06-01", "--store", store)["risk"][
        "level"] == "severe"
    bad = subprocess.run([*CLI, "screen", "--chain", "eth", "0xzz", "--store", store], capture_output=True,
                         text=True)
    assert bad.returncode == 5 and "not an Ethereum address" in bad.stderr

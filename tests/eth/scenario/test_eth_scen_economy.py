"""The background economy on real anvil: byte-reproducible per seed, and its ingested value flows equal every
economy address's balance change per asset on both chains (the identity of issue 20's done-when)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from anvil_needed import need_anvil

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth.behaviour import RANGES, REFERENCE, draw, resolve
from chaintrail.scenario.eth.generate import generate
from chaintrail.scenario.eth.serve import serve
from chaintrail.scenario.eth.tornado import DEPOSIT_EVENT, WITHDRAWAL_EVENT
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

CLI = [str(Path(sys.executable).with_name("chaintrail"))]
# short Tornado waits and small blocks, so a small chain holds every kind of activity
FAST = replace(REFERENCE, txs_per_block=40, tornado_wait_min=1, tornado_wait_max=4, sweep_every=4,
               bridge_back_p=0.9)


def _sql(store: Path, statement: str) -> list[dict]:
    with ChainStore(store) as st:
        return query(st, statement).to_pylist()


def _ingest(url: str, store: Path) -> int:
    r = subprocess.run([*CLI, "ingest", "eth", "--rpc", url, "--store", str(store), "--json"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["ingested"]["tip"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    need_anvil()
    out = tmp_path_factory.mktemp("economy") / "scenario"
    summary = generate(5, "none", 2.5, out, behaviour=FAST)
    return out, summary


def test_behaviour_reference_for_development_seeds_random_for_evaluation_seeds() -> None:
    assert resolve(None, 5) is REFERENCE
    drawn = resolve(None, 9123)
    assert drawn == draw(9123) and drawn.mode == "random" and drawn != draw(9124)
    for name, (lo, hi) in RANGES.items():
        if name != "weight_factor":
            assert lo <= getattr(drawn, name) <= hi, name


def test_same_seed_same_bytes_other_seed_other_chain(generated, tmp_path) -> None:
    out, summary = generated
    again = generate(5, "none", 2.5, tmp_path / "again", behaviour=FAST)
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(tmp_path / "again")) for p in (tmp_path / "again").rglob("*")
                           if p.is_file())
    assert "prices/eth_usd_daily.csv" in names      # the scenario's own price series, reproducible too
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    other = generate(6, "none", 1, tmp_path / "other", behaviour=FAST)
    assert other["chains"][0]["tip_hash"] != summary["chains"][0]["tip_hash"]
    assert again["transactions"] == summary["transactions"] >= 2_500


def _net_flows(store: Path) -> dict[tuple[str, str], int]:
    rows = _sql(store, """
        WITH f AS (SELECT asset, from_address AS a, -(amount::BIGNUM) AS v FROM eth_value_flows
                   UNION ALL SELECT asset, to_address, amount::BIGNUM FROM eth_value_flows)
        SELECT asset, a, sum(v)::VARCHAR AS net FROM f WHERE a IS NOT NULL GROUP BY ALL""")
    return {(r["asset"], r["a"]): int(r["net"]) for r in rows}


def _check_identity(url: str, store: Path, tip: int, addresses: list[str], tokens: list[str]) -> int:
    """Every address's ETH and token balance changes (genesis -> tip) equal its net value flows in the store."""
    net = _net_flows(store)
    eth_asset = {a for a, _ in net if a.upper() == "ETH"}
    assert eth_asset, "no ETH flows in the store"
    (eth_key,) = eth_asset
    moved = 0
    with EthRpc(url) as rpc:
        before, after = rpc.balances(addresses, 0), rpc.balances(addresses, tip)
        for a, x, y in zip(addresses, before, after):
            assert y - x == net.get((eth_key, a), 0), f"ETH of {a}: node {y - x}, flows {net.get((eth_key, a), 0)}"
            moved += y != x
        calls = [(t, "0x70a08231" + a[2:].rjust(64, "0")) for t in tokens for a in addresses]
        answers = rpc.eth_calls(calls, tip)
    for (token, data), answer in zip(calls, answers):
        a = "0x" + data[-40:]
        assert int(answer, 16) == net.get((token, a), 0), f"{token} of {a}: node {int(answer, 16)}"
        moved += int(answer, 16) != 0
    return moved


def test_ingested_value_flows_equal_every_economy_balance_change(generated, tmp_path) -> None:
    out, summary = generated
    key = json.loads((out / "answer_key.json").read_text())
    world = key["world"]
    users = pq.read_table(out / "economy_addresses.parquet").column("address").to_pylist()
    deposits = pq.read_table(out / "deposit_addresses.parquet").column("address").to_pylist()
    legs = pq.read_table(out / "bridge_legs.parquet").to_pylist()
    links = pq.read_table(out / "tornado_links.parquet").to_pylist()
    assert len(users) > 50 and deposits and links and {leg["direction"] for leg in legs} == {"A->B", "B->A"}
    services = [e["hot_wallet"] for e in world["exchanges"].values()] + [world["otc"]["desk"], world["p2p_desk"],
                                                                      world["tornado_verifier"],
                                                                      *world["tornado_relayers"]]
    pools = list(world["pools"].values())
    drop = pq.read_table(out / "airdrop.parquet").to_pylist()
    assert {r["action"] for r in drop} >= {"sweep", "keep"} and key["economy"]["airdrop"]["farms"]
    farm_of = {a: o for o, farm in key["economy"]["airdrop"]["farms"].items() for a in farm}
    assert all(r["forwarded_to"] == farm_of[r["recipient"]] for r in drop if r["action"] == "sweep")
    assert set(farm_of) <= set(users)                   # farm addresses are their owner's entity's
    tokens_a = [*world["stablecoins"].values(), world["weth"], *world["pairs"].values(),
                key["economy"]["airdrop"]["token"]]
    with serve(out) as nodes:
        url_a, url_b = nodes[31337].url, nodes[31338].url
        tip_a = _ingest(url_a, tmp_path / "a")
        tip_b = _ingest(url_b, tmp_path / "b")
        addresses = sorted(set(users + deposits + services + pools + [key["economy"]["airdrop"]["distributor"]]))
        assert _check_identity(url_a, tmp_path / "a", tip_a, addresses, tokens_a) > 100
        holders = sorted({leg["recipient"] for leg in legs if leg["direction"] == "A->B"})
        wrapped = list(world["bridge"]["wrapped"].values())
        assert _check_identity(url_b, tmp_path / "b", tip_b, holders + [world["bridge"]["relayer"]], wrapped) > 5
        # every Tornado link: the deposit's commitment and the withdrawal's recipient, fee and relayer on chain
        with EthRpc(url_a) as rpc:
            for link in links:
                dep = rpc.call("eth_getTransactionReceipt", [link["deposit_tx"]])
                wd = rpc.call("eth_getTransactionReceipt", [link["withdrawal_tx"]])
                (d,) = [g for g in dep["logs"] if g["topics"][0] == event_topic(DEPOSIT_EVENT)]
                (w,) = [g for g in wd["logs"] if g["topics"][0] == event_topic(WITHDRAWAL_EVENT)]
                assert d["address"] == w["address"] == link["pool"] and d["topics"][1] == link["commitment"]
                assert wd["from"] == link["relayer"] and w["data"][26:66] == link["recipient"][2:]
                assert int(w["data"][-64:], 16) == int(link["fee"])
                assert link["recipient"] in users      # the depositor's own address too (the reuse slip)

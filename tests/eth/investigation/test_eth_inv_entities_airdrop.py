"""airdrop/1 on a hand-built chain: recipients of one airdrop that sweep it to one common EOA are one entity; sales
to a tagged desk, transfers to a contract, transfers made before the receipt, a sender's spread-out payments and a
small distribution are not; `entity explain --chain eth` shows the forwarding transactions."""

from __future__ import annotations

import csv
import json
import subprocess

import numpy as np
import pyarrow.parquet as pq
from eth_inv_stores import CLI

from chaintrail.tags.csvtags import FIELDS

ETHER, UNIT = 10**18, 10**6


def _cli(*args: str) -> dict:
    r = subprocess.run([*CLI, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_airdrop_farm_is_one_entity_and_the_rest_are_not(anvil, tmp_path) -> None:
    from chaintrail.analysis.eth.entities import EntityParams, build_entities
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.scenario.eth import tokens
    from chaintrail.scenario.eth.contracts import derived_address
    from chaintrail.scenario.eth.rpc_send import RpcSend
    from chaintrail.store.chainstore import ChainStore

    def addr(name: str) -> str:
        return derived_address(b"airdrop-test", name, 0)

    farm = [addr(f"farm{i}") for i in range(4)]        # farm0-2 sweep to the owner, farm3 keeps its claim
    users = [addr(f"user{i}") for i in range(8)]        # user0-1 sell to the desk, user2-3 pay a contract,
    #                                                    user4-5 pass half of theirs to one buyer
    early = [addr(f"early{i}") for i in range(2)]       # held DROP before (no airdrop to them), paid `common`
    small = [addr(f"small{i}") for i in range(3)]       # a distribution to 3 only; two forward to one address
    spread = [addr(f"spread{i}") for i in range(10)]    # 5 payments, 400 blocks, 5 more; all forward to one
    owner, desk, common, sink, buyer = addr("owner"), addr("desk"), addr("common"), addr("sink"), addr("buyer")
    with EthRpc(anvil.url, workers=1) as rpc:
        send = RpcSend(rpc)
        issuer, dist, dist2, dist3 = [a.lower() for a in rpc.call("eth_accounts", [])][:4]
        drop = tokens.deploy_stablecoin(send, issuer, "Airdrop Token", "DROP")
        other = tokens.deploy_stablecoin(send, issuer, "Other", "OTH")   # a contract that receives DROP
        for a in (dist, dist2, dist3, *early):
            tokens.mint(send, drop, issuer, a, 100_000 * UNIT)
        for a in (*farm, *users, *early, *small, *spread, owner):
            send(issuer, a, ETHER, "0x", 21_000)                          # gas money, long before (not gas funding)
        for a in spread:                                                  # not only ever paying `common`
            send(a, sink, 10**9, "0x", 21_000)
        for a in early:
            tokens.transfer(send, drop, a, common, 5 * UNIT)
        for a in farm + users + early:                                    # the airdrop: 12 first-time
            tokens.transfer(send, drop, dist, a, 100 * UNIT)
        for a in small:
            tokens.transfer(send, drop, dist2, a, 100 * UNIT)
        for i, a in enumerate(spread):
            if i == 5:
                rpc.call("anvil_mine", [hex(400)])
            tokens.transfer(send, drop, dist3, a, 100 * UNIT)
        sweeps = {a: tokens.transfer(send, drop, a, owner, 100 * UNIT)["transactionHash"] for a in farm[:3]}
        for a in users[:2]:
            tokens.transfer(send, drop, a, desk, 100 * UNIT)
        for a in users[2:4]:
            tokens.transfer(send, drop, a, other, 100 * UNIT)
        for a in users[4:6]:
            tokens.transfer(send, drop, a, buyer, 50 * UNIT)
        for a in early:
            tokens.transfer(send, drop, a, common, 100 * UNIT)
        for a in small[:2] + spread:
            tokens.transfer(send, drop, a, common, 100 * UNIT)
        r = subprocess.run([*CLI, "ingest", "eth", "--rpc", anvil.url, "--store", str(tmp_path / "s"), "--json"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    store = tmp_path / "s"
    with open(tmp_path / "desk.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerow({"address": desk, "label": "P2P desk", "category": "exchange", "currency": "ETH",
                    "network": "ethereum", "source": "test", "confidence": "service_data"})
    _cli("tags", "import", str(tmp_path / "desk.csv"), "--store", str(store))
    rep = _cli("cluster", "--chain", "eth", "--store", str(store))
    assert rep["links"]["airdrop/1"] == 2
    links = [r for r in pq.read_table(store / "analysis" / "eth_cluster_links.parquet").to_pylist()
             if r["heuristic"] == "airdrop/1"]
    with ChainStore(store) as st:
        key = np.asarray(st.column("eth_addr_key"))
        hexes = ["0x" + bytes(k).hex() for k in key]
        # Without the desk's tag its buyers would be one entity too: the service exclusion is what keeps them apart.
        _, untagged = build_entities(st, EntityParams(heuristics=("airdrop/1",)), write=False)
        _, short = build_entities(st, EntityParams(heuristics=("airdrop/1",), airdrop_gap=500,
                                                   airdrop_min_recipients=3), write=False)
    assert {(hexes[r["a"]], hexes[r["b"]]) for r in links} == {(farm[0], farm[1]), (farm[0], farm[2])}
    assert untagged.links["airdrop/1"] == 3
    # With a longer gap the spread-out payments are one airdrop (9 links), and with 3 recipients the small one (1).
    assert short.links["airdrop/1"] == 3 + 9 + 1
    steps = _cli("entity", "explain", "--chain", "eth", farm[1], farm[2], "--store", str(store))["links"]
    assert [s["heuristic"] for s in steps] == ["airdrop/1", "airdrop/1"]
    assert [s["tx"] for s in steps] == [sweeps[farm[1]], sweeps[farm[2]]]
    assert all(drop in s["detail"] and owner in s["detail"] and dist in s["detail"] and "12 recipients" in s["detail"]
               for s in steps)
    labels = pq.read_table(store / "analysis" / "eth_clusters.parquet")["cluster_id"].to_numpy()
    num = {h: i for i, h in enumerate(hexes)}
    assert labels[num[farm[0]]] == labels[num[farm[1]]] == labels[num[farm[2]]]
    assert len({labels[num[a]] for a in [farm[0], farm[3], owner, *users, *early, *small, *spread]}) == \
        3 + len(users) + len(early) + len(small) + len(spread)        # farm0-2, farm3, the owner, the rest

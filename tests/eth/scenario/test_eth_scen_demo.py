"""`chaintrail demo --chain eth`: a DeFi case generated, both chains ingested, services tagged, a start given."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from anvil_needed import need_anvil

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

CLI = [str(Path(sys.executable).with_name("chaintrail"))]


def test_eth_demo_builds_a_case_to_investigate(tmp_path) -> None:
    need_anvil()
    r = subprocess.run([*CLI, "demo", "--chain", "eth", "--dir", str(tmp_path / "d"), "--scale", "2", "--no-serve", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    demo = json.loads(r.stdout)
    assert demo["kind"] == "defi_exploit" and json.loads((tmp_path / "d" / "demo.json").read_text())["case"]
    with ChainStore(demo["store"]) as st:
        start = query(st, "SELECT from_address, to_address FROM eth_transactions WHERE hash = $h",
                      {"h": demo["start"]["tx"]}).to_pylist()
        tags = {r["category"]: r["n"] for r in query(st, "SELECT category, count(*) AS n FROM tags GROUP BY ALL")
                .to_pylist()}
        # the theft's tokens left the vault in that transaction, as the start says
        moved = query(st, "SELECT amount FROM eth_value_flows WHERE transaction_hash = $h AND to_address = $to "
                          "AND asset = $a", {"h": demo["start"]["tx"], "to": demo["start"]["to"],
                                             "a": demo["start"]["asset"]}).to_pylist()
    assert start and moved and moved[0]["amount"] == demo["start"]["amount"]
    assert tags["mixing_service"] == 8 and tags["exchange"] >= 4 and tags["defi_dex"] >= 3
    with ChainStore(demo["store_b"]) as st:
        assert st.manifest["eth"]["chain_id"] == 31338 and st.counts["eth_transactions"] > 0

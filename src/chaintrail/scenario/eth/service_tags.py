"""What an investigator knows of an Ethereum scenario's services, as a tag CSV: the public addresses only.

Exchanges' hot wallets and forwarder factories, the OTC desk, the P2P desk, the Tornado pools (mixers), the
bridge, Uniswap's router and pairs, the stablecoins and WETH, the lending vault. Exchange deposit addresses are
not tagged (an investigator learns them from a trace or a records request), and nothing of any crime case is.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from chaintrail.tags.csvtags import FIELDS


def service_rows(world: dict, seed: int) -> list[dict]:
    """Tag rows for the world's public services (``world``: the answer key's ``world``)."""
    source = f"chaintrail Ethereum scenario seed {seed}: public service addresses"
    rows: list[dict] = []

    def add(address: str, label: str, category: str, concepts: str = "", definer: bool = True, context: str = ""):
        rows.append({"address": address, "label": label, "category": category, "concepts": concepts,
                     "is_cluster_definer": "true" if definer else "false", "confidence": "service_data",
                     "currency": "ETH", "network": "ethereum", "source": source, "context": context})

    for name, ex in sorted(world["exchanges"].items()):
        add(ex["hot_wallet"], name, "exchange", "hot_wallet", context=f"{name} hot wallet")
        add(ex["forwarder_factory"], name, "exchange", "", context=f"{name} deposit-forwarder factory")
    add(world["otc"]["desk"], "OTC desk", "exchange", "", context="OTC desk contract")
    add(world["p2p_desk"], "P2P desk", "exchange", "", context="peer-to-peer trader")
    for pool, address in sorted(world["pools"].items()):
        add(address, "Tornado-style pool", "mixing_service", "", context=f"pool {pool}")
    bridge = world.get("bridge") or {}
    for end in ("source", "destination"):
        if bridge.get(end):
            add(bridge[end], "Lock-and-mint bridge", "defi_bridge", "", context=f"bridge {end} contract")
    add(world["uniswap"]["router"], "Uniswap V2 router", "defi_dex", "", context="router")
    add(world["uniswap"]["factory"], "Uniswap V2 factory", "defi_dex", "", context="factory")
    for pair, address in sorted(world["pairs"].items()):
        add(address, f"Uniswap V2 {pair}", "defi_dex", "", context="pair")
    add(world["vault"]["vault"], "Lending vault", "defi_lending", "", context="vault")
    return rows


def write_service_tags(folder: str | Path, path: str | Path) -> int:
    """Write the scenario's public service tags as a CSV for ``chaintrail tags import``; returns the row count."""
    key = json.loads((Path(folder) / "answer_key.json").read_text())
    rows = service_rows(key["world"], key["seed"])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return len(rows)

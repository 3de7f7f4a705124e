"""From an Ethereum answer key (docs/eth-answer-key.md): an exercise's brief and its expected answers.

The brief holds what an investigator starts with: the case's story and its
source movements (the victims' payments, the vault drain, the sanctioned
funds). The expected answers hold, per exchange and per asset (``"ETH"`` or a
token contract), the key's haircut figure (``reached[exchange][asset].haircut``)
beside the true flow; the perpetrators' addresses on both chains; the Tornado
pools the case deposited into, with the lead heuristics that link each of its
notes in the trainee's store and their measured precision; the bridge legs by
nonce; and the tainted amounts still held per asset (``held``, both chains).
Amounts stay exact integers in base units, as decimal strings.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from chaintrail.errors import UsageError
from chaintrail.i18n import N_

ETH = "ETH"
OTC = "otc_desk"
OTC_LABEL = "OTC desk"              # the desk's tag label (scenario.eth.service_tags)
POOL_LABEL = "Tornado-style pool"
BRIDGE_LABEL = "Lock-and-mint bridge"

STORY = {
    "defi_exploit": N_("A lending vault reports that it was drained in the transaction below. Trace the stolen "
                       "tokens through every swap, mixer and bridge to the exchanges."),
    "pig_butchering": N_("Victims of a fake investment platform report the stablecoin payments below. Trace the "
                         "money to where it was cashed out."),
    "approval_phishing": N_("Victims report that a phishing site drained their stablecoins in the transfers "
                            "below. Trace the money."),
    "sanctions_evasion": N_("A sanctioned actor received the funds below. Trace them through the mixer and the "
                            "bridge to the exchanges."),
}


def find_eth_case(key: dict, case_kind: str) -> dict:
    for case in key.get("cases", []):
        if case.get("kind") == case_kind and case.get("sources"):
            return case
    raise UsageError(f"the Ethereum scenario has no {case_kind} case to build an exercise on")


def asset_table(world: dict) -> dict[str, dict]:
    """Every asset an answer may name: ``"ETH"`` and token contracts (both chains), with symbol and decimals."""
    out: dict[str, dict] = {ETH: {"symbol": ETH, "decimals": 18, "chain": "A"}}
    for sym, addr in world.get("stablecoins", {}).items():
        out[addr.lower()] = {"symbol": sym, "decimals": 6, "chain": "A"}
    if world.get("weth"):
        out[world["weth"].lower()] = {"symbol": "WETH", "decimals": 18, "chain": "A"}
    for underlying, wrapped in (world.get("bridge") or {}).get("wrapped", {}).items():
        base = out.get(underlying.lower(), {"symbol": ETH, "decimals": 18})
        if int(underlying, 16) == 0:
            base = out[ETH]
        out[wrapped.lower()] = {"symbol": "b" + base["symbol"], "decimals": base["decimals"], "chain": "B"}
    return out


def exchange_label(name: str) -> str:
    """The name the workbench's tags give an exchange of the key (the OTC desk's tag says 'OTC desk')."""
    return OTC_LABEL if name == OTC else name


def _pools(world: dict) -> dict[str, str]:
    """pool address -> its description, e.g. 'ETH-100000000000000000000' (asset and denomination)."""
    return {addr.lower(): name for name, addr in world.get("pools", {}).items()}


def _lead_heuristics(store: Path | None, links: list[dict]) -> dict[str, list[dict]]:
    """deposit tx -> the leads (heuristic, precision) that link it to the key's own withdrawal in ``store``."""
    if store is None or not links:
        return {}
    from chaintrail.analysis.eth.tornado_links import lead_rows
    from chaintrail.store.chainstore import ChainStore

    out: dict[str, list[dict]] = {}
    with ChainStore(store) as st:
        for x in links:
            if not x.get("withdrawal_tx"):
                continue
            rows = [r for r in lead_rows(st, deposit_tx=x["deposit_tx"])
                    if (r.get("withdrawal_tx") or "").lower() == x["withdrawal_tx"].lower()]
            out[x["deposit_tx"]] = [{"heuristic": r["heuristic"], "precision": r.get("precision")} for r in rows]
    return out


def _techniques(case: dict) -> list[str]:
    t = {"eth_deposit"}
    if case.get("swaps"):
        t.add("swap_conversion")
    if case.get("tornado_links"):
        t.add("tornado_lead")
    if case.get("bridge_legs"):
        t.add("bridge_nonce")
    if any(a != ETH for v in case["reached"].values() for a in v):
        t.add("token_transfer")
    return sorted(t)


def expected_eth_answers(key: dict, case: dict, store: Path | None = None) -> dict:
    """What a full-marks answer to each question is, and what feedback needs to explain it."""
    world = key["world"]
    assets = asset_table(world)
    techniques = _techniques(case)
    exchanges: dict[str, dict[str, dict]] = {}
    for name, per_asset in sorted(case["reached"].items()):
        exchanges[exchange_label(name)] = {a: {"haircut": v["haircut"], "true_flow": v["true_flow"]}
                                           for a, v in sorted(per_asset.items())}
    deposits: dict[str, int] = defaultdict(int)
    for p in case.get("exchange_payments", []):
        deposits[exchange_label(p["exchange"])] += 1
    paths = {name: sorted({"eth_deposit", *(t for t in techniques if t != "eth_deposit")}) for name in exchanges}
    perp = sorted({a["address"].lower() for e in case["entities"] if e.get("kind") == "perpetrator"
                   for a in e["addresses"]})
    pools = _pools(world)
    leads = _lead_heuristics(store, case.get("tornado_links", []))
    used: dict[str, dict] = {}
    for x in case.get("tornado_links", []):
        asset = assets.get(x["asset"].lower() if x["asset"] != ETH else ETH, {"symbol": x["asset"], "decimals": 18})
        p = used.setdefault(x["pool"].lower(), {"pool": x["pool"].lower(), "name": pools.get(x["pool"].lower(), ""),
                                               "denomination": {"amount": x["denomination"], "symbol": asset["symbol"],
                                                                "decimals": asset["decimals"]},
                                               "deposits": 0, "withdrawn": 0, "heuristics": {}})
        p["deposits"] += 1
        p["withdrawn"] += bool(x.get("withdrawal_tx"))
        for lead in leads.get(x["deposit_tx"], []):
            p["heuristics"][lead["heuristic"]] = lead["precision"]
    mixers = [{**p, "heuristics": [{"heuristic": h, "precision": v} for h, v in sorted(p["heuristics"].items())]}
              for _k, p in sorted(used.items())]
    bridge = world.get("bridge") or {}
    legs = case.get("bridge_legs", [])
    bridges = [{"name": BRIDGE_LABEL, "addresses": sorted(a.lower() for a in (bridge.get("source"),
                                                                              bridge.get("destination")) if a),
                "legs": len(legs), "nonces": sorted(int(x["nonce"]) for x in legs)}] if legs else []
    held: dict[str, int] = defaultdict(int)
    for r in case.get("held", []):
        held[r["asset"].lower() if r["asset"] != ETH else ETH] += int(r["haircut"])
    return {
        "chain": "eth", "case_id": case["id"], "case_kind": case["kind"],
        "assets": assets,
        "exchanges": exchanges,
        "exchange_deposits": dict(deposits),
        "exchange_paths": paths,
        "perpetrators": [e["id"] for e in case["entities"] if e.get("kind") == "perpetrator"],
        "perpetrator_addresses": perp,
        "chip_addresses": [],
        "neutral_addresses": sorted({d["address"].lower() for d in case.get("deposit_addresses", [])}),
        "mixers": mixers,
        "bridges": bridges,
        "unspent": {a: str(v) for a, v in sorted(held.items()) if v > 0},
        "techniques": techniques,
    }


def eth_brief(key: dict, case: dict, kind) -> dict:
    """What the trainee is told: the story and the case's source movements. Never an answer."""
    assets = asset_table(key["world"])
    sources = [{"tx": s["tx"], "block": s["block"], "from": s["from"], "to": s["to"],
                "asset": s["asset"], "symbol": assets.get(s["asset"].lower() if s["asset"] != ETH else ETH,
                                                         {"symbol": s["asset"]})["symbol"],
                "amount": s["amount"],
                "decimals": assets.get(s["asset"].lower() if s["asset"] != ETH else ETH, {"decimals": 18})["decimals"]}
               for s in case["sources"]]
    return {"chain": "eth", "story": STORY.get(case["kind"], ""), "focus": kind.focus, "title": kind.title,
            "sources": sources,
            "assets": [{"asset": a, **v} for a, v in assets.items()],
            "mixing_services": [POOL_LABEL], "bridges": [BRIDGE_LABEL],
            "techniques": list(kind.techniques), "lessons": list(kind.lessons)}


def eth_owners(scenario: Path, case_id: str | None = None) -> dict[str, str]:
    """address -> the kind of entity that controls it on the scenario's chains (for false accusations)."""
    import json

    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    key = json.loads((scenario / "answer_key.json").read_text())
    world = key["world"]
    out: dict[str, str] = {}
    econ = scenario / "economy_addresses.parquet"
    if econ.exists():
        for a in pq.read_table(econ, columns=["address"]).column("address").to_pylist():
            out[a.lower()] = "wallet"
    for r in pq.read_table(scenario / "answer_key" / "addresses.parquet").to_pylist():
        out[r["address"].lower()] = "exchange" if r.get("exchange") else "criminal"
    for ex in world.get("exchanges", {}).values():
        out[ex["hot_wallet"].lower()] = "exchange"
    for a in world.get("pools", {}).values():
        out[a.lower()] = "mixer"
    for a in (world["otc"]["desk"], world["p2p_desk"]):
        out[a.lower()] = "p2p_trader"
    return out

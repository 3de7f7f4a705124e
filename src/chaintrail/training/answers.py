"""From a Bitcoin answer key: an exercise's brief (what the trainee is told) and its expected answers.

The brief holds only what an investigator starts with: the story and the
payments the victims reported (the case's ``victim_payments``), and, outside
exam mode on easy and medium sets, the techniques to try. The expected answers
(exchanges and amounts, the perpetrators' addresses, the mixing services, the
unspent amount) stay with the instructor's side and are read only by grading.
"""

from __future__ import annotations

from collections import defaultdict

from chaintrail.errors import UsageError
from chaintrail.i18n import N_
from chaintrail.training.kinds import CASE_PATH, ROLE_TECHNIQUE, ExerciseKind

COINJOIN_SERVICE = {"wasabi1.0": "Wasabi", "wasabi1.1": "Wasabi", "wasabi2": "Wasabi", "whirlpool": "Whirlpool",
                    "whirlpool_mix": "Whirlpool", "joinmarket": "JoinMarket"}
CASH_OUT_KINDS = ("exchange", "p2p_trader")

STORY = {
    "ransomware": N_("Victims of a ransomware gang report the ransom payments below. Trace the ransom."),
    "exchange_hack": N_("An exchange reports that its hot wallet was drained in the transaction below. Trace the "
                        "stolen coins."),
    "darknet": N_("Records seized from a darknet market list the buyers' payments below. Trace the market's "
                  "money to its operator and vendors."),
    "scam": N_("Victims of a fake investment platform report the payments below. Trace the money."),
}


def find_case(key: dict, case_kind: str) -> dict:
    """The first case of ``case_kind`` in the key (one per kind on a set's chain)."""
    for case in key.get("cases", []):
        if case.get("kind") == case_kind and case.get("victim_payments"):
            return case
    raise UsageError(f"the scenario has no {case_kind} case to build an exercise on")


def mixing_services(key: dict) -> list[str]:
    """The services a trainee may name as having mixed funds: custodial mixers and CoinJoin protocols."""
    mixers = sorted({e["name"] for e in key.get("entities", []) if e.get("kind") == "mixer"})
    return mixers + sorted(set(COINJOIN_SERVICE.values()))


def _roles_by_tx(key: dict, case_id: str) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = defaultdict(set)
    for r in key.get("laundering_txs", []):
        if r["case"] == case_id:
            roles[r["txid"]].add(r["role"])
    return roles


def _path(roles: set[str], case_kind: str) -> list[str]:
    found = sorted({ROLE_TECHNIQUE[r] for r in roles if r in ROLE_TECHNIQUE})
    return (found or [CASE_PATH.get(case_kind, "direct_deposit")]) + ["direct_deposit"]


def expected_answers(key: dict, case: dict) -> dict:
    """What a full-marks answer to each question is, with what feedback needs to explain it."""
    roles = _roles_by_tx(key, case["id"])
    exchanges: dict[str, int] = defaultdict(int)
    paths: dict[str, set[str]] = defaultdict(set)
    deposits: dict[str, int] = defaultdict(int)
    for e in case["cash_out_endpoints"]:
        if e.get("entity_kind") not in CASH_OUT_KINDS:
            continue
        name = e["entity_name"]
        exchanges[name] += int(e["amount_sat"])
        deposits[name] += 1
        paths[name].update(_path(roles.get(e["txid"], set()), case["kind"]))
    perps = {p["entity"] for p in case["perpetrators"]}
    table = key["tables"]["addresses"]
    addr = table.column("address").to_pylist()
    ctrl = table.column("entity_id").to_pylist()
    issuer = table.column("issuer_entity_id").to_pylist()
    perp_addrs = sorted(a for a, c in zip(addr, ctrl) if c in perps)
    chips = sorted(a for a, c, i in zip(addr, ctrl, issuer) if c in perps and i != c)
    cj = {x["txid"]: x["protocol"] for x in key.get("coinjoin_txs", [])}
    mixers: set[str] = set()
    if case.get("mixer_handovers"):
        mixers.update(e["name"] for e in key.get("entities", []) if e.get("kind") == "mixer")
    for txid, rs in roles.items():
        if "coinjoin" in rs and cj.get(txid) in COINJOIN_SERVICE:
            mixers.add(COINJOIN_SERVICE[cj[txid]])
    techniques = sorted({t for rs in roles.values() for r in rs if (t := ROLE_TECHNIQUE.get(r))}
                        | {t for p in paths.values() for t in p})
    return {
        "case_id": case["id"], "case_kind": case["kind"],
        "exchanges": dict(sorted(exchanges.items())),
        "exchange_deposits": dict(deposits),
        "exchange_paths": {k: sorted(v) for k, v in sorted(paths.items())},
        "perpetrators": [p["name"] for p in case["perpetrators"]],
        "perpetrator_addresses": perp_addrs,
        "chip_addresses": chips,
        "neutral_addresses": sorted({a["deposit_address"] for a in case.get("exchange_accounts", [])}),
        "mixers": sorted(mixers),
        "unspent_sat": int(case["unspent_sat"]),
        "unspent_outputs": len(case.get("unspent", [])),
        "techniques": techniques,
    }


def brief(key: dict, case: dict, kind: ExerciseKind) -> dict:
    """What the trainee is told: the story and the reported payments. Never an answer."""
    payments = [{"txid": p["txid"], "vout": p["vout"], "address": p["address"], "amount_sat": p["value_sat"],
                 "height": p["height"]} for p in case["victim_payments"]]
    return {"story": STORY.get(case["kind"], ""), "focus": kind.focus, "title": kind.title,
            "reported_payments": payments, "reported_total_sat": sum(p["amount_sat"] for p in payments),
            "mixing_services": mixing_services(key), "techniques": list(kind.techniques),
            "lessons": list(kind.lessons)}

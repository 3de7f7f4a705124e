"""A trainee's answers read from the case they built: what their findings, tags and notes say.

A trainee who works the exercise as a real case (traces saved as findings, the
perpetrators' addresses tagged, the reasoning in notes) submits that case; the
answers are read from it and graded exactly as a form's would be:

* exchanges and amounts: the endpoints of the case's trace findings at tagged
  exchanges (Bitcoin: ``exchange:<label>`` endpoint tags, amount in sats;
  Ethereum: the trace's records requests per service and asset, both chains),
  the latest finding per traced source counting once, summed over sources;
* mixing services: the mixers the traces ended at or passed (Bitcoin: tagged
  ``mixing_service`` endpoints; Ethereum: the Tornado-style pools the trace
  deposited into, its ``demix`` rows), bridges: the bridge contracts a trace crossed;
* still unspent: the traces' unspent totals (per asset on Ethereum);
* the perpetrators' addresses: addresses the case tags, or lists as subjects,
  with a label or category naming a perpetrator or suspect;
* reasoning: the case's notes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

PERPETRATOR = re.compile(r"perpetrator|suspect|offender|attacker|scammer|злочин|підозр|зловмисн", re.I)
EXCHANGE_CATEGORIES = ("exchange",)
MIXER_CATEGORIES = ("mixing_service", "mixer", "coinjoin")


def _latest_per_source(findings: list[dict], kinds: tuple[str, ...]) -> list[dict]:
    """The newest finding of ``kinds`` per traced source (a trace saved twice counts once)."""
    by_source: dict[str, dict] = {}
    for f in sorted(findings, key=lambda f: f.get("id") or 0):
        if f.get("kind") in kinds and isinstance(f.get("result"), dict):
            spec = f.get("spec") or {}
            by_source[str(spec.get("source") or spec)] = f
    return list(by_source.values())


def perpetrator_addresses(view: dict) -> list[str]:
    """Addresses the case tags or lists as subjects with a label or category naming a perpetrator."""
    out: list[str] = []
    for t in view.get("tags", []):
        if PERPETRATOR.search(f"{t.get('label') or ''} {t.get('category') or ''}"):
            out.append(t["address"])
    for s in view.get("subjects", []):
        if s.get("kind") == "address" and PERPETRATOR.search(s.get("label") or ""):
            out.append(s["value"])
    return list(dict.fromkeys(out))


def _reasoning(view: dict) -> str:
    return "\n\n".join(n["body"] for n in view.get("notes", []) if n.get("body"))[:20_000]


def _btc(sat: int) -> str:
    return str(Decimal(sat) / Decimal(100_000_000))


def btc_answers(view: dict) -> dict:
    """A Bitcoin exercise's answers (``submission.parse_answers`` format) from a case view."""
    exchanges: dict[str, int] = defaultdict(int)
    mixers: set[str] = set()
    unspent = 0
    for f in _latest_per_source(view.get("findings", []), ("trace",)):
        r = f["result"]
        for e in r.get("endpoints", []):
            for tag in e.get("tags", []):
                cat, _sep, label = str(tag).partition(":")
                if cat in EXCHANGE_CATEGORIES and label:
                    exchanges[label] += int(e.get("amount_sat", 0))
                    break
                if cat in MIXER_CATEGORIES and label:
                    mixers.add(label)
        unspent += int((r.get("totals") or {}).get("unspent_sat", 0))
    return {"exchanges": [{"exchange": k, "amount_btc": _btc(v)} for k, v in sorted(exchanges.items())],
            "perpetrator_addresses": perpetrator_addresses(view), "mixers": sorted(mixers) or ["none"],
            "unspent_btc": _btc(unspent), "reasoning": _reasoning(view)}


def _units(amount: int, decimals: int) -> str:
    return str(Decimal(amount) / (Decimal(10) ** decimals))


def eth_answers(view: dict, assets: dict[str, dict], pools: set[str]) -> dict:
    """An Ethereum exercise's answers (``eth_submission.parse_eth_answers`` format) from a case view.

    ``assets``: the exercise's asset table; ``pools``: the Tornado-style pool contracts (tagged services) the
    trainee may name.
    """
    per: dict[tuple[str, str], int] = defaultdict(int)
    unspent: dict[str, int] = defaultdict(int)
    used_pools: set[str] = set()
    bridges: set[str] = set()
    for f in _latest_per_source(view.get("findings", []), ("eth_trace",)):
        for r in (f["result"], f["result"].get("other_chain") or {}):
            for req in r.get("requests", []):
                for asset, amount in req.get("assets", {}).items():
                    per[(req["service"], asset if asset == "ETH" else asset.lower())] += int(amount)
            for asset, t in (r.get("totals") or {}).items():
                unspent[asset if asset == "ETH" else asset.lower()] += int(t.get("unspent", 0))
            for b in r.get("bridges", []):
                if b.get("contract"):
                    bridges.add(b["contract"].lower())
            for e in r.get("endpoints", []):
                if (e.get("address") or "").lower() in pools:
                    used_pools.add(e["address"].lower())
            for d in r.get("demix", []):                    # the pool deposits the trace followed by a lead
                if (d.get("pool") or "").lower() in pools:
                    used_pools.add(d["pool"].lower())
    known = [(svc, a, v) for (svc, a), v in sorted(per.items()) if a in assets]
    return {
        "exchanges": [{"exchange": svc, "asset": a, "amount": _units(v, assets[a]["decimals"])} for svc, a, v in known],
        "perpetrator_addresses": [a.lower() for a in perpetrator_addresses(view)],
        "mixers": sorted(used_pools) or ["none"],
        "bridges": sorted(bridges) or ["none"],
        "unspent": [{"asset": a, "amount": _units(v, assets[a]["decimals"])} for a, v in sorted(unspent.items())
                    if a in assets and v > 0],
        "reasoning": _reasoning(view),
    }

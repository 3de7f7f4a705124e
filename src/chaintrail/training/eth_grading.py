"""Grading an Ethereum exercise: per exchange and per asset, with the same rules as Bitcoin's grading.

Weights (out of 100): exchanges and amounts 35, the perpetrators' addresses 20,
the Tornado pools 10, the bridge 10, the tainted amounts still held 15, the
reasoning 10.

* Exchanges: each exchange the proceeds reached is an equal share; naming it
  earns 40 % of the share, the other 60 % is split over the assets that reached
  it: the key's haircut figure within the set's tolerance (``tolerance`` ×
  amount, at least 0.001 of the asset) earns the asset's part, within three
  times the tolerance half of it. An amount equal to the true flow (everything
  the perpetrators paid in, tainted or not) earns half, with feedback saying
  which model the question asks for. Naming an exchange no proceeds reached
  costs half a share, unless every amount named there is dust (within the
  tolerance of all the case sent in that asset, or at most one unit of it: the
  taint a pool spreads thinly onto others' withdrawals); an asset that did not
  reach a named exchange costs half its part.
* Perpetrators' addresses: as for Bitcoin (a false accusation costs twice an
  omission; the case's own deposit addresses are the exchanges').
* Tornado pools: 30 % for seeing that Tornado mixed the funds (a pool named, or
  the service), 70 % by |named ∩ pools| / |named ∪ pools|.
* Bridge: full for the bridge the legs crossed (its name or a contract), none
  otherwise; "none" is right when no leg crossed.
* Still held: an equal share per asset the perpetrators still hold tainted
  (haircut, both chains), full within the tolerance (at least 0.01 of the
  asset), half within three times it; an asset they do not hold costs half a share.
* Reasoning: the share of the case's techniques the text names.
"""

from __future__ import annotations

from collections.abc import Callable

from chaintrail.training.grading import _item, _norm, _perpetrator, _reasoning

ETH_WEIGHTS = {"exchanges": 35.0, "perpetrator": 20.0, "mixers": 10.0, "bridges": 10.0, "unspent": 15.0,
               "reasoning": 10.0}
TORNADO_WORDS = ("tornado", "pool")
BRIDGE_WORDS = ("bridge",)


def _amount(exp: dict, asset: str, units: int | str) -> dict:
    a = exp["assets"].get(asset, {"symbol": asset, "decimals": 18})
    return {"amount": str(units), "decimals": a["decimals"], "symbol": a["symbol"]}


def _close(got: int, want: int, tol: float, decimals: int, floor_places: int) -> str:
    """ok, near (within 3x the tolerance) or wrong."""
    lim = max(tol * want, 10 ** max(0, decimals - floor_places))
    err = abs(got - want)
    return "ok" if err <= lim else "near" if err <= 3 * lim else "wrong"


def _exchanges(exp: dict, named: dict[str, dict[str, int]], tol: float) -> tuple[float, list[dict]]:
    w = ETH_WEIGHTS["exchanges"]
    want = exp["exchanges"]
    got = {_norm(k): (k, v) for k, v in named.items()}
    fb: list[dict] = []
    if not want:
        for k in named:
            fb.append(_item("exchange_not_reached", exchange=k))
        return max(0.0, w - w / 2 * len(named)), fb
    share = w / len(want)
    score = 0.0
    for name, per_asset in want.items():
        path = exp["exchange_paths"].get(name, [])
        hit = got.pop(_norm(name), None)
        if hit is None:
            fb.append(_item("eth_exchange_missed", exchange=name, deposits=exp["exchange_deposits"].get(name, 0),
                            amounts=[_amount(exp, a, v["haircut"]) for a, v in per_asset.items()], techniques=path))
            continue
        score += 0.4 * share
        part = 0.6 * share / len(per_asset)
        answered = dict(hit[1])
        for asset, v in per_asset.items():
            dec = exp["assets"].get(asset, {"decimals": 18})["decimals"]
            amt = answered.pop(asset, None)
            if amt is None:
                fb.append(_item("eth_asset_missed", exchange=name, **_amount(exp, asset, v["haircut"]),
                                techniques=path))
                continue
            verdict = _close(amt, int(v["haircut"]), tol, dec, 3)
            if verdict == "ok":
                score += part
                fb.append(_item("eth_asset_ok", exchange=name, symbol=_amount(exp, asset, 0)["symbol"]))
            elif _close(amt, int(v["true_flow"]), tol, dec, 3) == "ok" and v["true_flow"] != v["haircut"]:
                score += part / 2
                fb.append(_item("eth_asset_true_flow", exchange=name, **_amount(exp, asset, v["haircut"]),
                                answered=str(amt), techniques=["haircut"]))
            else:
                score += part / 2 if verdict == "near" else 0.0
                fb.append(_item("eth_asset_amount_off" if verdict == "near" else "eth_asset_amount_wrong",
                                exchange=name, **_amount(exp, asset, v["haircut"]), answered=str(amt),
                                tolerance=tol, techniques=path))
        for asset in answered:
            score -= part / 2
            fb.append(_item("eth_asset_not_reached", exchange=name, symbol=_amount(exp, asset, 0)["symbol"]))
    totals: dict[str, int] = {}
    for per_asset in want.values():
        for a, v in per_asset.items():
            totals[a] = totals.get(a, 0) + int(v["haircut"])
    for name, amounts in got.values():
        if amounts and all(v <= max(tol * totals.get(a, 0), 10 ** exp["assets"].get(a, {"decimals": 18})["decimals"])
                           for a, v in amounts.items()):
            fb.append(_item("exchange_dust", exchange=name))      # taint spread thin (pools): no request, no cost
            continue
        score -= 0.5 * share
        fb.append(_item("exchange_not_reached", exchange=name))
    return max(0.0, min(w, score)), fb


def _mixers(exp: dict, named: list[str]) -> tuple[float, list[dict]]:
    w = ETH_WEIGHTS["mixers"]
    pools = {p["pool"]: p for p in exp["mixers"]}
    got = {n for n in named if n.startswith("0x")}
    words = [n for n in named if not n.startswith("0x")]
    said_tornado = bool(got & set(pools)) or any(t in n.lower() for n in words for t in TORNADO_WORDS)
    fb: list[dict] = []
    if not pools:
        if not named:
            return w, [_item("no_mixer_ok")]
        return 0.0, [_item("mixer_not_used", mixer=n) for n in named]
    for addr, p in pools.items():
        if addr not in got:
            fb.append(_item("pool_missed", pool=addr, denomination=p["denomination"], deposits=p["deposits"],
                            withdrawn=p["withdrawn"], heuristics=p["heuristics"], techniques=["tornado_lead"]))
    for n in sorted(got - set(pools)):
        fb.append(_item("mixer_not_used", mixer=n))
    for n in words:
        if not any(t in n.lower() for t in TORNADO_WORDS):
            fb.append(_item("mixer_not_used", mixer=n))
    if not fb:
        fb.append(_item("pools_ok", n=len(pools)))
    jaccard = len(got & set(pools)) / len(got | set(pools))
    return w * (0.3 * said_tornado + 0.7 * jaccard), fb


def _bridges(exp: dict, named: list[str]) -> tuple[float, list[dict]]:
    w = ETH_WEIGHTS["bridges"]
    want = exp["bridges"]
    if not want:
        if not named:
            return w, [_item("no_bridge_ok")]
        return 0.0, [_item("bridge_not_used", bridge=n) for n in named]
    b = want[0]
    hit = [n for n in named if n in b["addresses"] or _norm(n) == _norm(b["name"])
           or any(t in n.lower() for t in BRIDGE_WORDS)]
    other = [n for n in named if n not in hit]
    fb = [_item("bridge_not_used", bridge=n) for n in other]
    if not hit:
        fb.insert(0, _item("bridge_missed", bridge=b["name"], legs=b["legs"], nonces=b["nonces"],
                           techniques=["bridge_nonce"]))
        return 0.0, fb
    fb.insert(0, _item("bridge_ok", bridge=b["name"], legs=b["legs"], nonces=b["nonces"]))
    return (w if not other else w / 2), fb


def _unspent(exp: dict, answered: dict[str, int] | None, tol: float) -> tuple[float, list[dict]]:
    w = ETH_WEIGHTS["unspent"]
    want = {a: int(v) for a, v in exp["unspent"].items()}
    if answered is None:
        return 0.0, [_item("eth_unspent_missing", amounts=[_amount(exp, a, v) for a, v in want.items()])]
    rest = {a: v for a, v in answered.items() if v > 0}
    if not want:
        fb = [_item("eth_unspent_not_held", symbol=_amount(exp, a, 0)["symbol"]) for a in rest]
        return (w if not rest else 0.0), fb or [_item("unspent_ok")]
    share = w / len(want)
    score, fb = 0.0, []
    for asset, v in want.items():
        dec = exp["assets"].get(asset, {"decimals": 18})["decimals"]
        got = rest.pop(asset, None)
        if got is None:
            fb.append(_item("eth_unspent_asset_missed", **_amount(exp, asset, v)))
            continue
        verdict = _close(got, v, tol, dec, 2)
        if verdict == "ok":
            score += share
            fb.append(_item("eth_unspent_ok", symbol=_amount(exp, asset, 0)["symbol"]))
        else:
            score += share / 2 if verdict == "near" else 0.0
            fb.append(_item("eth_unspent_off" if verdict == "near" else "eth_unspent_wrong",
                            **_amount(exp, asset, v), answered=str(got), tolerance=tol))
    for asset in rest:
        score -= share / 2
        fb.append(_item("eth_unspent_not_held", symbol=_amount(exp, asset, 0)["symbol"]))
    return max(0.0, score), fb


def grade_eth(expected: dict, answers: dict, tolerance: float, owner_of: Callable[[str], str | None]) -> dict:
    """Score ``answers`` (as ``eth_submission.parse_eth_answers`` returns them) against ``expected``."""
    parts = {
        "exchanges": _exchanges(expected, answers["exchanges"], tolerance),
        "perpetrator": _perpetrator(expected, answers["perpetrator_addresses"], owner_of,
                                    weight=ETH_WEIGHTS["perpetrator"], missed_techniques=["gas_funding"]),
        "mixers": _mixers(expected, answers["mixers"]),
        "bridges": _bridges(expected, answers["bridges"]),
        "unspent": _unspent(expected, answers["unspent"], tolerance),
        "reasoning": _reasoning(expected, answers["reasoning"]),
    }
    questions = [{"id": q, "score": round(s, 2), "max": ETH_WEIGHTS[q], "feedback": fb}
                 for q, (s, fb) in parts.items()]
    return {"score": round(sum(s for s, _fb in parts.values()), 2), "max": sum(ETH_WEIGHTS.values()),
            "tolerance": tolerance, "questions": questions}

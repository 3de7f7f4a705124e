"""Grading an answer against the expected answers: per question, partial credit within stated tolerances.

Weights (out of 100): exchanges and amounts 35, the perpetrators' addresses 25,
the mixing services 15, the unspent amount 15, the reasoning 10.

* Exchanges: each exchange the proceeds reached is worth an equal share; naming
  it earns 40 % of the share, its amount within the set's tolerance
  (``tolerance`` × amount, at least 1,000 sat) the other 60 %, within three
  times the tolerance 30 %. Naming an exchange no proceeds reached costs half a
  share (a wasted legal request).
* Perpetrators' addresses: (hits − 2 × false accusations − unknown) / all, so
  naming an innocent address costs twice what omitting one does. A deposit
  address of the perpetrators' own exchange accounts is the exchange's: it
  neither earns nor costs.
* Mixing services: |named ∩ key| / |named ∪ key| ("none" is the empty set).
* Unspent: full within the tolerance (at least 10,000 sat), half within three
  times it.
* Reasoning: the share of the case's techniques the text names (a keyword check;
  the instructor reads the text).

Feedback items are codes with parameters (``feedback.render`` words them in the
reader's language), so a grade stored once reads in any language.
"""

from __future__ import annotations

from collections.abc import Callable

WEIGHTS = {"exchanges": 35.0, "perpetrator": 25.0, "mixers": 15.0, "unspent": 15.0, "reasoning": 10.0}
MIN_AMOUNT_TOL_SAT = 1_000
MIN_UNSPENT_TOL_SAT = 10_000
EXAMPLES = 3


def _norm(name: str) -> str:
    return " ".join(name.lower().split())


def _item(code: str, **params) -> dict:
    return {"code": code, "params": params}


def _exchanges(exp: dict, named: dict[str, int], tol: float) -> tuple[float, list[dict]]:
    want = exp["exchanges"]
    w = WEIGHTS["exchanges"]
    by_norm = {_norm(k): (k, v) for k, v in named.items()}
    fb: list[dict] = []
    if not want:
        extra = list(named)
        for k in extra:
            fb.append(_item("exchange_not_reached", exchange=k))
        return max(0.0, w - w / 2 * len(extra)), fb
    share = w / len(want)
    score = 0.0
    for name, amount in want.items():
        got = by_norm.pop(_norm(name), None)
        path = exp["exchange_paths"].get(name, [])
        if got is None:
            fb.append(_item("exchange_missed", exchange=name, amount_sat=amount,
                            deposits=exp["exchange_deposits"].get(name, 0), techniques=path))
            continue
        score += 0.4 * share
        lim = max(tol * amount, MIN_AMOUNT_TOL_SAT)
        err = abs(got[1] - amount)
        if err <= lim:
            score += 0.6 * share
            fb.append(_item("exchange_ok", exchange=name))
        else:
            partial = err <= 3 * lim
            score += 0.3 * share if partial else 0.0
            fb.append(_item("exchange_amount_off" if partial else "exchange_amount_wrong", exchange=name,
                            amount_sat=amount, answered_sat=got[1], tolerance=tol, techniques=path))
    for name, _amount in by_norm.values():
        score -= 0.5 * share
        fb.append(_item("exchange_not_reached", exchange=name))
    return max(0.0, min(w, score)), fb


def _perpetrator(exp: dict, named: list[str], owner_of: Callable[[str], str | None], weight: float | None = None,
                 missed_techniques: list[str] | None = None) -> tuple[float, list[dict]]:
    w = WEIGHTS["perpetrator"] if weight is None else weight
    perp = set(exp["perpetrator_addresses"])
    neutral = set(exp["neutral_addresses"])
    hits, false, unknown, neutral_named = [], [], [], []
    for a in dict.fromkeys(named):
        if a in perp:
            hits.append(a)
        elif a in neutral:
            neutral_named.append(a)
        elif (kind := owner_of(a)) is None:
            unknown.append(a)
        else:
            false.append((a, kind))
    fb: list[dict] = []
    for a, kind in false:
        fb.append(_item("false_accusation", address=a, owner=kind))
    for a in unknown:
        fb.append(_item("unknown_address", address=a))
    for a in neutral_named:
        fb.append(_item("deposit_not_perpetrator", address=a))
    missed = sorted(perp - set(hits))
    chips = sorted(set(exp["chip_addresses"]) & set(missed))
    other = [a for a in missed if a not in set(chips)]
    if other:
        fb.append(_item("addresses_missed", n=len(other), total=len(perp), examples=other[:EXAMPLES],
                        techniques=missed_techniques or ["clustering", "change_heuristic"]))
    if chips:
        fb.append(_item("chips_missed", n=len(chips), examples=chips[:EXAMPLES], techniques=["demix"]))
    if not missed and not false and not unknown:
        fb.append(_item("perpetrator_ok", n=len(hits), names=exp["perpetrators"]))
    if not perp:
        return (w if not false and not unknown else 0.0), fb
    return w * max(0.0, (len(hits) - 2 * len(false) - len(unknown)) / len(perp)), fb


def _mixers(exp: dict, named: list[str]) -> tuple[float, list[dict]]:
    w = WEIGHTS["mixers"]
    want = {_norm(m): m for m in exp["mixers"]}
    got = {_norm(m): m for m in named}
    fb: list[dict] = []
    for k, m in want.items():
        if k not in got:
            custodial = "mixer" in k
            fb.append(_item("mixer_missed", mixer=m, techniques=["demix" if custodial else "coinjoin"]))
    for k, m in got.items():
        if k not in want:
            fb.append(_item("mixer_not_used", mixer=m))
    union = set(want) | set(got)
    if not union:
        fb.append(_item("no_mixer_ok"))
        return w, fb
    if not fb:
        fb.append(_item("mixers_ok", mixers=sorted(want.values())))
    return w * len(set(want) & set(got)) / len(union), fb


def _unspent(exp: dict, answered: int | None, tol: float) -> tuple[float, list[dict]]:
    w = WEIGHTS["unspent"]
    want = exp["unspent_sat"]
    if answered is None:
        return 0.0, [_item("unspent_missing", amount_sat=want, outputs=exp["unspent_outputs"])]
    lim = max(tol * want, MIN_UNSPENT_TOL_SAT)
    err = abs(answered - want)
    if err <= lim:
        return w, [_item("unspent_ok")]
    code = "unspent_off" if err <= 3 * lim else "unspent_wrong"
    return (w / 2 if err <= 3 * lim else 0.0), [_item(code, amount_sat=want, answered_sat=answered,
                                                        outputs=exp["unspent_outputs"], tolerance=tol)]


def _reasoning(exp: dict, text: str) -> tuple[float, list[dict]]:
    from chaintrail.training.kinds import TECHNIQUE_WORDS

    w = WEIGHTS["reasoning"]
    want = [t for t in exp["techniques"] if t in TECHNIQUE_WORDS]
    low = text.lower()
    named = [t for t in want if any(word in low for word in TECHNIQUE_WORDS[t])]
    missing = [t for t in want if t not in named]
    fb = [_item("reasoning_missing", techniques=missing)] if missing else [_item("reasoning_ok")]
    fb.append(_item("reasoning_note"))
    return (w * len(named) / len(want) if want else w), fb


def grade(expected: dict, answers: dict, tolerance: float, owner_of: Callable[[str], str | None]) -> dict:
    """Score ``answers`` (as ``submission.parse_answers`` returns them) against ``expected``.

    ``owner_of(address)`` is the kind of entity controlling an address on the
    exercise's chain (None: not an address of that chain).
    """
    parts = {
        "exchanges": _exchanges(expected, answers["exchanges"], tolerance),
        "perpetrator": _perpetrator(expected, answers["perpetrator_addresses"], owner_of),
        "mixers": _mixers(expected, answers["mixers"]),
        "unspent": _unspent(expected, answers["unspent_sat"], tolerance),
        "reasoning": _reasoning(expected, answers["reasoning"]),
    }
    questions = [{"id": q, "score": round(s, 2), "max": WEIGHTS[q], "feedback": fb} for q, (s, fb) in parts.items()]
    return {"score": round(sum(s for s, _fb in parts.values()), 2), "max": sum(WEIGHTS.values()),
            "tolerance": tolerance, "questions": questions}

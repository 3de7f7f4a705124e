"""Risk levels from a screen's findings, with the reasons in words.

Four levels, low < medium < high < severe. A level comes from one of three
findings, each judged per screening category:

* the subject itself carries the tag (its own tag, or its cluster's definer tag);
* direct exposure: funds moved between the subject and a tagged counterparty
  in one hop;
* indirect exposure: funds reached the subject from (or went on to) a tagged
  entity over 2..n hops.

Exposures below both ``min_share`` of the subject's funds and ``min_sat``
are reported but do not raise the level (dusting is cheap). Indirect
exposure above ``escalate_share`` counts as direct. The tables below are a
starting policy, in the spirit of common KYT practice; agencies set their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chaintrail.tags import taxonomy as tx

if TYPE_CHECKING:  # pragma: no cover
    from chaintrail.analysis.screening import Exposure, TagRef

LEVELS = ("low", "medium", "high", "severe")
RANK = {lv: i for i, lv in enumerate(LEVELS)}

_SELF = {"sanctioned": "severe", "terrorism": "severe", "child_abuse": "severe", "ransomware": "high",
         "darknet_market": "high", "hack": "high", "scam": "high", "mixer": "high", "gambling": "medium",
         "exchange": "low"}
_DIRECT = {"sanctioned": "severe", "terrorism": "severe", "child_abuse": "severe", "ransomware": "high",
           "darknet_market": "high", "hack": "high", "scam": "medium", "mixer": "medium", "gambling": "low",
           "exchange": "low"}
_INDIRECT = {"sanctioned": "high", "terrorism": "high", "child_abuse": "high", "ransomware": "medium",
             "darknet_market": "medium", "hack": "medium", "scam": "low", "mixer": "low", "gambling": "low",
             "exchange": "low"}


@dataclass(frozen=True)
class RiskPolicy:
    """Which finding gives which level (per screening category) and what counts as dust."""

    self_level: dict = field(default_factory=lambda: dict(_SELF))
    direct_level: dict = field(default_factory=lambda: dict(_DIRECT))
    indirect_level: dict = field(default_factory=lambda: dict(_INDIRECT))
    min_share: float = 0.01
    min_sat: int = 100_000
    escalate_share: float = 0.5


@dataclass
class Reason:
    level: str
    category: str | None
    text: str


@dataclass
class Risk:
    level: str
    reasons: list[Reason]

    @property
    def explanation(self) -> str:
        return "\n".join(f"{r.level.upper()}: {r.text}" for r in self.reasons)

    def to_dict(self) -> dict:
        return {"level": self.level, "reasons": [{"level": r.level, "category": r.category, "text": r.text}
                                                  for r in self.reasons]}


def sats(n: int) -> str:
    """'1.25000000 BTC (125,000,000 sat)'."""
    return f"{n / 1e8:.8f} BTC ({n:,} sat)"


def assess(subject: str, self_tags: list["TagRef"], exposures: list["Exposure"], hops: int,
           in_store: bool, conflicts: list[str], policy: RiskPolicy | None = None) -> Risk:
    """The level and the reasons behind it, most serious first."""
    policy = policy or RiskPolicy()
    reasons: list[Reason] = []
    by_cat: dict[str, list] = {}
    for t in self_tags:
        for c in t.categories:
            by_cat.setdefault(c, []).append(t)
    for c in tx.CATEGORIES:
        if c not in by_cat:
            continue
        ts = by_cat[c]
        first = ts[0]
        how = "is itself tagged" if first.via == "address" else f"belongs to cluster {first.cluster}, which is tagged"
        more = f" (and {len(ts) - 1} more tag(s))" if len(ts) > 1 else ""
        reasons.append(Reason(policy.self_level[c], c, f"{subject} {how} {tx.TITLE[c]}: {first.words()}{more}"))
    for e in exposures:
        if e.direction == "self" or e.amount_sat <= 0:
            continue
        reasons.append(_exposure_reason(e, policy))
    for text in conflicts:
        reasons.append(Reason("medium", None, f"conflicting attribution, check before relying on it: {text}"))
    if not in_store:
        reasons.append(Reason("low", None, f"{subject} is not in the chain store: only its own tags were checked, "
                                           "no flow exposure"))
    if not reasons or all(r.category is None and r.level == "low" for r in reasons):
        scope = f"within {hops} hop(s)" if in_store else "in the tag store"
        reasons.append(Reason("low", None, f"no tag on {subject} and no exposure to "
                                           f"{', '.join(tx.TITLE[c] for c in tx.CATEGORIES)} {scope}"))
    reasons.sort(key=lambda r: -RANK[r.level])
    return Risk(reasons[0].level, reasons)


def _exposure_reason(e: "Exposure", policy: RiskPolicy) -> Reason:
    dust = e.share < policy.min_share and e.amount_sat < policy.min_sat
    direct = e.direct_sat > 0 and (e.direct_sat / max(e.traced_sat, 1) >= policy.min_share
                                   or e.direct_sat >= policy.min_sat)
    if dust:
        level = "low"
    elif direct or e.share >= policy.escalate_share:
        level = policy.direct_level[e.category]
    else:
        level = policy.indirect_level[e.category]
    verb = "came from" if e.direction == "incoming" else "went to"
    of = "received" if e.direction == "incoming" else "traced onward"
    if e.min_hops <= 1 and e.indirect_sat == 0:
        hop_words = "directly"
    else:
        hop_words = f"within {e.max_hops} hops (nearest at hop {e.min_hops}" + \
            (f", {sats(e.direct_sat)} of it directly)" if e.direct_sat else ")")
    text = (f"{sats(e.amount_sat)} ({e.share:.2%} of the funds {of}) {verb} {tx.TITLE[e.category]} {hop_words}")
    if e.tags:
        text += f"; tag {e.tags[0].words()}"
        if len(e.tags) > 1:
            text += f" and {len(e.tags) - 1} other tagged counterparty address(es)"
    if e.path:
        text += f"; path {' -> '.join(e.path)}"
    if dust:
        text += f" (below the {policy.min_share:.0%} / {policy.min_sat:,} sat threshold: informational)"
    return Reason(level, e.category, text)

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

from chaintrail.analysis.risk_words import Part, display, english, part
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
    """One reason for a level: ``text`` in fixed English (the contract), ``parts`` to write it in any language."""

    level: str
    category: str | None
    parts: list[Part]

    @property
    def text(self) -> str:
        return english(self.parts)

    def display(self) -> str:
        """The reason in the current language (``chaintrail.i18n``)."""
        return display(self.parts)

    def to_dict(self) -> dict:
        return {"level": self.level, "category": self.category, "text": self.text,
                "parts": [{"template": t, "values": v} for t, v in self.parts]}


@dataclass
class Risk:
    level: str
    reasons: list[Reason]

    @property
    def explanation(self) -> str:
        return "\n".join(f"{r.level.upper()}: {r.text}" for r in self.reasons)

    def to_dict(self) -> dict:
        return {"level": self.level, "reasons": [r.to_dict() for r in self.reasons]}


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
        parts = [part("self_address", subject=subject, category=c, tag=first.values()) if first.via == "address"
                 else part("self_cluster", subject=subject, cluster=first.cluster, category=c, tag=first.values())]
        if len(ts) > 1:
            parts.append(part("more_tags", n=len(ts) - 1))
        reasons.append(Reason(policy.self_level[c], c, parts))
    for e in exposures:
        if e.direction == "self" or e.amount_sat <= 0:
            continue
        reasons.append(_exposure_reason(e, policy))
    for text in conflicts:
        reasons.append(Reason("medium", None, [part("conflict", conflict=text)]))
    if not in_store:
        reasons.append(Reason("low", None, [part("not_in_store", subject=subject)]))
    if not reasons or all(r.category is None and r.level == "low" for r in reasons):
        clean = part("clean_hops", subject=subject, categories=list(tx.CATEGORIES), hops=hops) if in_store else \
            part("clean_tags", subject=subject, categories=list(tx.CATEGORIES))
        reasons.append(Reason("low", None, [clean]))
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
    way = "in" if e.direction == "incoming" else "out"
    what = dict(amount=e.amount_sat, share=e.share, category=e.category)
    if e.min_hops <= 1 and e.indirect_sat == 0:
        parts = [part(f"flow_{way}_direct", **what)]
    elif e.direct_sat:
        parts = [part(f"flow_{way}_hops_direct", **what, max_hops=e.max_hops, min_hops=e.min_hops,
                      direct=e.direct_sat)]
    else:
        parts = [part(f"flow_{way}_hops", **what, max_hops=e.max_hops, min_hops=e.min_hops)]
    if e.tags:
        parts.append(part("flow_tag", tag=e.tags[0].values()))
        if len(e.tags) > 1:
            parts.append(part("flow_more_tags", n=len(e.tags) - 1))
    if e.path:
        parts.append(part("flow_path", path=list(e.path)))
    if dust:
        parts.append(part("flow_dust", min_share=policy.min_share, min_sat=policy.min_sat))
    return Reason(level, e.category, parts)

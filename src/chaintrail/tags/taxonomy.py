"""Tag vocabulary: the GraphSense concepts taxonomy, its confidence scale, and the screening categories.

Tags keep GraphSense concept ids (``category``, ``abuse``, ``concepts``) as
written, so a TagPack exported back to GraphSense users means the same thing.
Screening works on a short list of risk categories; each concept maps to one
of them by walking up its ``broader`` chain until a mapped concept is found.

Two deliberate readings, documented because they are choices:

* GraphSense's ``market`` is any online marketplace; in the public TagPacks it
  marks darknet markets (Hydra), so it screens as ``darknet_market``.
* A tag whose ``source`` is an official sanctions publication (US Treasury /
  OFAC, UK OFSI, UN Security Council) screens as ``sanctioned`` whatever
  concept its pack filed it under: GraphSense's own ``ofac.yaml`` files the
  OFAC addresses under ``user``.
"""

from __future__ import annotations

import re

from chaintrail.i18n import N_

# concept id -> broader concept id (None for the top). From the GraphSense
# concepts taxonomy (derived from the INTERPOL DW-VA taxonomy), version 0.1.0.
CONCEPTS: dict[str, str | None] = {
    "concept": None, "entity": "concept", "behaviour": "concept", "item": "concept",
    "source": "concept", "mention": "source", "website_mention": "mention", "forum_mention": "website_mention",
    "dark_web": "source",
    # behaviour
    "abuse": "behaviour", "gray_usage": "behaviour", "white_usage": "behaviour",
    "mixing": "gray_usage", "coinjoin": "mixing",
    "cold_wallet": "white_usage", "hot_wallet": "white_usage", "warm_wallet": "white_usage",
    # abuse
    "sexual_abuse": "abuse", "child_sexual_abuse": "sexual_abuse", "violence": "abuse", "torture": "violence",
    "scam": "abuse", "financial_crime": "abuse", "investment_fraud": "financial_crime",
    "ponzi_scheme": "investment_fraud", "pyramid_scheme": "ponzi_scheme", "money_laundering": "financial_crime",
    "payment_card_fraud": "financial_crime", "extortion": "abuse", "sextortion": "extortion",
    "phishing": "abuse", "service_hack": "abuse", "ransomware": "abuse", "sanction": "abuse",
    "extremism": "abuse", "terrorism": "extremism",
    # entities
    "organization": "entity", "user": "entity", "service": "entity",
    "victim": "user", "perpetrator": "user", "donation": "user", "miner": "user",
    "exchange": "service", "wallet_service": "service", "escrow_wallet": "wallet_service",
    "ico_wallet": "wallet_service", "filesharing": "service", "index": "service", "market": "service",
    "messaging_service": "service", "mixing_service": "service", "mining_service": "service",
    "gambling": "service", "search_engine": "service", "shop": "service", "faucet": "service",
    "payment_processor": "service", "atm": "service", "hosting": "service", "vpn": "service",
    "defi": "service", "defi_lending": "defi", "defi_dex": "defi", "defi_derivative": "defi",
    "defi_bridge": "defi", "collectible": "item",
}

# Screening categories, most severe first. Extra to the eight every screen reports:
# terrorism and child_abuse, which the taxonomy names and no investigator would drop.
CATEGORIES: tuple[str, ...] = ("sanctioned", "terrorism", "child_abuse", "ransomware", "darknet_market", "hack",
                               "scam", "mixer", "gambling", "exchange")
BIT = {c: 1 << i for i, c in enumerate(CATEGORIES)}
# Titles in reasons; marked for the catalogs, translated where they are shown (analysis.risk_words).
TITLE = {"sanctioned": N_("sanctioned"), "terrorism": N_("terrorist financing"),
         "child_abuse": N_("child sexual abuse"), "ransomware": N_("ransomware"),
         "darknet_market": N_("darknet market"), "hack": N_("hack"), "scam": N_("scam"), "mixer": N_("mixer"),
         "gambling": N_("gambling"), "exchange": N_("exchange")}

# The concept each screening category starts from (narrower concepts inherit it).
_ROOTS: dict[str, str] = {
    "sanction": "sanctioned", "terrorism": "terrorism", "extremism": "terrorism",
    "child_sexual_abuse": "child_abuse", "ransomware": "ransomware", "market": "darknet_market",
    "dark_web": "darknet_market", "service_hack": "hack", "scam": "scam", "phishing": "scam",
    "investment_fraud": "scam", "payment_card_fraud": "scam", "extortion": "scam",
    "mixing_service": "mixer", "mixing": "mixer", "gambling": "gambling", "exchange": "exchange", "atm": "exchange",
}

# Concept a screening category is stored as when a user or a CSV names only the category.
CANONICAL_CONCEPT = {"sanctioned": "sanction", "terrorism": "terrorism", "child_abuse": "child_sexual_abuse",
                     "ransomware": "ransomware", "darknet_market": "market", "hack": "service_hack",
                     "scam": "scam", "mixer": "mixing_service", "gambling": "gambling", "exchange": "exchange"}

# GraphSense confidence scale: id -> level (0-100).
CONFIDENCE: dict[str, int] = {
    "ownership": 100, "override": 100, "ledger_immanent": 100, "manual_transaction": 90, "service_api": 70,
    "authority_data": 60, "trusted_provider": 50, "service_data": 50, "forensic": 50,
    "untrusted_transaction": 40, "web_crawl": 20, "heuristic": 10, "unknown": 5,
}

_SANCTION_SOURCE = re.compile(
    r"^https?://(?:[\w-]+\.)*(?:treasury\.gov|treas\.gov)/\S*(?:sanction|ofac|sdn|recent-actions)"
    r"|^https?://(?:www\.)?gov\.uk/\S*financial-sanctions"
    r"|^https?://(?:[\w-]+\.)*un\.org/\S*sanctions", re.IGNORECASE)


def is_abuse(concept: str) -> bool:
    """Whether a concept sits under ``abuse`` (and so belongs in a tag's ``abuse`` field)."""
    seen = 0
    c: str | None = concept
    while c is not None and seen < 32:
        if c == "abuse":
            return True
        c = CONCEPTS.get(c)
        seen += 1
    return False


def category_of_concept(concept: str | None) -> str | None:
    """The screening category a concept falls under, or None."""
    c, seen = concept, 0
    while c is not None and seen < 32:
        hit = _ROOTS.get(c)
        if hit is not None:
            return hit
        c = CONCEPTS.get(c)
        seen += 1
    return None


def sanction_source(source: str | None) -> bool:
    """Whether ``source`` points at an official sanctions publication."""
    return bool(source) and _SANCTION_SOURCE.match(source) is not None  # type: ignore[arg-type]


def categories_of(category: str | None, abuse: str | None, concepts, source: str | None) -> list[str]:
    """Every screening category one tag falls under, most severe first."""
    found = set()
    for c in (category, abuse, *(concepts or ())):
        hit = category_of_concept(c)
        if hit:
            found.add(hit)
    if sanction_source(source):
        found.add("sanctioned")
    return [c for c in CATEGORIES if c in found]


def normalize_category(name: str) -> str | None:
    """A screening category from a user's spelling ('darknet market', 'Darknet-Market'), or None."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    aliases = {"sanction": "sanctioned", "sanctions": "sanctioned", "darknet": "darknet_market",
               "market": "darknet_market", "mixing": "mixer", "mixing_service": "mixer", "tumbler": "mixer",
               "service_hack": "hack", "theft": "hack", "fraud": "scam", "terrorist_financing": "terrorism",
               "csam": "child_abuse"}
    key = aliases.get(key, key)
    return key if key in BIT else None


def concepts_matching(names) -> tuple[set[str], set[str]]:
    """Split stop/filter names into (screening categories, GraphSense concepts incl. narrower ones).

    ``exchange`` is both; names that are neither (e.g. ``merchant``) match nothing.
    """
    cats: set[str] = set()
    concepts: set[str] = set()
    for n in names:
        if n in CONCEPTS:
            concepts |= {c for c in CONCEPTS if _under(c, n)}
        cat = normalize_category(n) if n not in CONCEPTS else None
        if cat:
            cats.add(cat)
    return cats, concepts


def _under(concept: str, ancestor: str) -> bool:
    c: str | None = concept
    seen = 0
    while c is not None and seen < 32:
        if c == ancestor:
            return True
        c = CONCEPTS.get(c)
        seen += 1
    return False


def bits_of(categories) -> int:
    out = 0
    for c in categories:
        out |= BIT[c]
    return out


def categories_from_bits(bits: int) -> list[str]:
    return [c for c in CATEGORIES if bits & BIT[c]]

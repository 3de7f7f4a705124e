"""TLP 2.0 (FIRST Traffic Light Protocol): levels, their order, redaction, and the STIX marking definitions.

Every case item carries one level. A recipient is cleared up to a level; an
item above it is withheld. The order, least to most restricted, is
CLEAR < GREEN < AMBER < AMBER+STRICT < RED.

STIX 2.1 predefines only TLP 1.0 markings, so TLP 2.0 travels as the OASIS
``tlp-2.0`` property extension with the ids OASIS published
(oasis-open/cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
"""

from __future__ import annotations

from chaintrail.errors import UsageError
from chaintrail.i18n import N_

LEVELS: tuple[str, ...] = ("clear", "green", "amber", "amber+strict", "red")
RANK = {lvl: i for i, lvl in enumerate(LEVELS)}

# What each level allows, in FIRST's words (shortened), for reports and packages.
MEANING = {
    "clear": N_("Recipients may spread this to the world; there is no limit on disclosure."),
    "green": N_("Recipients may share this with peers and partner organisations within their community, "
             "but not via publicly accessible channels."),
    "amber": N_("Recipients may share this on a need-to-know basis within their organisation and its clients."),
    "amber+strict": N_("Recipients may share this on a need-to-know basis only within their own organisation."),
    "red": N_("For the eyes and ears of individual recipients only; no further disclosure."),
}

# FIRST's colours: coloured text on a black background.
COLOUR = {"clear": "#FFFFFF", "green": "#33FF00", "amber": "#FFC000", "amber+strict": "#FFC000", "red": "#FF2B2B"}

STIX_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
STIX_CREATED = "2022-10-01T00:00:00.000Z"
STIX_MARKING_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
LEVEL_OF_STIX_ID = {v: k for k, v in STIX_MARKING_IDS.items()}


def normalize(level: str | None, default: str | None = None) -> str:
    """'TLP:AMBER+STRICT', 'amber_strict', 'Amber' -> 'amber+strict' / 'amber'; 'white' is TLP 1.0 for clear."""
    if level is None or not str(level).strip():
        if default is None:
            raise UsageError("a TLP level is needed (clear, green, amber, amber+strict, red)")
        return default
    s = str(level).strip().lower()
    if s.startswith("tlp:"):
        s = s[4:]
    s = s.replace("_", "+").replace(" ", "+").replace("-", "+")
    if s == "white":
        s = "clear"
    if s not in RANK:
        raise UsageError(f"unknown TLP level {level!r}: use one of {', '.join(LEVELS)}")
    return s


def label(level: str) -> str:
    """'amber+strict' -> 'TLP:AMBER+STRICT'."""
    return "TLP:" + normalize(level).upper()


def allowed(item_level: str, cleared: str) -> bool:
    """Whether an item at ``item_level`` may go to a recipient cleared up to ``cleared``."""
    return RANK[normalize(item_level)] <= RANK[normalize(cleared)]


def strictest(*levels: str) -> str:
    return max((normalize(lv) for lv in levels), key=RANK.__getitem__)


def stix_marking(level: str) -> dict:
    """The OASIS TLP 2.0 marking-definition object for ``level``, as plain STIX JSON."""
    lv = normalize(level)
    return {"type": "marking-definition", "spec_version": "2.1", "id": STIX_MARKING_IDS[lv],
            "created": STIX_CREATED, "name": label(lv),
            "extensions": {STIX_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": lv}}}

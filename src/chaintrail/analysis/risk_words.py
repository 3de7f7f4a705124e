"""The words of a risk reason: templates and values, written in English for ``text`` or in the reader's language.

A reason is a list of parts, each a template id and its values (``Part``). ``english`` writes the fixed English
``text`` that ``--json`` and the API keep as their contract; ``display`` writes the same sentence through the
catalog (``_()``) with numbers per locale, for the CLI and reports. The web workbench writes it with ``t()`` from
the same ids (``reason.<id>`` in assets/i18n, web/assets/js/reasons.js). A value is formatted by its name:

* ``amount``, ``direct``: satoshis ("1.25000000 BTC (125,000,000 sat)");
* ``share``, ``min_share``: fractions as percent (two places, none);
* ``category``: a screening category, shown by its title; ``categories``: a list of them;
* ``path``: addresses joined by " -> "; ``min_sat``, ``n``, ``hops``, ``min_hops``, ``max_hops``: counts;
* ``tag``: a tag's fields (``screening.TagRef.values``), written as ``'label' [kind] on ADDRESS (source …; confidence …)``;
* anything else (subject, conflict, cluster): as given (data, never translated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chaintrail.i18n import N_, _, fmt_btc, fmt_number, fmt_percent
from chaintrail.tags import taxonomy as tx

__all__ = ["TEMPLATES", "Part", "display", "english", "part", "tag_words"]

Part = tuple[str, dict[str, Any]]

TEMPLATES: dict[str, str] = {
    "self_address": N_("{subject} is itself tagged {category}: {tag}"),
    "self_cluster": N_("{subject} belongs to cluster {cluster}, which is tagged {category}: {tag}"),
    "more_tags": N_(" (and {n} more tag(s))"),
    "flow_in_direct": N_("{amount} ({share} of the funds received) came from {category} directly"),
    "flow_out_direct": N_("{amount} ({share} of the funds traced onward) went to {category} directly"),
    "flow_in_hops": N_("{amount} ({share} of the funds received) came from {category} within {max_hops} hops "
                       "(nearest at hop {min_hops})"),
    "flow_out_hops": N_("{amount} ({share} of the funds traced onward) went to {category} within {max_hops} hops "
                        "(nearest at hop {min_hops})"),
    "flow_in_hops_direct": N_("{amount} ({share} of the funds received) came from {category} within {max_hops} "
                              "hops (nearest at hop {min_hops}, {direct} of it directly)"),
    "flow_out_hops_direct": N_("{amount} ({share} of the funds traced onward) went to {category} within "
                               "{max_hops} hops (nearest at hop {min_hops}, {direct} of it directly)"),
    "flow_tag": N_("; tag {tag}"),
    "flow_more_tags": N_(" and {n} other tagged counterparty address(es)"),
    "flow_path": N_("; path {path}"),
    "flow_dust": N_(" (below the {min_share} / {min_sat} sat threshold: informational)"),
    "conflict": N_("conflicting attribution, check before relying on it: {conflict}"),
    "not_in_store": N_("{subject} is not in the chain store: only its own tags were checked, no flow exposure"),
    "clean_hops": N_("no tag on {subject} and no exposure to {categories} within {hops} hop(s)"),
    "clean_tags": N_("no tag on {subject} and no exposure to {categories} in the tag store"),
}
_SATS = N_("{btc} ({sat} sat)")
# The words around a tag's own fields (label, kind, source and provenance are data).
_TAG = {"on": N_(" on {address}"), "via": N_(" (definer tag of cluster {cluster})"),
        "conflict": N_(" [CONFLICTING CLUSTER]"), "source": N_("source {source}"),
        "confidence": N_("confidence {confidence}")}
_COUNTS = {"min_sat", "n", "hops", "min_hops", "max_hops"}


def part(template: str, **values: Any) -> Part:
    """One part of a reason; refuses an unknown template id (a typo would show as a raw id)."""
    if template not in TEMPLATES:
        raise KeyError(f"no risk reason template {template!r}")
    return template, values


def tag_words(v: dict, tr: Callable[[str], str] = lambda s: s) -> str:
    """A tag's fields (``TagRef.values``) in words; ``tr`` translates the words around them."""
    bits = [v.get("actor"), tr(_TAG["source"]).format(source=v["source"]) if v.get("source") else None,
            tr(_TAG["confidence"]).format(confidence=v["confidence"]) if v.get("confidence") else None,
            v.get("provenance")]
    where = tr(_TAG["on"]).format(address=v["address"]) if v.get("address") else ""
    via = tr(_TAG["via"]).format(cluster=v.get("cluster")) if v.get("via") == "cluster" else ""
    flag = tr(_TAG["conflict"]) if v.get("conflict") else ""
    return f"'{v.get('label')}' [{v.get('kind')}]{where}{via}{flag} ({'; '.join(b for b in bits if b)})"


def _english_value(name: str, v: Any) -> str:
    if name in ("amount", "direct"):
        return f"{v / 1e8:.8f} BTC ({v:,} sat)"
    if name == "share":
        return f"{v:.2%}"
    if name == "min_share":
        return f"{v:.0%}"
    if name == "min_sat":
        return f"{v:,}"
    if name == "category":
        return tx.TITLE[v]
    if name == "categories":
        return ", ".join(tx.TITLE[c] for c in v)
    if name == "path":
        return " -> ".join(v)
    if name == "tag":
        return tag_words(v)
    return str(v)


def _local_value(name: str, v: Any) -> str:
    if name in ("amount", "direct"):
        return _(_SATS).format(btc=fmt_btc(v), sat=fmt_number(v))
    if name == "share":
        return fmt_percent(f"{v:.2%}")
    if name == "min_share":
        return fmt_percent(f"{v:.0%}")
    if name in _COUNTS:
        return fmt_number(v)
    if name == "category":
        return _(tx.TITLE[v])
    if name == "categories":
        return ", ".join(_(tx.TITLE[c]) for c in v)
    if name == "tag":
        return tag_words(v, _)
    return _english_value(name, v)


def _write(parts: Sequence[Part], template: Callable[[str], str], value: Callable[[str, Any], str]) -> str:
    return "".join(template(TEMPLATES[t]).format(**{k: value(k, v) for k, v in vals.items()}) for t, vals in parts)


def english(parts: Sequence[Part]) -> str:
    """The reason's fixed English text (``text`` in --json and the API)."""
    return _write(parts, lambda s: s, _english_value)


def display(parts: Sequence[Part]) -> str:
    """The reason in the current language (``chaintrail.i18n``), numbers per locale."""
    return _write(parts, _, _local_value)

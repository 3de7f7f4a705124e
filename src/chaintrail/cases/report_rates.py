"""Section 4.2 of the court report: each heuristic's error rate with its source, sample size and interval.

Figures are quoted per source (real labelled data, generated out of sample, generated in sample),
and the report warns where a heuristic has no real-data figure: a rate measured only on the
project's own generator is an upper bound, not a measure.
"""

from __future__ import annotations

import re
from html import escape

from chaintrail.cases.methodology import NOT_MEASURED, SOURCE_NAMES, SOURCES, describe_figure, lacks_real, \
    source_figures
from chaintrail.i18n import N_, _, fmt_number, ngettext

# What each heuristic of analysis/error_rates.json infers, for the catalogs (shown through _())
WHAT = (
    N_("Common-input ownership: all inputs of a non-CoinJoin transaction belong to one entity"),
    N_("Multi-input clustering plus a link from each transaction's inputs to its voted change output (chaintrail cluster --change)"),
    N_("Change-output vote over the change heuristics below (confidence margin 0.5)"),
    N_("An output paying one of the transaction's own input addresses is change"),
    N_("The one output whose script type matches the inputs' is change"),
    N_("An output smaller than every input is change (the wallet would not have added an input otherwise)"),
    N_("When exactly one output is a round amount, the other is change"),
    N_("The output whose spending shows the same wallet fingerprint as the inputs is change"),
    N_("The one never-before-seen output address is change"),
    N_("In a peel chain, the output that is spent on in the same pattern is change"),
    N_("CoinJoin and mixer transaction classifiers (Whirlpool, Wasabi 1.0/1.1/2.0, JoinMarket, generic equal-output CoinJoin, ChipMixer-style chips, Whirlpool Tx0), any of them"),
    N_("A transaction is a CoinJoin (protocol not required)"),
    N_("Whirlpool (Samourai) mix"),
    N_("Wasabi 1.x round (1.0 or 1.1)"),
    N_("Wasabi 1.0 round"),
    N_("Wasabi 1.1 round (mixing levels)"),
    N_("Wasabi 2.0 (WabiSabi) round"),
    N_("JoinMarket CoinJoin"),
    N_("ChipMixer-style chip split (a mixer paying out chips)"),
    N_("Spend of mixer chips (chip merge)"),
    N_("Whirlpool Tx0 (premix split)"),
    N_("Peel-chain detection: a run of one-large-one-small transactions"),
    N_("A cluster-defining tag extends to every address of the address's entity"),
    # analysis/eth_entity_rates.json
    N_("Exchange deposit address recognised by its forwarding pattern (factory-made forwarder, or an EOA sweeping "
       "whole balances to one hot wallet), untagged"),
    N_("Accounts paying one exchange deposit address belong to one customer (Victor 2020)"),
    N_("An account funded for gas by one funder just before it acts belongs to the funder"),
    N_("An account approving another account to spend its tokens (self-authorisation); spenders approved by 3 or more "
       "owners refused"),
    N_("A contract belongs to the account (or factory) that created it"),
    N_("Recipients of one airdrop (their first receipt of the token) that each forward at least what they got to one "
       "common account (not a service) are one entity (a Sybil farm consolidating its claims)"),
)
_TORNADO_WHAT = re.compile(r"Tornado linking heuristic (\w+): a withdrawal proposed for a deposit \(a lead, not proof\)")


def what_words(what: str | None) -> str | None:
    """A heuristic's description in the report's language (Tornado's name the heuristic inside the sentence)."""
    if not what:
        return None
    m = _TORNADO_WHAT.fullmatch(what)
    if m:
        return _("Tornado linking heuristic {name}: a withdrawal proposed for a deposit (a lead, not proof)").format(
            name=m.group(1))
    return _(what)


# The words of the error-rate table's dataset descriptions (measured_on), translated where they are shown
DATASET_WORDS = (N_("sum of the per-protocol rows above (protocol named correctly)"),
                 N_("(Dumplings' heuristic labels)"), N_(", rows with >= 3 equal outputs"),
                 N_("(rounds in the blocksec Wasabi list)"))
_SEED = re.compile(r"seed (\d+) (\w+) scale (\d+) \(([\d,]+) txs\)")


def dataset_words(text: str) -> str:
    """A measured_on description in the reader's language (file names and seeds kept as they are)."""
    for w in DATASET_WORDS:
        text = text.replace(w, _(w))
    return _SEED.sub(lambda m: _("seed {seed} {kind} scale {scale} ({n} txs)").format(
        seed=m[1], kind=m[2], scale=m[3], n=fmt_number(int(m[4].replace(",", "")))), text)


def _e(s) -> str:
    return escape("" if s is None else str(s))


def _cells(entry: dict) -> str:
    figs = source_figures(entry)
    if not figs:
        return f"<td colspan={len(SOURCES)}>{_e(_(NOT_MEASURED))}</td>"
    return "".join(f"<td>{_e(describe_figure(figs[src]) if src in figs else _('not measured'))}</td>" for src in SOURCES)


def _source(src: str) -> str:
    name = _(SOURCE_NAMES[src])
    return name[0].upper() + name[1:]


def generated_only(rates: dict[str, dict]) -> list[str]:
    """Heuristics measured only on generated chains, sorted."""
    return sorted(k for k, v in rates.items() if lacks_real(v))


def rates_section(rates: dict[str, dict]) -> str:
    """The 4.2 heading, its table with one column per source, where each figure was measured, and the warnings."""
    intro = ("<h3>" + _e(_("4.2 Heuristics and their measured error rates")) + "</h3><p>" + _(
        "Addresses are grouped into entities (one controller) and transactions are classified by the heuristics "
        "below. Each has a version, and its error rates are measured with {command} against three sources, most "
        "credible first: real transactions labelled by others; generated chains on seeds reserved for evaluation, "
        "with behaviour randomised (out of sample); and the generated chains the rules were developed on (in "
        "sample). Each figure gives its sample size (n) and its 95% Wilson interval (CI); precision is the share of "
        "the heuristic's conclusions that are right, recall the share of true cases it finds. A heuristic or source "
        "not measured is shown as such.").format(command="<code>chaintrail heuristics regenerate</code>") + "</p>")
    if not rates:
        return intro + "<p>" + _e(_("No heuristic was used.")) + "</p>"
    head = "".join(f"<th>{_e(_source(src))}</th>" for src in SOURCES)
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v.get('version'))}</td><td>{_e(what_words(v.get('what')))}</td>{_cells(v)}</tr>"
                   for k, v in sorted(rates.items()))
    where = sorted({(SOURCES.index(src), src, str(f.get("measured_on"))) for v in rates.values()
                    for src, f in source_figures(v).items() if f.get("measured_on")})
    when = sorted({str(v["measured_at"]) for v in rates.values() if v.get("measured_at")})
    basis = ""
    if where:
        measured = _("Measured on {when}.").format(when=", ".join(when)) if when else _("Measured.")
        basis = (f"<p class=small>{_e(measured)} "
                 + " ".join(f"{_e(_source(src))}: {_e(dataset_words(on))}." for _, src, on in where)
                 + "</p>")
    cols = "".join(f"<th>{_e(x)}</th>" for x in (_("Heuristic"), _("Version"), _("What it infers")))
    out = [intro, f"<table class=data><tr>{cols}{head}</tr>{rows}</table>{basis}"]
    warn = generated_only(rates)
    if warn:
        out.append("<p class=warn>" + ngettext(
            "<b>No real-data figure</b> exists for {names}. Its error rates were measured only on chains made by "
            "chaintrail's own scenario generator, whose behaviour the rules may share; they are upper bounds on "
            "accuracy, not measures of it, and conclusions that rest on them should be corroborated independently.",
            "<b>No real-data figure</b> exists for {names}. Their error rates were measured only on chains made by "
            "chaintrail's own scenario generator, whose behaviour the rules may share; they are upper bounds on "
            "accuracy, not measures of it, and conclusions that rest on them should be corroborated independently.",
            len(warn)).format(names=_e(", ".join(warn))) + "</p>")
    return "".join(out)

"""Section 4.2 of the court report: each heuristic's error rate with its source, sample size and interval.

Figures are quoted per source (real labelled data, generated out of sample, generated in sample),
and the report warns where a heuristic has no real-data figure: a rate measured only on the
project's own generator is an upper bound, not a measure.
"""

from __future__ import annotations

from html import escape

from chaintrail.cases.methodology import NOT_MEASURED, SOURCE_NAMES, SOURCES, describe_figure, lacks_real, \
    source_figures


def _e(s) -> str:
    return escape("" if s is None else str(s))


def _cells(entry: dict) -> str:
    figs = source_figures(entry)
    if not figs:
        return f"<td colspan={len(SOURCES)}>{NOT_MEASURED}</td>"
    return "".join(f"<td>{_e(describe_figure(figs[src]) if src in figs else 'not measured')}</td>" for src in SOURCES)


def generated_only(rates: dict[str, dict]) -> list[str]:
    """Heuristics measured only on generated chains, sorted."""
    return sorted(k for k, v in rates.items() if lacks_real(v))


def rates_section(rates: dict[str, dict]) -> str:
    """The 4.2 heading, its table with one column per source, where each figure was measured, and the warnings."""
    intro = ("<h3>4.2 Heuristics and their measured error rates</h3><p>Addresses are grouped into entities (one "
             "controller) and transactions are classified by the heuristics below. Each has a version, and its "
             "error rates are measured with <code>chaintrail heuristics regenerate</code> against three sources, "
             "most credible first: real transactions labelled by others; generated chains on seeds reserved for "
             "evaluation, with behaviour randomised (out of sample); and the generated chains the rules were "
             "developed on (in sample). Each figure gives its sample size (n) and its 95% Wilson interval (CI); "
             "precision is the share of the heuristic's conclusions that are right, recall the share of true "
             "cases it finds. A heuristic or source not measured is shown as such.</p>")
    if not rates:
        return intro + "<p>No heuristic was used.</p>"
    head = "".join(f"<th>{_e(SOURCE_NAMES[src][0].upper() + SOURCE_NAMES[src][1:])}</th>" for src in SOURCES)
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v.get('version'))}</td><td>{_e(v.get('what'))}</td>{_cells(v)}</tr>"
                   for k, v in sorted(rates.items()))
    where = sorted({(SOURCES.index(src), src, str(f.get("measured_on"))) for v in rates.values()
                    for src, f in source_figures(v).items() if f.get("measured_on")})
    when = sorted({str(v["measured_at"]) for v in rates.values() if v.get("measured_at")})
    basis = ""
    if where:
        basis = (f"<p class=small>Measured{(' on ' + _e(', '.join(when))) if when else ''}. "
                 + " ".join(f"{_e(SOURCE_NAMES[src][0].upper() + SOURCE_NAMES[src][1:])}: {_e(on)}." for _, src, on in where)
                 + "</p>")
    out = [intro, f"<table class=data><tr><th>Heuristic</th><th>Version</th><th>What it infers</th>{head}</tr>"
                  f"{rows}</table>{basis}"]
    warn = generated_only(rates)
    if warn:
        out.append(f"<p class=warn><b>No real-data figure</b> exists for {_e(', '.join(warn))}. "
                   f"{'Its' if len(warn) == 1 else 'Their'} error rates were measured only on chains made by chaintrail's own scenario generator, whose behaviour the "
                   f"rules may share; they are upper bounds on accuracy, not measures of it, and conclusions that "
                   f"rest on them should be corroborated independently.</p>")
    return "".join(out)

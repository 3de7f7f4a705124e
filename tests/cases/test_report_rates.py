"""The court report quotes each error rate with its source, sample size and interval, and warns where a
heuristic has no real-data figure (Section 4.2 and the reservations)."""

from __future__ import annotations

from chaintrail.analysis import error_rates as ER
from chaintrail.cases import methodology
from chaintrail.cases.report_prose import reservations
from chaintrail.cases.report_rates import rates_section


def _entry(real=None, out=None, ins=None):
    nm = ER.not_measured("no real labelled data for this heuristic")
    figs = {"real": ER.figures(*real, "dumplings whirlpool") if real else nm,
            "generated_out_of_sample": ER.figures(*out, "seed 9000 all scale 2") if out else ER.not_measured("none"),
            "generated_in_sample": ER.figures(*ins, "seed 1 all scale 1") if ins else ER.not_measured("none")}
    return {"what": "w", "version": "v/1", "figures": figs,
            "status": "measured" if real or out or ins else "not measured", "measured_at": "2026-12-01"}


RATES = {"coinjoin": _entry(real=(90, None, 10), out=(7, 1, 2), ins=(30, 0, 1)),
         "change": _entry(out=(405, 18, 215), ins=(456, 20, 192)),
         "peel-chain": _entry()}


def test_each_rate_has_its_source_sample_and_interval():
    html = rates_section(RATES)
    assert "<th>Real labelled data</th><th>Generated chains, out of sample</th><th>Generated chains, in sample</th>" \
        in html
    # real: recall with its Wilson interval and n; precision not measured on positives only
    assert "precision not measured, recall 90.0% (95% CI 82.6-94.5%, n=100)" in html
    assert "precision 87.5% (95% CI 52.9-97.8%, n=8), recall 77.8% (95% CI 45.3-93.7%, n=9)" in html
    assert "Seed 9000 all scale 2" not in html and "Generated chains, out of sample: seed 9000 all scale 2." in html
    assert "<td colspan=3>not yet measured</td>" in html


def test_report_warns_where_no_real_figure_exists():
    html = rates_section(RATES)
    warn = html[html.index("<p class=warn>"):]
    assert "No real-data figure</b> exists for change." in warn and "coinjoin" not in warn
    prose = " ".join(reservations([{"kind": "cluster", "params": {}, "error_rates": RATES, "tags": []}], []))
    assert "No real-data error rate exists for change: its rates were measured only on chains made by" in prose
    assert "The error rates of peel-chain have not yet been measured" in prose
    # fresh_change-like precision below 95% on the most credible source is named with that source
    loose = {"change:fresh_change": _entry(out=(162, 89, 458))}
    prose = " ".join(reservations([{"kind": "cluster", "params": {}, "error_rates": loose, "tags": []}], []))
    assert "change:fresh_change (35.5% on generated, out of sample)" in prose.replace("generated chains", "generated")


def test_a_first_format_finding_reads_as_in_sample():
    old = {"what": "w", "version": "change/1", "status": "measured", "false_positive_rate": 0.014,
           "false_negative_rate": 0.27, "sample_size": 28629, "ground_truth": "seeds 1, 2"}
    assert list(methodology.source_figures(old)) == ["generated_in_sample"]
    html = rates_section({"change": old})
    assert "<td>not measured</td><td>not measured</td><td>false positives 1.4%, false negatives 27.0% (n=28,629)</td>" \
        in html and "No real-data figure</b> exists for change" in html

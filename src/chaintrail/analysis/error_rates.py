"""The error-rate table (``error_rates.json``, format chaintrail-error-rates/2) and its Markdown form.

Every heuristic carries figures per *source*, most credible first:

* ``real``: real labelled data (``analysis.real_eval``);
* ``generated_out_of_sample``: generated chains on reserved evaluation seeds, behaviour randomised;
* ``generated_in_sample``: generated chains on the seeds the rules were developed on (an upper bound).

Each measured source gives tp/fp/fn, precision and recall with their sample sizes and 95% Wilson
intervals, and where it was measured. A source without figures says "not measured", never zero.
The docs tables are rendered from this table alone, so they cannot say anything the JSON does not.
"""

from __future__ import annotations

import json
from pathlib import Path

from chaintrail.analysis.evaluation import Score, wilson

FORMAT = "chaintrail-error-rates/2"
NOT_MEASURED = "not measured"
SOURCES = ("real", "generated_out_of_sample", "generated_in_sample")
SOURCE_NAMES = {"real": "real labelled data", "generated_out_of_sample": "generated, out of sample",
                "generated_in_sample": "generated, in sample"}

# key in the table -> (score name in scenario_eval / real_eval, what it infers, what it counts)
HEURISTICS: dict[str, tuple[str | None, str, str]] = {
    "multi-input": ("multi-input clustering",
                    "Common-input ownership: all inputs of a non-CoinJoin transaction belong to one entity",
                    "address pairs"),
    "multi-input+change": ("multi-input + change clustering",
                           "Multi-input clustering plus a link from each transaction's inputs to its voted "
                           "change output (chaintrail cluster --change)", "address pairs"),
    "change": ("change: combined vote",
               "Change-output vote over the change heuristics below (confidence margin 0.5)", "transactions"),
    "change:address_reuse": ("change: address_reuse",
                             "An output paying one of the transaction's own input addresses is change",
                             "transactions"),
    "change:type_match": ("change: type_match", "The one output whose script type matches the inputs' is change",
                          "transactions"),
    "change:optimal_change": ("change: optimal_change",
                              "An output smaller than every input is change (the wallet would not have added an "
                              "input otherwise)", "transactions"),
    "change:round_number": ("change: round_number", "When exactly one output is a round amount, the other is change",
                            "transactions"),
    "change:fingerprint": ("change: fingerprint",
                           "The output whose spending shows the same wallet fingerprint as the inputs is change",
                           "transactions"),
    "change:fresh_change": ("change: fresh_change", "The one never-before-seen output address is change",
                            "transactions"),
    "change:peel_continuation": ("change: peel_continuation",
                                 "In a peel chain, the output that is spent on in the same pattern is change",
                                 "transactions"),
    "coinjoin": ("coinjoin or mixer",
                 "CoinJoin and mixer transaction classifiers (Whirlpool, Wasabi 1.0/1.1/2.0, JoinMarket, generic "
                 "equal-output CoinJoin, ChipMixer-style chips, Whirlpool Tx0), any of them", "transactions"),
    "coinjoin:any-protocol": ("coinjoin (any protocol)", "A transaction is a CoinJoin (protocol not required)",
                              "transactions"),
    "coinjoin:whirlpool": ("coinjoin: whirlpool", "Whirlpool (Samourai) mix", "transactions"),
    "coinjoin:wasabi1": ("coinjoin: wasabi1", "Wasabi 1.x round (1.0 or 1.1)", "transactions"),
    "coinjoin:wasabi1.0": ("coinjoin: wasabi1.0", "Wasabi 1.0 round", "transactions"),
    "coinjoin:wasabi1.1": ("coinjoin: wasabi1.1", "Wasabi 1.1 round (mixing levels)", "transactions"),
    "coinjoin:wasabi2": ("coinjoin: wasabi2", "Wasabi 2.0 (WabiSabi) round", "transactions"),
    "coinjoin:joinmarket": ("coinjoin: joinmarket", "JoinMarket CoinJoin", "transactions"),
    "mixer:chip_creation": ("mixer: chip_creation", "ChipMixer-style chip split (a mixer paying out chips)",
                            "transactions"),
    "mixer:chip_spend": ("mixer: chip_spend", "Spend of mixer chips (chip merge)", "transactions"),
    "mixer:whirlpool_tx0": ("mixer: whirlpool_tx0", "Whirlpool Tx0 (premix split)", "transactions"),
    "peel-chain": (None, "Peel-chain detection: a run of one-large-one-small transactions", "transactions"),
    "tag-propagation": (None, "A cluster-defining tag extends to every address of the address's entity", "addresses"),
}
_PROTOCOL_SCORES = {score for key, (score, _, _) in HEURISTICS.items()
                    if score and ":" in key and key.split(":")[0] in ("coinjoin", "mixer")
                    and key not in ("coinjoin:any-protocol", "coinjoin:wasabi1.0", "coinjoin:wasabi1.1")}
_VERSION_OF = {"multi-input+change": "multi-input+change", "change": "change", "multi-input": "multi-input",
               "peel-chain": "peel-chain", "tag-propagation": "tag-propagation"}


def version_key(name: str) -> str:
    """The ``rate_inputs.heuristic_versions`` entry that versions heuristic ``name``."""
    if name in _VERSION_OF or name.startswith("change:"):
        return _VERSION_OF.get(name, name)
    return "coinjoin"


def not_measured(reason: str) -> dict:
    return {"status": NOT_MEASURED, "reason": reason}


def figures(tp: int, fp: int | None, fn: int | None, measured_on: str) -> dict:
    """One source's figures for one heuristic: counts, rates, sample sizes, 95% Wilson intervals.

    ``fp`` None: a positives-only set (recall measurable, precision not); ``fn`` None: the reverse.
    """
    r6 = lambda v: None if v is None else round(v, 6)  # noqa: E731

    def rate(k: int, other: int | None) -> tuple:
        if other is None:
            return None, None, None
        ci = wilson(k, k + other)
        return (r6(k / (k + other)) if k + other else None, k + other,
                None if ci is None else [r6(ci[0]), r6(ci[1])])

    p, pn, pci = rate(tp, fp)
    r, rn, rci = rate(tp, fn)
    out = {"status": "measured", "tp": int(tp), "fp": fp, "fn": fn,
           "precision": p, "precision_n": pn, "precision_ci95": pci,
           "recall": r, "recall_n": rn, "recall_ci95": rci,
           "false_positive_rate": None if p is None else r6(1 - p),
           "false_negative_rate": None if r is None else r6(1 - r),
           "measured_on": measured_on}
    if fp is None:
        out["precision_not_measured"] = "positives-only data: no negatives to count false positives on"
    return out


def _totals(score_lists: list[list[dict]]) -> dict[str, Score]:
    acc: dict[str, list[int]] = {}
    for scores in score_lists:
        for sc in scores:
            a = acc.setdefault(sc["name"], [0, 0, 0])
            a[0] += int(sc["tp"])
            a[1] += int(sc["fp"])
            a[2] += int(sc["fn"])
    return {name: Score.of(name, *v) for name, v in acc.items()}


def _runs_text(results: list[dict]) -> str:
    return "; ".join(f"seed {r['scenario']['seed']} {r['scenario']['kind']} scale {r['scenario']['scale']:g} "
                     f"({r['txs']:,} txs)" for r in results)


def real_totals(scores: list[dict]) -> dict[str, dict]:
    """real_eval's rows summed per score name (one protocol may come from several files).

    A count that is None in any row (e.g. fp on a positives-only set) stays None. Where the rows
    lack the any-mixing score, it is the sum of the per-protocol rows of the table, which count a
    hit only when the protocol is named correctly (stricter than "any mixing label").
    """
    acc: dict[str, dict] = {}
    for sc in scores:
        a = acc.setdefault(sc["name"], {"tp": 0, "fp": 0, "fn": 0, "datasets": []})
        for k in ("tp", "fp", "fn"):
            a[k] = None if a[k] is None or sc.get(k) is None else a[k] + int(sc[k])
        a["datasets"].append(sc.get("dataset") or "?")
    protocol_rows = [n for n in acc if n in _PROTOCOL_SCORES]
    if "coinjoin or mixer" not in acc and protocol_rows:
        a = {"tp": 0, "fp": 0, "fn": 0, "datasets": ["sum of the per-protocol rows above (protocol named correctly)"]}
        for n in protocol_rows:
            for k in ("tp", "fp", "fn"):
                a[k] = None if a[k] is None or acc[n][k] is None else a[k] + acc[n][k]
        acc["coinjoin or mixer"] = a
    return {n: {"tp": a["tp"], "fp": a["fp"], "fn": a["fn"], "dataset": "; ".join(a["datasets"])}
            for n, a in acc.items()}


def build_table(in_sample: list[dict], out_of_sample: list[dict], real: dict | None, *,
                real_reason: str = "no real labelled data evaluated", versions: dict, inputs: dict,
                measured_at: str, command: str, quick: bool = False) -> dict:
    """The whole table from scenario_eval results per source and real_eval's result (None: not run)."""
    gen = {"generated_in_sample": (in_sample, "development seeds (scenario.evaluation.DEVELOPMENT_SEEDS), "
                                              "reference behaviour"),
           "generated_out_of_sample": (out_of_sample, "reserved evaluation seeds (scenario.evaluation.EVAL_SEEDS), "
                                                      "behaviour drawn at random per seed")}
    totals = {src: _totals([r["scores"] for r in res]) for src, (res, _) in gen.items()}
    real_scores = real_totals((real or {}).get("scores", []))
    sources: dict[str, dict] = {}
    for src, (res, what) in gen.items():
        sources[src] = ({"what": what, "runs": [dict(r["scenario"], txs=r["txs"]) for r in res]} if res
                        else not_measured("no generated runs of this kind"))
    sources["real"] = ({"what": "real transactions labelled by others (heuristic labels, not ground truth)",
                        "datasets": sorted({d for s in real_scores.values() for d in s["dataset"].split("; ")})}
                       if real_scores else not_measured(real_reason))
    if real and real.get("background"):
        b = real["background"]
        sources["real"]["background"] = {k: b.get(k) for k in ("dataset", "txs", "mixing_labels", "per_10k",
                                                                 "per_10k_ci95", "labelled_as")}
    entries = {}
    for key, (score_name, what, unit) in HEURISTICS.items():
        figs = {}
        for src in SOURCES:
            if src == "real":
                s = real_scores.get(score_name) if score_name else None
                figs[src] = (figures(s["tp"], s["fp"], s["fn"], s["dataset"])
                             if s else not_measured(real_reason if not real_scores else
                                                    "no real labelled data for this heuristic"))
                continue
            s = totals[src].get(score_name) if score_name else None
            figs[src] = (figures(s.tp, s.fp, s.fn, _runs_text(gen[src][0])) if s is not None
                         else not_measured("no evaluation against ground truth yet" if score_name is None
                                           else "no generated runs of this kind"))
        measured = any(f["status"] == "measured" for f in figs.values())
        entries[key] = {"what": what, "version": versions.get(version_key(key)), "unit": unit,
                        "score": score_name, "status": "measured" if measured else NOT_MEASURED, "figures": figs}
    return {
        "format": FORMAT,
        "about": "Measured error rates of the heuristics every finding rests on, per source: real labelled data, "
                 "generated chains on reserved evaluation seeds with randomised behaviour (out of sample), and the "
                 "seeds the rules were developed on (in sample; an upper bound). Intervals are 95% Wilson score "
                 "intervals; a source without figures is 'not measured', never zero. Address-pair counts are not "
                 "independent draws, so their intervals understate the uncertainty. Regenerated whole by one "
                 "command; `inputs` fingerprints the code the figures depend on.",
        "measured_at": measured_at,
        "command": command,
        "quick": quick,
        "inputs": inputs,
        "sources": sources,
        "heuristics": entries,
    }


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def dump(table: dict) -> str:
    return json.dumps(table, indent=1) + "\n"

"""What a finding rests on: engine and heuristic versions, their measured error rates, the taint model in words.

Error rates come from one table, ``chaintrail/analysis/error_rates.json``,
which ``chaintrail heuristics regenerate`` writes: per heuristic, figures from real
labelled data, generated out-of-sample chains and generated in-sample chains, each
with its sample size and 95% interval. A heuristic (or a source) not measured is
reported as exactly that, never as a rate of zero. Findings made before that format
(chaintrail-error-rates/1) carry flat rates from the development seeds, and are
quoted as in-sample generated figures.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from chaintrail.i18n import N_, _, fmt_number, fmt_percent
from chaintrail.store.chainstore import ChainStore

NOT_MEASURED = N_("not yet measured")
SOURCES = ("real", "generated_out_of_sample", "generated_in_sample")   # most credible first
SOURCE_NAMES = {"real": N_("real labelled data"),
                "generated_out_of_sample": N_("generated chains, out of sample"),
                "generated_in_sample": N_("generated chains, in sample")}

TAINT_MODELS = {
    "haircut": N_("Haircut (proportional): each transaction passes on the traced share of its inputs to every "
               "output in proportion to the output's value. It neither overstates nor understates the traced "
               "amount in total, and is the usual basis for quantifying commingled funds."),
    "poison": N_("Poison: any output of a transaction that received traced funds is treated as wholly traced. It "
                 "shows everywhere the funds could have gone and overstates amounts; use it for reach, not sums."),
    "fifo": N_("First-in, first-out: within each transaction, the inputs' coins are laid end to end in input order "
            "and paid out to the outputs in output order (the Clayton's Case rule of English law)."),
    "lifo": N_("Last-in, first-out: as FIFO, but the most recently received coins are paid out first."),
    "tiho": N_("Taint-in, highest-out: the traced coins are assigned to the largest outputs first."),
}

MIXER_POLICY = {
    "haircut": N_("CoinJoin and mixer transactions are passed through proportionally, like any other transaction; "
               "the amounts after them are shares, not identified coins."),
    "stop": N_("Tracing stops at CoinJoin and mixer transactions and reports the amounts that entered them."),
    "demix": N_("At CoinJoins and custodial mixers the traced funds follow the coins that on-chain evidence ties to "
             "the same owner (post-mix coins spent together, paid to an address used only by them or already "
             "reached by this trace, change matched by amount); each such step names its evidence. What no "
             "evidence ties is reported as unresolved inside the mix, not spread over other users."),
}


def load_error_rates(path: str | Path | None = None) -> dict:
    """The error-rate table (``path`` overrides the packaged one)."""
    if path is not None:
        return json.loads(Path(path).read_text())
    text = resources.files("chaintrail.analysis").joinpath("error_rates.json").read_text()
    return json.loads(text)


def rates_for(names: list[str], table: dict | None = None) -> dict[str, dict]:
    """The table's entry for each heuristic name; unknown names are reported as not measured."""
    table = table if table is not None else load_error_rates()
    known = table.get("heuristics", {})
    out = {}
    for n in names:
        e = dict(known.get(n) or {"what": n, "version": None, "status": NOT_MEASURED,
                                  "figures": {src: {"status": "not measured", "reason": "not in the error-rate table"}
                                              for src in SOURCES}})
        if not source_figures(e):
            e["status"] = NOT_MEASURED
        e["measured_at"] = table.get("measured_at")
        out[n] = e
    return out


def is_measured(entry: dict) -> bool:
    return bool(source_figures(entry))


def source_figures(entry: dict) -> dict[str, dict]:
    """The measured figures of an entry per source, most credible first (absent sources left out).

    A flat entry of the first format is one in-sample generated figure: rates, n and ground truth.
    """
    figs = entry.get("figures")
    if figs is None:
        if entry.get("false_positive_rate") is None and entry.get("false_negative_rate") is None:
            return {}
        return {"generated_in_sample": {"status": "measured", "legacy": True,
                                        "false_positive_rate": entry.get("false_positive_rate"),
                                        "false_negative_rate": entry.get("false_negative_rate"),
                                        "sample_size": entry.get("sample_size"),
                                        "measured_on": entry.get("ground_truth")}}
    return {src: figs[src] for src in SOURCES if (figs.get(src) or {}).get("status") == "measured"}


def headline(entry: dict) -> tuple[str, dict] | None:
    """The most credible measured source of an entry and its figures (real, then out of sample, then in)."""
    figs = source_figures(entry)
    return next(iter(figs.items())) if figs else None


def lacks_real(entry: dict) -> bool:
    """Measured, but only on generated chains (no real-data figure)."""
    figs = source_figures(entry)
    return bool(figs) and "real" not in figs


def _pct(v: float) -> str:
    return fmt_percent(f"{100 * float(v):.1f}%")


def describe_figure(fig: dict) -> str:
    """'precision 98.6% (95% CI 97.0-99.4%, n=436), recall 99.3% (95% CI 98.0-99.8%, n=433)'."""
    if fig.get("status") != "measured":
        return _("not measured")
    if fig.get("legacy"):
        return describe_rate(fig | {"ground_truth": None})
    bits = []
    for what in ("precision", "recall"):
        v, ci, n = fig.get(what), fig.get(f"{what}_ci95"), fig.get(f"{what}_n")
        name = _("precision") if what == "precision" else _("recall")
        if n is None:
            bits.append(_("{what} not measured").format(what=name))
        elif v is None:
            bits.append(_("{what} not defined (n=0)").format(what=name))
        else:
            bits.append(_("{what} {rate} (95% CI {low}-{high}, n={n})").format(
                what=name, rate=_pct(v), low=fmt_percent(f"{100 * ci[0]:.1f}"), high=_pct(ci[1]), n=fmt_number(int(n))))
    return ", ".join(bits)


def describe_rate(entry: dict, ground_truth: bool = True) -> str:
    """One line for an entry: each measured source with its figures, or 'not yet measured'.

    A first-format entry reads 'false positives 1.2%, false negatives 8.0% (n=25,000; ground truth: ...)'.
    """
    if "figures" in entry:
        figs = source_figures(entry)
        if not figs:
            return _(NOT_MEASURED)
        parts = [f"{_(SOURCE_NAMES[src])}: {describe_figure(f)}" for src, f in figs.items()]
        if "real" not in figs:
            parts.append(_("no real-data figure"))
        return "; ".join(parts)
    fp, fn = entry.get("false_positive_rate"), entry.get("false_negative_rate")
    if fp is None and fn is None:
        return _(NOT_MEASURED)
    bits = []
    if fp is not None:
        bits.append(_("false positives {rate}").format(rate=_pct(fp)))
    if fn is not None:
        bits.append(_("false negatives {rate}").format(rate=_pct(fn)))
    extra = []
    if entry.get("sample_size"):
        extra.append(f"n={fmt_number(int(entry['sample_size']))}")
    if ground_truth and entry.get("ground_truth"):
        extra.append(_("ground truth: {what}").format(what=entry["ground_truth"]))
    return ", ".join(bits) + (f" ({'; '.join(extra)})" if extra else "")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def analysis_versions(store: ChainStore, kind: str) -> dict:
    """Versions of everything a finding of ``kind`` ran on this store (part of the finding's hash)."""
    from chaintrail.analysis import tx_labels
    from chaintrail.analysis.clustering import VERSION as CLUSTER_VERSION
    from chaintrail.analysis.heuristics import HEURISTICS
    from chaintrail.analysis.heuristics.combine import VERSION as CHANGE_VERSION
    from chaintrail.analysis.tracing import ENGINE_VERSION

    v: dict = {"kind": kind}
    if kind in ("trace", "screen"):
        v["trace_engine"] = ENGINE_VERSION
    state = _read_json(store.path / "analysis" / "clusters" / "state.json")
    if state is not None:
        params = state.get("params", {})
        v["clustering"] = {"version": state.get("version", CLUSTER_VERSION), "params": params}
        if params.get("change_links"):
            v["change_heuristics"] = {"version": CHANGE_VERSION, "heuristics": [h.NAME for h in HEURISTICS]}
    elif (store.path / "analysis" / "clusters.parquet").exists():
        v["clustering"] = {"version": CLUSTER_VERSION, "params": None}
    if (store.path / "analysis" / "tx_labels.parquet").exists():
        v["tx_labels"] = tx_labels.VERSION
    v["tags"] = _tag_sources(store)
    return v


def _tag_sources(store: ChainStore) -> list[dict]:
    """The tag files behind the tag store, by content hash (a changed TagPack is a different input)."""
    path = store.path / "analysis" / "tag_sources.parquet"
    if not path.exists():
        return []
    import pyarrow.parquet as pq
    t = pq.read_table(path, columns=["origin_file", "kind", "sha256", "tags"]).to_pylist()
    return [{"file": Path(r["origin_file"]).name if r["kind"] != "manual" else r["origin_file"], "kind": r["kind"],
             "sha256": r["sha256"], "tags": r["tags"]} for r in sorted(t, key=lambda r: r["origin_file"] or "")]


def heuristics_used(versions: dict, tags: list[dict] | None = None) -> list[str]:
    """The heuristic names (keys of the error-rate table) a finding with these versions and tags relied on."""
    names = []
    if "clustering" in versions:
        names.append("multi-input")
    ch = versions.get("change_heuristics")
    if ch:
        names.append("change")
        names += [f"change:{h}" for h in ch.get("heuristics", [])]
    if "tx_labels" in versions:
        names += ["coinjoin", "peel-chain"]
    if any(t.get("via") == "cluster" for t in tags or []):
        names.append("tag-propagation")   # an entity's tag applied to another of its addresses
    return names

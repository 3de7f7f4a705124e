"""Score forward traces against a generated scenario's answer key.

For each planted case: trace forward from its victim payments with the given
model and mixer policy until tagged exchanges, then compare the taint the trace
puts on each planted cash-out output with the key's amount. The services are
tagged as an investigator would have them (``scenario.attribution``: by default
hot wallets and part of the deposit addresses, never every mixer deposit
address; ``full`` only when asked). A cash-out matches when it is within
``tolerance`` (1%) of the key; ``coverage`` is the traced amount on the planted
cash-outs over the laundered value (the key's cash-out total); ``precision`` is
the share of the sats the trace puts on tagged (exchange) endpoints that the
key puts on that output too (min of the two, per output).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from chaintrail.errors import UsageError


def prepare_store(folder: Path, store_path: Path, coverage=None) -> dict:
    """Ingest a scenario folder, label, cluster and import its service tags at ``coverage`` (default the
    realistic partial attribution, ``scenario.attribution``), as `chaintrail demo` does; returns the coverage."""
    build_store(folder, store_path)
    return import_service_tags(folder, store_path, coverage)


def build_store(folder: Path, store_path: Path) -> None:
    """Ingest a scenario folder, label its txs and cluster it (no tags)."""
    from chaintrail.analysis.clustering import cluster_labels, update_clusters
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.analysis.tx_labels import label_transactions
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.store.chainstore import ChainStore

    with BtcIngest(store_path) as job:
        job.ingest_blocks_dir(folder)
    with ChainStore(store_path, writable=True) as st:
        label_transactions(st)                      # CoinJoins must never merge their inputs
        update_clusters(st, mixer_tx_mask(st))
        label_transactions(st, cluster_of_addr=cluster_labels(st))


def import_service_tags(folder: Path, store_path: Path, coverage=None) -> dict:
    """Write the scenario's service tags at ``coverage`` beside the store and import them; returns the coverage."""
    from chaintrail.scenario.attribution import coverage as tag_coverage
    from chaintrail.scenario.attribution import write_service_tags
    from chaintrail.tags.tagstore import TagStore

    cov = tag_coverage(coverage)
    tags = Path(store_path).parent / f"{Path(store_path).name}-service-tags.csv"
    write_service_tags(folder, tags, cov)
    report = TagStore(store_path).import_paths([tags])
    if report.errors:
        raise UsageError("scenario tags did not import: " + "; ".join(report.errors))
    return cov.to_dict()


def score_traces(folder: str | Path, store_path: str | Path | None = None, *, model: str = "haircut",
                 mixer_policy: str = "demix", tolerance: float = 0.01, demix_leads: bool = True,
                 coverage=None) -> dict:
    """Per case: cash-outs matched within ``tolerance``, coverage of the laundered value, precision of the
    sats claimed at exchanges, the identity. ``coverage``: the tag coverage a scratch store is prepared
    with (a given ``store_path`` keeps the tags it has)."""
    from chaintrail.analysis.tracing import TraceEngine, TraceParams
    from chaintrail.store.chainstore import ChainStore

    folder = Path(folder)
    if not (folder / "answer_key.json").exists():
        raise UsageError(f"{folder} has no answer_key.json (generate one with `chaintrail scenario generate`)")
    key = json.loads((folder / "answer_key.json").read_text())
    scratch = None
    tags = None
    if store_path is None:
        scratch = tempfile.TemporaryDirectory(prefix="ct-trace-eval-")
        store_path = Path(scratch.name) / "store"
        tags = prepare_store(folder, store_path, coverage)
    elif coverage is not None:
        raise UsageError("--coverage applies to a scratch store; a given --store keeps the tags it was prepared with")
    try:
        with ChainStore(store_path) as st:
            eng = TraceEngine.open(st)
            params = TraceParams(model=model, max_hops=1000, stop_categories=("exchange",), mixer_policy=mixer_policy,
                                 demix_leads=demix_leads)
            cases = [_score_case(eng, params, case, tolerance) for case in key["cases"]]
    finally:
        if scratch is not None:
            scratch.cleanup()
    return {"model": model, "mixer_policy": mixer_policy, "demix_leads": demix_leads, "tolerance": tolerance,
            "tag_coverage": tags, "cases": cases}


def _score_case(eng, params, case: dict, tolerance: float) -> dict:
    specs = [f"{v['txid']}:{v['vout']}" for v in case["victim_payments"]]
    r = eng.trace(specs, params).to_dict()
    got: dict[str, int] = {}
    at_exchanges: dict[str, int] = {}
    for e in r["endpoints"]:
        for op, amt in zip(e["outputs"], e["output_amounts"]):
            got[op] = got.get(op, 0) + amt
            if e["kind"] == "tagged":
                at_exchanges[op] = at_exchanges.get(op, 0) + amt
    key_amount = {f"{e['txid']}:{e['vout']}": int(e["amount_sat"]) for e in case["cash_out_endpoints"]}
    claimed = sum(at_exchanges.values())
    right = sum(min(a, key_amount.get(op, 0)) for op, a in at_exchanges.items())
    rows = []
    for e in case["cash_out_endpoints"]:
        traced = got.get(f"{e['txid']}:{e['vout']}", 0)
        rows.append({"output": f"{e['txid']}:{e['vout']}", "entity": e["entity_name"], "key_sat": e["amount_sat"],
                     "traced_sat": traced, "match": abs(traced - e["amount_sat"]) <= tolerance * e["amount_sat"]})
    t = r["totals"]
    identity = t["traced_sat"] + t["absorbed_sat"] == (t["to_endpoints_sat"] + t["fees_sat"] + t["unspent_sat"]
                                                      + t["below_threshold_sat"] + t["stopped_sat"])
    laundered = case["laundered_sat"]
    return {"case": case["id"], "kind": case["kind"], "cash_outs": len(rows),
            "matched": sum(r_["match"] for r_ in rows),
            "coverage": (sum(r_["traced_sat"] for r_ in rows) / laundered) if laundered else 1.0,
            "claimed_at_exchanges_sat": claimed, "correct_at_exchanges_sat": right,
            "precision": right / claimed if claimed else None,
            "identity_holds": identity, "demixed_mixes": len(r.get("demix", [])),
            "lead_exits": sum(len(d.get("leads", [])) for d in r.get("demix", [])),
            "amount_timing_leads": sum(ld["evidence"] == "pattern:amount-timing" for d in r.get("demix", [])
                                       for ld in d.get("leads", [])),
            "unresolved_sat": sum(d["unresolved_sat"] for d in r.get("demix", [])),
            "trace_hash": r["trace_hash"], "endpoints": rows}

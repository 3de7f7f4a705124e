"""Score every heuristic and classifier against a generated scenario's answer key.

The scenario folder is ingested through the normal ingest path into a scratch
store (or an existing one), then labelled, clustered and change-detected with
the same code the CLI runs, and compared with ``answer_key.json`` and its
Parquet side tables (``answer_key/txs.parquet``: kind, change_vout, coinjoin,
mixer per tx; ``answer_key/addresses.parquet``: controlling entity per address).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chaintrail.analysis import mixers as M
from chaintrail.analysis.clustering import ClusterParams, cluster_labels, update_clusters
from chaintrail.analysis.evaluation import Score, binary_score, change_score, pairwise_cluster_score
from chaintrail.analysis.heuristics import detect_change
from chaintrail.analysis.heuristics.context import build_context
from chaintrail.analysis.tx_labels import label_transactions
from chaintrail.errors import UsageError
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

# Answer-key mixer kinds and the classifier labels that should find them.
_MIXER_KIND_TO_LABEL = {"chip_creation": "chip_split", "chip_spend": "chip_merge", "whirlpool_tx0": "whirlpool_tx0"}


def _load_key(folder: Path) -> tuple[dict, "pq.Table", "pq.Table"]:
    key_path = folder / "answer_key.json"
    if not key_path.exists():
        raise UsageError(f"{folder} has no answer_key.json (generate one with `chaintrail scenario generate`)")
    key = json.loads(key_path.read_text())
    return key, pq.read_table(folder / key["files"]["txs"]), pq.read_table(folder / key["files"]["addresses"])


def evaluate_scenario(folder: str | Path, store_path: str | Path | None = None) -> dict:
    """Precision and recall of classifiers, multi-input clustering and change heuristics."""
    folder = Path(folder)
    key, ktx, kaddr = _load_key(folder)
    scratch = None
    if store_path is None:
        scratch = tempfile.TemporaryDirectory(prefix="ct-eval-")
        store_path = Path(scratch.name) / "store"
        with BtcIngest(store_path) as job:
            job.ingest_blocks_dir(folder)
    try:
        with ChainStore(store_path, writable=True) as st:
            return _evaluate(st, key, ktx, kaddr)
    finally:
        if scratch is not None:
            scratch.cleanup()


def _evaluate(st: ChainStore, key: dict, ktx, kaddr) -> dict:
    # Same order as `chaintrail cluster`: label, cluster without CoinJoins, then the entity-aware labels.
    first = np.asarray(label_transactions(st)["label"].combine_chunks().indices, np.int64)
    update_clusters(st, M.MIXING[first], ClusterParams(big=1 << 30))
    labels_t = label_transactions(st, cluster_of_addr=cluster_labels(st))
    labels = np.asarray(labels_t["label"].combine_chunks().indices, np.int64)
    n_tx = st.counts["txs"]
    txids = query(st, "SELECT lower(hex(txid)) FROM raw.txs ORDER BY tx_num").column(0).to_pylist()
    tx_num = {t: i for i, t in enumerate(txids)}
    ktxid = ktx["txid"].to_pylist()
    knum = np.array([tx_num[t] for t in ktxid], np.int64)
    scores: list[Score] = []

    # -- classification ------------------------------------------------------------
    truth_cj = np.zeros(n_tx, bool)
    truth_cj[knum] = np.array([bool(c) for c in ktx["coinjoin"].to_pylist()])
    pred_cj = M.MIXING[labels]
    scores.append(binary_score("coinjoin (any protocol)", pred_cj, truth_cj))
    for proto in sorted({c["protocol"] for c in key["coinjoin_txs"]}):
        t = np.zeros(n_tx, bool)
        t[knum] = np.array([c == proto for c in ktx["coinjoin"].to_pylist()])
        label = {"whirlpool": "whirlpool_mix"}.get(proto, proto)
        scores.append(binary_score(f"coinjoin: {proto}", labels == M.LABELS.index(label), t))
    # Wasabi 1.x either version (real labelled sets do not tell 1.0 from 1.1).
    w1 = np.zeros(n_tx, bool)
    w1[knum] = np.array([c in ("wasabi1.0", "wasabi1.1") for c in ktx["coinjoin"].to_pylist()])
    scores.append(binary_score("coinjoin: wasabi1", np.isin(labels, [M.L_WASABI10, M.L_WASABI11]), w1))
    mixer_truth = np.zeros(n_tx, bool)
    mixer_pred = np.zeros(n_tx, bool)
    for kind, label in _MIXER_KIND_TO_LABEL.items():
        t = np.zeros(n_tx, bool)
        nums = [tx_num[m["txid"]] for m in key["mixer_txs"] if m["kind"] == kind]
        t[nums] = True
        p = labels == M.LABELS.index(label)
        scores.append(binary_score(f"mixer: {kind}", p, t))
        mixer_truth |= t
        mixer_pred |= p
    scores.append(binary_score("coinjoin or mixer", pred_cj | mixer_pred, truth_cj | mixer_truth))

    # -- clustering ----------------------------------------------------------------
    skip = pred_cj.copy()
    update_clusters(st, skip, ClusterParams(big=1 << 30))
    cl = query(st, "SELECT address, cluster FROM clusters").to_pylist()
    cluster_of = {r["address"]: r["cluster"] for r in cl}
    ent = dict(zip(kaddr["address"].to_pylist(), kaddr["entity_id"].to_pylist()))
    common = [a for a in cluster_of if a in ent and ent[a] >= 0]
    pred = np.array([cluster_of[a] for a in common], np.int64)
    true = np.array([ent[a] for a in common], np.int64)
    scores.append(pairwise_cluster_score("multi-input clustering", pred, true))

    # -- change --------------------------------------------------------------------
    ctx = build_context(st, pred_cj)
    res = detect_change(ctx)
    first_out = ctx.tx_first_out
    change_vout = np.array(ktx["change_vout"].to_pylist(), np.int64)
    kinds = ktx["kind"].to_pylist()
    # Only txs a single wallet made can have change: skip coinbases and CoinJoins.
    eligible = np.array([k != "coinbase" and not c for k, c in zip(kinds, ktx["coinjoin"].to_pylist())])
    truth = np.full(n_tx, -1, np.int64)
    has = eligible & (change_vout >= 0)
    truth[knum[has]] = first_out[knum[has]].astype(np.int64) + change_vout[has]
    mask = np.zeros(n_tx, bool)
    mask[knum[eligible]] = True
    for name, cand in res.votes.items():
        scores.append(change_score(f"change: {name}", np.where(mask, cand, -1), np.where(mask, truth, -1)))
    scores.append(change_score("change: combined vote", np.where(mask, res.change, -1), np.where(mask, truth, -1)))
    pairs = (ctx.in_addr[ctx.tx_first_in[:-1][res.change >= 0].astype(np.int64)], ctx.out_addr[res.change[res.change >= 0]])
    update_clusters(st, skip, ClusterParams(big=1 << 30, change_links=True), extra_pairs=pairs)
    cl = query(st, "SELECT address, cluster FROM clusters").to_pylist()
    cluster_of = {r["address"]: r["cluster"] for r in cl}
    pred = np.array([cluster_of[a] for a in common], np.int64)
    scores.append(pairwise_cluster_score("multi-input + change clustering", pred, true))
    return {"scenario": key["generator"], "txs": n_tx, "addresses_scored": len(common),
            "scores": [s.as_dict() for s in scores]}


def total_scores(results: list[dict]) -> list[Score]:
    """Sum tp/fp/fn per score name over several scenarios."""
    acc: dict[str, list[int]] = {}
    for res in results:
        for sc in res["scores"]:
            a = acc.setdefault(sc["name"], [0, 0, 0])
            a[0] += sc["tp"]
            a[1] += sc["fp"]
            a[2] += sc["fn"]
    return [Score.of(name, *v) for name, v in acc.items()]


def markdown_table(results: list[dict]) -> str:
    """The error-rate table kept in the docs: one row per heuristic, totals over the scenarios."""
    runs = ", ".join(f"seed {r['scenario']['seed']} kind {r['scenario']['kind']} scale {r['scenario']['scale']} "
                     f"({r['txs']:,} txs)" for r in results)
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    lines = [f"Measured on: {runs}.", "",
             "| heuristic / classifier | precision | recall | tp | fp | fn |", "|---|---|---|---|---|---|"]
    for s in total_scores(results):
        lines.append(f"| {s.name} | {fmt(s.precision)} | {fmt(s.recall)} | {s.tp} | {s.fp} | {s.fn} |")
    return "\n".join(lines) + "\n"

"""Precision and recall of each Ethereum clustering heuristic against a generated scenario's answer key.

Evaluation only: the heuristics never read the key. Truth per account (chain A): the economy's entities
(``economy_addresses.parquet``), each case's perpetrator entity (``cases[].entities``), each exchange (hot wallet,
forwarder factory, every deposit address), the desks and relayers; victims are each their own entity.

* link precision: of the heuristic's links whose two accounts both have a truth, the share joining one entity;
* pair recall: of the pairs of accounts (both in the store) that one true entity holds, the share the heuristic's
  clusters (that heuristic alone, same guard) put together.

Intervals are Wilson 95%. Links of one entity are not independent draws, so the intervals are optimistic.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.analysis.eth.entities import EntityParams, EthGraph, _roots, collect_links, union_guarded
from chaintrail.store.chainstore import ChainStore


def truth(scenario: str | Path) -> dict[str, str]:
    """address (lower-case 0x) -> true entity id, for chain A."""
    folder = Path(scenario)
    key = json.loads((folder / "answer_key.json").read_text())
    out: dict[str, str] = {}
    econ = folder / "economy_addresses.parquet"
    if econ.exists():
        t = pq.read_table(econ).to_pylist()
        for r in t:
            out[r["address"].lower()] = f"economy/{r['entity']}"
    world = key["world"]
    for name, ex in world["exchanges"].items():
        for a in (ex["hot_wallet"], ex["forwarder_factory"]):
            out[a.lower()] = f"exchange/{name}"
    deps = folder / "deposit_addresses.parquet"
    if deps.exists():
        for r in pq.read_table(deps).to_pylist():
            out[r["address"].lower()] = f"exchange/{r['exchange']}"
    for case in key["cases"]:
        for ent in case["entities"]:
            for a in ent.get("addresses", []):
                if isinstance(a, dict) and a.get("chain", "A") == "A":
                    out[a["address"].lower()] = ent.get("id", case["id"])
        for d in case.get("deposit_addresses", []):
            if d.get("exchange"):
                out[d["address"].lower()] = f"exchange/{d['exchange']}"
        for v in case.get("victims", []):
            a = v if isinstance(v, str) else v["address"]
            out.setdefault(a.lower(), f"victim/{a.lower()}")
    return out


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    z, p = 1.96, k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def _pairs(counts: np.ndarray) -> int:
    return int((counts * (counts - 1) // 2).sum())


def evaluate(store: ChainStore, scenario: str | Path, params: EntityParams | None = None,
             service: np.ndarray | None = None) -> dict[str, dict]:
    """Per heuristic (and all together): links, link precision, pair recall, each with counts and interval."""
    p = params or EntityParams()
    g = EthGraph(store)
    keys = np.asarray(store.column("eth_addr_key"))
    hexes = ["0x" + bytes(k).hex() for k in keys]
    tr = truth(scenario)
    ids = {e: i for i, e in enumerate(sorted(set(tr.values())))}
    true = np.array([ids.get(tr.get(h, ""), -1) for h in hexes], np.int64)
    known = true >= 0
    # True pairs among accounts in the store.
    true_pairs = _pairs(np.bincount(true[known]))
    service = np.zeros(g.n, np.bool_) if service is None else service
    out: dict[str, dict] = {}
    for name, hs in [*((h, (h,)) for h in p.heuristics), ("all", p.heuristics)]:
        links, _, _ = collect_links(g, replace(p, heuristics=hs), service)
        a, b = links["a"].to_numpy(), links["b"].to_numpy()
        both = known[a] & known[b]
        right = int((true[a[both]] == true[b[both]]).sum())
        parent, size = np.arange(g.n, dtype=np.int64), np.ones(g.n, np.int64)
        union_guarded(parent, size, a, b, p.big, p.block_big_merges, np.zeros((16, 3), np.int64))
        lab = _roots(parent)
        k = lab[known]
        t = true[known]
        joint = np.unique(k * (t.max() + 1) + t, return_counts=True)[1] if len(k) else np.zeros(0, np.int64)
        found = _pairs(joint)
        predicted = _pairs(np.bincount(k)) if len(k) else 0
        out[name] = {"links": int(len(a)), "links_judged": int(both.sum()), "links_right": right,
                     "link_precision": right / both.sum() if both.sum() else None,
                     "link_precision_ci": wilson(right, int(both.sum())),
                     "pairs_true": true_pairs, "pairs_found": found, "pairs_predicted": predicted,
                     "pair_precision": found / predicted if predicted else None,
                     "pair_recall": found / true_pairs if true_pairs else None,
                     "pair_recall_ci": wilson(found, true_pairs)}
    return out


def table(rows: dict[str, dict]) -> pa.Table:
    return pa.Table.from_pylist([{"heuristic": h, **{k: v for k, v in r.items() if not k.endswith("_ci")}}
                                 for h, r in rows.items()])

"""Ethereum entities on Spark: the same links as the local engine, joined into components by Spark.

The heuristics (``entities.collect_links``) run as they do locally and are written first to
``analysis/eth_cluster_links.parquet``; Spark reads that file as the edge list and finds its connected components
(``spark_clustering.spark_components``), each labelled by its smallest addr_num, which is the local union-find's root.
So the two engines give the same clusters from the same edges. The supercluster guard's refusal
(``--block-big-merges``) depends on the order links are applied in and is a local-engine option, as for Bitcoin;
large merges are not recorded on Spark.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.analysis.eth.entities import (
    EntityParams,
    EntityReport,
    EthGraph,
    collect_links,
    write_entities,
)
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore

LINKS = "eth_cluster_links.parquet"


def write_links(store: ChainStore, links: pa.Table) -> None:
    out = store.path / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{LINKS}.tmp"
    pq.write_table(links, tmp, compression="zstd")
    os.replace(tmp, out / LINKS)


def spark_link_labels(store: ChainStore, n: int, spark=None, max_rounds: int = 64) -> np.ndarray:
    """Entity id (smallest addr_num of its component) of each of ``n`` accounts, from the links file, on Spark."""
    from chaintrail.analysis.spark_clustering import spark_components, spark_session

    path = store.path / "analysis" / LINKS
    if not path.exists():
        raise UsageError(f"{path} is missing: the Spark engine reads the links the heuristics wrote")
    if pq.read_metadata(path).num_rows == 0:
        return np.arange(n, dtype=np.int64)
    own = spark is None
    spark = spark or spark_session("chaintrail-eth-entities")
    try:
        edges = spark.read.parquet(str(path)).select("a", "b")
        return spark_components(edges, n, store.path / "analysis" / "spark-eth-labels.parquet", max_rounds)
    finally:
        if own:
            spark.stop()


def spark_build_entities(store: ChainStore, params: EntityParams | None = None, service: np.ndarray | None = None,
                         spark=None) -> tuple[np.ndarray, EntityReport]:
    """``entities.build_entities`` with the components found by Spark; writes the same tables."""
    p = params or EntityParams()
    if p.block_big_merges:
        raise UsageError("--block-big-merges is a local-engine option (the guard depends on the order of merges)")
    g = EthGraph(store)
    service = np.zeros(g.n, np.bool_) if service is None else service
    links, source, refused = collect_links(g, p, service)
    write_links(store, links)
    labels = spark_link_labels(store, g.n, spark)
    sizes = np.bincount(labels, minlength=g.n) if g.n else np.zeros(0, np.int64)
    clusters = int((sizes > 0).sum())
    counts = {h: 0 for h in p.heuristics}
    for h, c in zip(*np.unique(links["heuristic"].to_numpy(zero_copy_only=False), return_counts=True)):
        counts[str(h)] = int(c)
    report = EntityReport(g.n, clusters, int(sizes.max()) if g.n else 0, g.n - clusters, counts, source, refused, [])
    write_entities(store, labels, links, p, report)
    return labels, report

"""Multi-input clustering as a PySpark job over the store's Parquet (the scale-out engine).

Same rule and same answer as the local union-find: each tx not labelled as
mixing links its input addresses; a cluster's id is its smallest ``addr_num``.
Connected components are found by min-label propagation with pointer jumping
(each round: every address takes the smallest label among its tx stars, then
labels follow labels), which converges in a logarithmic number of rounds on
typical transaction graphs. It is written for correctness on a cluster, not
for speed in local mode.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chaintrail.store.chainstore import ChainStore


def spark_session(app: str = "chaintrail"):
    """A local-mode Spark session unless SPARK_MASTER says otherwise; quiet and UI-less."""
    from pyspark.sql import SparkSession

    master = os.environ.get("SPARK_MASTER", "local[2]")
    spark = (SparkSession.builder.appName(app).master(master)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", os.environ.get("CHAINTRAIL_SPARK_PARTITIONS", "8"))
             .config("spark.driver.memory", os.environ.get("CHAINTRAIL_SPARK_DRIVER_MEMORY", "2g"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_cluster_labels(store: ChainStore, skip_tx: np.ndarray | None = None, spark=None,
                         max_rounds: int = 64) -> np.ndarray:
    """Cluster id per addr_num computed by Spark."""
    from pyspark.sql import functions as F

    own = spark is None
    spark = spark or spark_session()
    try:
        parts = [str(p) for p in store.part_paths("inputs")]
        n_addr = store.counts["addresses"]
        if not parts:
            return np.arange(n_addr, dtype=np.int64)
        inputs = spark.read.parquet(*parts).select("tx_num", "addr_num").where(F.col("addr_num").isNotNull())
        if skip_tx is not None and skip_tx.any():
            skip_rows = [(int(t),) for t in np.flatnonzero(skip_tx)]
            skipped = spark.createDataFrame(skip_rows, "tx_num long")
            inputs = inputs.join(F.broadcast(skipped), "tx_num", "left_anti")
        # Star per tx: every input address links to the tx's smallest input address.
        hub = inputs.groupBy("tx_num").agg(F.min("addr_num").alias("hub"))
        edges = (inputs.join(hub, "tx_num").where(F.col("addr_num") != F.col("hub"))
                 .select(F.col("addr_num").alias("a"), F.col("hub").alias("b")))
        return spark_components(edges, n_addr, store.path / "analysis" / "spark-labels.parquet", max_rounds)
    finally:
        if own:
            spark.stop()


def spark_components(edges, n: int, scratch: Path, max_rounds: int = 64) -> np.ndarray:
    """Connected components of an edge DataFrame (columns ``a``, ``b``: node ids below ``n``): per node the
    smallest node id of its component, the local union-find's root; ``scratch`` is a folder it writes and removes."""
    from pyspark.sql import functions as F

    edges = edges.select("a", "b").where(F.col("a") != F.col("b")).distinct().localCheckpoint()
    both = edges.union(edges.select(F.col("b").alias("a"), F.col("a").alias("b")))
    labels = both.select(F.col("a").alias("node")).distinct().withColumn("label", F.col("node")).localCheckpoint()
    for _ in range(max_rounds):
        # Each node takes the smallest label among itself and its neighbours ...
        nbr = (both.join(labels.withColumnRenamed("node", "b").withColumnRenamed("label", "lb"), "b")
               .groupBy("a").agg(F.min("lb").alias("m")))
        step = (labels.join(nbr.withColumnRenamed("a", "node"), "node", "left")
                .select("node", F.least("label", F.coalesce("m", "label")).alias("label")))
        # ... then labels follow labels (pointer jumping).
        jump = (step.join(step.select(F.col("node").alias("label"), F.col("label").alias("l2")), "label", "left")
                .select("node", F.least("label", F.coalesce("l2", "label")).alias("label")).localCheckpoint())
        changed = jump.join(labels.withColumnRenamed("label", "old"), "node").where(F.col("label") != F.col("old")).count()
        labels = jump
        if changed == 0:
            break
    else:
        raise RuntimeError(f"Spark clustering did not converge in {max_rounds} rounds")
    out = np.arange(n, dtype=np.int64)
    labels.coalesce(1).write.mode("overwrite").parquet(str(scratch))
    try:
        table = pq.read_table(str(scratch))
    finally:
        _rmtree(scratch)
    out[table["node"].to_numpy()] = table["label"].to_numpy()
    return out


def _rmtree(path: Path) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)

"""`chaintrail cluster --chain eth --engine spark` gives the local engine's entities (issue 21): the same links file
(the edges), the same cluster id for every account, the same report, on a generated chain."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest
from eth_inv_served import CLI
from eth_inv_stores import scenario_store


def _cluster(store, *args):
    r = subprocess.run([*CLI, "cluster", "--chain", "eth", "--store", str(store), "--json", *args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    ana = store / "analysis"
    return (json.loads(r.stdout), pq.read_table(ana / "eth_clusters.parquet"),
            pq.read_table(ana / "eth_cluster_links.parquet"))


@pytest.mark.slow
def test_spark_entities_equal_local_on_a_generated_chain(tmp_path_factory) -> None:
    src, _, _ = scenario_store(tmp_path_factory, 11)
    store = tmp_path_factory.mktemp("eth-spark") / "store"
    shutil.copytree(src, store)
    local_report, local, local_links = _cluster(store)
    labels = local["cluster_id"].to_numpy()
    assert local_report["merges"] > 0 and len(np.unique(labels)) < len(labels)     # something was merged
    assert sum(local_report["links"].values()) == local_links.num_rows > 0
    spark_report, spark, spark_links = _cluster(store, "--engine", "spark")
    assert spark_links.equals(local_links)                                         # the same edges
    assert np.array_equal(spark["addr_num"].to_numpy(), local["addr_num"].to_numpy())
    assert np.array_equal(spark["cluster_id"].to_numpy(), labels)
    assert {k: v for k, v in spark_report.items() if k != "large_merges"} == \
        {k: v for k, v in local_report.items() if k != "large_merges"}
    assert not list((store / "analysis").glob("spark-*"))                          # its scratch is gone
    r = subprocess.run([*CLI, "cluster", "--chain", "eth", "--engine", "spark", "--block-big-merges", "--store",
                        str(store)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 5 and "local-engine option" in r.stderr

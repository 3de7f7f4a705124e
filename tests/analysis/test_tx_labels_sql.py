"""The tx_labels SQL view: investigators query CoinJoins and mixer txs by label, with protocol,
confidence and the rule each label rests on; checked against a generated chain's answer key."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chaintrail.analysis import label_evidence
from chaintrail.analysis import mixers as M
from chaintrail.analysis.tx_labels import LABELS_FILE, label_transactions
from chaintrail.cli.main import app
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.scenario.generator import generate
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    base = tmp_path_factory.mktemp("txlabels")
    generate(base / "g", seed=5, kind="all", scale=0.5)
    with BtcIngest(base / "store") as job:
        job.ingest_blocks_dir(base / "g")
    with ChainStore(base / "store", writable=True) as st:
        label_transactions(st)
    return base / "store", json.loads((base / "g" / "answer_key.json").read_text())


def test_whirlpool_mixes_are_queryable_with_their_evidence(labelled):
    store, key = labelled
    truth = sorted(c["txid"] for c in key["coinjoin_txs"] if c["protocol"] == "whirlpool")
    assert len(truth) >= 5
    res = CliRunner().invoke(app, ["sql", "SELECT * FROM tx_labels WHERE label='whirlpool_mix' ORDER BY txid",
                                   "--store", str(store), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert sorted(r["txid"] for r in rows) == truth          # hex txids, exactly the key's Whirlpool mixes
    for r in rows:
        assert (r["protocol"], r["confidence"], r["input_values_known"]) == ("whirlpool", 95, True)
        assert "Whirlpool pool denomination" in r["evidence"] and r["block_height"] is not None


def test_every_coinjoin_of_the_key_has_its_protocol(labelled):
    store, key = labelled
    with ChainStore(store) as st:
        got = {r["txid"]: r for r in query(st, "SELECT txid, label, protocol FROM tx_labels WHERE is_mixing").to_pylist()}
    want = {c["txid"]: c["protocol"] for c in key["coinjoin_txs"]}
    assert set(got) == set(want)
    proto = {"whirlpool": "whirlpool", "wasabi1.0": "wasabi1", "wasabi1.1": "wasabi1", "wasabi2": "wasabi2",
             "joinmarket": "joinmarket"}
    assert {t: got[t]["protocol"] for t in want} == {t: proto[p] for t, p in want.items()}


def test_unlabelled_txs_are_not_listed(labelled):
    store, _ = labelled
    with ChainStore(store) as st:
        n_labels = pq.ParquetFile(st.path / "analysis" / LABELS_FILE).metadata.num_rows
        listed = query(st, "SELECT count(*) AS n, count(*) FILTER (WHERE label = 'none') AS plain FROM tx_labels"
                       ).to_pylist()[0]
        peel_only = query(st, "SELECT count(*) FROM raw.tx_labels WHERE label = 'none' AND peel_chain IS NOT NULL"
                          ).column(0)[0].as_py()
        labelled_n = query(st, "SELECT count(*) FROM raw.tx_labels WHERE label <> 'none'").column(0)[0].as_py()
    assert listed["n"] == labelled_n + peel_only < n_labels and listed["plain"] == peel_only


def test_labels_without_input_values_carry_lower_confidence_and_say_so():
    labels = np.array([M.L_WHIRLPOOL, M.L_WHIRLPOOL, M.L_JOINMARKET, M.L_JOINMARKET, M.L_NONE], np.uint8)
    known = np.array([True, False, True, False, True])
    cols = label_evidence.columns(labels, known)
    conf = cols["confidence"].to_pylist()
    assert conf[0] > conf[1] and conf[2] > conf[3] and conf[4] is None
    ev = cols["evidence"].to_pylist()
    assert "input values unknown" in ev[1] and "input values unknown" not in ev[0] and ev[4] is None
    assert cols["protocol"].to_pylist() == ["whirlpool", "whirlpool", "joinmarket", "joinmarket", None]


def test_an_older_labels_file_still_answers(labelled, tmp_path):
    """A labels file written before the evidence columns: the view binds, the new columns are null."""
    store, _ = labelled
    path = store / "analysis" / LABELS_FILE
    saved = path.read_bytes()
    try:
        t = pq.read_table(path)
        pq.write_table(t.drop(["protocol", "confidence", "evidence", "values_known"]), path)
        with ChainStore(store) as st:
            rows = query(st, "SELECT label, protocol, confidence FROM tx_labels WHERE label='whirlpool_mix'").to_pylist()
            assert rows and all(r["protocol"] is None and r["confidence"] is None for r in rows)
            assert query(st, "SELECT count(*) FROM txs").column(0)[0].as_py() > 0
    finally:
        path.write_bytes(saved)

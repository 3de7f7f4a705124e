"""Screening: a planted ransomware cash-out gives the right amounts, path and tag; OFAC XBT is severe.

Chain (tags/chain_builder.planted_cashout): two victims pay the ransom
address 1.0001 and 0.5 BTC; it sweeps 1.5 BTC to an intermediary, which with
0.5 BTC of clean coins pays an exchange deposit 1.9999 BTC; the exchange
sweeps the deposit with its hot wallet. Expected haircut amounts, worked by
hand: backward from the deposit, 1.9999 * 1.5 / 2.0 = 1.499925 BTC came from
the ransom address (75%); forward from the ransom address, 1.5 BTC reached
the intermediary and 1.5 * 1.9999 / 2.0 = 1.499925 BTC the exchange.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from chaintrail.analysis.clustering import update_clusters
from chaintrail.analysis.screening import Screener, ScreenParams
from chaintrail.cli.main import app
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.tags.tagstore import TagStore
from tags.chain_builder import address_of, planted_cashout

OFAC_XBT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tags" / "ofac-sdn" / \
    "sanctioned_addresses_XBT.txt"
RANSOM_PACK = """\
title: Ransomware seen in case OP-RW
creator: tests
abuse: ransomware
confidence: forensic
source: https://example.org/ransomware-report
currency: BTC
tags:
- address: {ransom}
  label: Locky
- address: {hot}
  label: Example Exchange
  abuse: null
  category: exchange
  is_cluster_definer: true
"""


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screen")
    b = planted_cashout()
    path = b.ingest(folder)
    pack = folder / "case.yaml"
    pack.write_text(RANSOM_PACK.format(ransom=address_of("ransom"), hot=address_of("hot_wallet")))
    with ChainStore(path) as st:
        update_clusters(st, np.zeros(st.counts["txs"], np.bool_))
    assert TagStore(path).import_paths([pack]).ok
    with ChainStore(path) as st:
        yield st, b, pack


def test_deposit_shows_the_ransomware_it_received(planted):
    st, b, pack = planted
    res = Screener(TagStore(st.path), st, ScreenParams(hops=3)).screen(address_of("deposit"))
    inc = res.exposure("ransomware", "incoming")
    assert (inc.amount_sat, inc.traced_sat, inc.share) == (149_992_500, 199_990_000, 0.75)
    assert (inc.direct_sat, inc.indirect_sat, inc.min_hops, inc.max_hops) == (0, 149_992_500, 2, 2)
    assert inc.counterparty == address_of("ransom")
    # The largest share came in through victim 1's payment: deposit tx <- sweep <- ransom payment 1.
    assert inc.path == [b.txids["to_deposit"], b.txids["sweep"], b.txids["ransom1"]]
    (tag,) = inc.tags
    assert (tag.label, tag.kind, tag.source, tag.confidence) == ("Locky", "ransomware",
                                                                "https://example.org/ransomware-report", "forensic")
    assert tag.provenance == f"file {pack.resolve()} line 8"
    # The deposit itself belongs to the exchange cluster (definer tag on the hot wallet).
    assert [(t.label, t.via) for t in res.tags] == [("Example Exchange", "cluster")]
    assert res.exposure("exchange", "self") is not None
    # 75% of its funds from ransomware (over the 50% escalation share): high, and the reason says why.
    assert res.risk.level == "high"
    top = res.risk.reasons[0]
    assert top.category == "ransomware"
    for needle in ("1.49992500 BTC", "149,992,500 sat", "75.00%", "Locky", address_of("ransom"),
                   str(pack.resolve()), "line 8", b.txids["ransom1"], "https://example.org/ransomware-report"):
        assert needle in top.text, needle


def test_ransom_address_outgoing_reaches_the_exchange(planted):
    st, b, _ = planted
    res = Screener(TagStore(st.path), st, ScreenParams(hops=3)).screen(address_of("ransom"))
    assert res.risk.level == "high" and res.risk.reasons[0].text.startswith(f"{address_of('ransom')} is itself")
    out = res.exposure("exchange", "outgoing")
    assert (out.amount_sat, out.traced_sat, out.min_hops) == (149_992_500, 150_010_000, 2)
    assert out.path == [b.txids["ransom1"], b.txids["sweep"], b.txids["to_deposit"]]
    assert res.exposure("ransomware", "self").amount_sat == 150_010_000
    assert res.exposure("ransomware", "incoming") is None   # its own payments are not exposure to itself


def test_hops_limit_the_reach(planted):
    st, _, _ = planted
    sc = Screener(TagStore(st.path), st, ScreenParams(hops=1))
    res = sc.screen(address_of("deposit"))
    assert res.exposure("ransomware", "incoming") is None        # two hops away
    res = sc.screen(address_of("intermediary"))
    inc = res.exposure("ransomware", "incoming")
    assert (inc.amount_sat, inc.direct_sat, inc.share) == (150_000_000, 150_000_000, 1.0)
    assert res.risk.level == "high"                              # direct ransomware exposure


def test_transaction_screen(planted):
    st, b, _ = planted
    res = Screener(TagStore(st.path), st, ScreenParams(hops=2)).screen(b.txids["to_deposit"])
    assert res.kind == "transaction"
    inc = res.exposure("ransomware", "incoming")
    assert (inc.amount_sat, inc.min_hops) == (149_992_500, 2)
    out = res.exposure("exchange", "outgoing")
    assert (out.amount_sat, out.direct_sat, out.path) == (199_990_000, 199_990_000, [b.txids["to_deposit"]])


def test_clean_address_is_low(planted):
    st, _, _ = planted
    res = Screener(TagStore(st.path), st, ScreenParams(hops=3)).screen(address_of("miner"))
    assert res.risk.level == "low" and not [e for e in res.exposures if e.direction != "self"]
    assert "no tag" in res.risk.reasons[0].text


def test_every_ofac_xbt_address_screens_severe(tmp_path):
    root = tmp_path / "store"
    ts = TagStore(root)
    assert ts.import_paths([OFAC_XBT]).ok
    addresses = OFAC_XBT.read_text().split()
    assert len(addresses) == 435
    sc = Screener(TagStore(root))          # no chain store: tags alone
    results = list(sc.screen_many(addresses))
    assert [r.risk.level for r in results] == ["severe"] * 435
    r = results[0]
    assert r.risk.reasons[0].category == "sanctioned" and "sanctioned_addresses_XBT.txt line 1" in \
        r.risk.reasons[0].text
    assert Screener(TagStore(root)).screen("1BitcoinEaterAddressDontSendf59kuE").risk.level == "low"


def test_cli_screen_single_and_batch(planted, tmp_path):
    st, b, _ = planted
    runner = CliRunner()
    res = runner.invoke(app, ["screen", address_of("deposit"), "--store", str(st.path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["risk"]["level"] == "high"
    inc = next(e for e in out["exposures"] if e["category"] == "ransomware" and e["direction"] == "incoming")
    assert inc["amount_sat"] == 149_992_500
    batch = tmp_path / "list.txt"
    batch.write_text("# addresses to screen\n" + "\n".join(address_of(n) for n in ("deposit", "miner", "ransom"))
                     + "\n" + b.txids["to_deposit"] + "\n")
    res = runner.invoke(app, ["screen", str(batch), "--store", str(st.path), "--json", "--hops", "3"])
    assert res.exit_code == 0, res.output
    levels = [json.loads(ln)["risk"]["level"] for ln in res.stdout.splitlines()]
    assert levels == ["high", "low", "high", "high"]
    res = runner.invoke(app, ["screen", str(batch), "--store", str(st.path)])
    assert res.exit_code == 0 and "screened 4" in res.stdout


def test_generated_ransomware_cashout_matches_the_answer_key(tmp_path):
    """A generated chain (scenario generator, kind ransomware): tag the operators' wallets as an investigator
    would, screen every exchange deposit they cashed out to, and get the answer key's amounts exactly."""
    import pyarrow.parquet as pq

    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.scenario.generator import generate

    chain = tmp_path / "chain"
    generate(chain, seed=1, kind="ransomware", scale=1.0)
    key = json.loads((chain / "answer_key.json").read_text())
    store = tmp_path / "store"
    with BtcIngest(store) as job:
        job.ingest_blocks_dir(chain)
    with ChainStore(store) as st:
        update_clusters(st, np.zeros(st.counts["txs"], np.bool_))
    case_of = {p["entity"]: c["id"] for c in key["cases"] for p in c["perpetrators"]}
    rows = [r for r in pq.read_table(chain / key["files"]["addresses"]).to_pylist() if r["entity_id"] in case_of]
    pack = tmp_path / "operators.yaml"
    pack.write_text("title: ransomware operators\ncreator: tests\nabuse: ransomware\nconfidence: forensic\n"
                    "source: https://example.org/case-file\ntags:\n"
                    + "".join(f"- address: {r['address']}\n  label: {case_of[r['entity_id']]}\n" for r in rows))
    line_of = {r["address"]: 7 + 2 * i for i, r in enumerate(rows)}
    assert TagStore(store).import_paths([pack]).ok
    checked = 0
    with ChainStore(store) as st:
        sc = Screener(TagStore(store), st, ScreenParams(hops=3))
        for case in key["cases"]:
            expected: dict[str, int] = {}
            first_tx: dict[str, set] = {}
            for e in case["cash_out_endpoints"]:
                if e["entity_kind"] == "exchange":
                    expected[e["address"]] = expected.get(e["address"], 0) + e["amount_sat"]
                    first_tx.setdefault(e["address"], set()).add(e["txid"])
            for address, amount in expected.items():
                res = sc.screen(address)
                inc = res.exposure("ransomware", "incoming")
                assert inc is not None and inc.amount_sat == amount, (case["id"], address)
                assert inc.path[0] in first_tx[address]                # the cash-out tx paying the deposit
                assert res.risk.level in ("high", "severe")
                text = next(r.text for r in res.risk.reasons if r.category == "ransomware")
                tag = inc.tags[0]
                assert tag.label == case["id"] and f"{pack.resolve()} line {line_of[tag.address]}" in text
                assert " -> ".join(inc.path) in text or inc.path[0] in text
                checked += 1
    assert checked >= 3


def test_screens_leave_the_engine_clean_and_repeat_exactly(planted):
    st, _, _ = planted
    sc = Screener(TagStore(st.path), st, ScreenParams(hops=4))
    names = ["deposit", "ransom", "intermediary", "hot_wallet", "clean", "victim1", "miner"]
    first = [r.to_dict() for r in sc.screen_many([address_of(n) for n in names])]
    e = sc.engine
    assert not e.taint.any() and not e.status.any() and not e.qbits0.any() and not e.iv_cnt.any()   # all zero: untouched
    assert not e.pred.any() and not e.hops.any()
    again = [sc.screen(address_of(n)).to_dict() for n in reversed(names)][::-1]
    assert first == again


def test_triage_matches_screen_levels_from_tags(planted, tmp_path):
    st, _, _ = planted
    sc = Screener(TagStore(st.path), st, ScreenParams(hops=0))
    names = ["deposit", "ransom", "hot_wallet", "miner"]
    subjects = [address_of(n) for n in names] + ["1NotInTheStoreAtAll"]
    tri = sc.triage(subjects)
    assert tri.column("level").to_pylist() == ["low", "high", "low", "low", "low"]
    assert tri.column("categories").to_pylist() == [["exchange"], ["ransomware"], ["exchange"], None, None]
    assert tri.column("tagged").to_pylist() == [False, True, True, False, False]  # deposit: via its cluster
    assert [sc.screen(s).risk.level for s in subjects] == tri.column("level").to_pylist()


def test_changing_params_on_a_screener(planted):
    st, _, _ = planted
    sc = Screener(TagStore(st.path), st, ScreenParams(hops=3))
    assert sc.screen(address_of("deposit")).exposure("ransomware", "incoming").amount_sat == 149_992_500
    sc.params = ScreenParams(hops=1)
    res = sc.screen(address_of("deposit"))
    assert res.exposure("ransomware", "incoming") is None and res.params["hops"] == 1
    with pytest.raises(UsageError, match="hops"):
        sc.params = ScreenParams(hops=-1)

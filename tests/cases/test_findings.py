"""Findings on a real store: exact trace figures, versions, error rates, block hashes, tags, reproducible hashes."""

from __future__ import annotations

import copy

from ct_cases import BLOCK170, CB9, COIN, EXCHANGE_ADDR, HAL, RANSOM_ADDR, SATOSHI9

from chaintrail.analysis.tracing import TraceParams
from chaintrail.cases import methodology
from chaintrail.cases.findings import (
    HASHED_FIELDS,
    explain_finding,
    finding_hash,
    rerun,
    trace_finding,
)
from chaintrail.cases.hashing import digest
from chaintrail.store.chainstore import ChainStore


def test_trace_finding_figures_and_evidence(trace9):
    f = trace9
    t = f["result"]["totals"]
    # Block 9's 50 BTC: 10 BTC reach the tagged exchange deposit, 40 BTC stay unspent, no fees on this chain.
    assert (t["traced_sat"], t["to_endpoints_sat"], t["unspent_sat"], t["fees_sat"]) == (50 * COIN, 10 * COIN,
                                                                                         40 * COIN, 0)
    ends = {e["address"]: (e["kind"], e["amount_sat"]) for e in f["result"]["endpoints"]}
    assert ends[EXCHANGE_ADDR] == ("tagged", 10 * COIN)
    assert ends[HAL] == ("unspent", 10 * COIN) and ends[SATOSHI9] == ("unspent", 18 * COIN)
    assert ends[RANSOM_ADDR] == ("unspent", 11 * COIN)
    # The blocks read: block 170 (Satoshi pays Hal) among them, each a 64-hex hash, in chain order.
    assert BLOCK170 in f["block_hashes"] and len(f["block_hashes"]) == len(set(f["block_hashes"])) == 9
    ctx = f["result"]["chain_context"]
    assert ctx["first_block"]["height"] == 9 and ctx["blocks_read"] == 9
    # Versions and error rates: the heuristics the trace rests on, quoted from the one error-rate table.
    assert f["versions"]["trace_engine"] == "trace/3" and f["versions"]["clustering"]["version"] == "multi-input/1"
    assert set(f["error_rates"]) == {"multi-input", "coinjoin", "peel-chain"}   # tags here are on the address itself
    table = methodology.load_error_rates()["heuristics"]
    for name, e in f["error_rates"].items():
        assert (methodology.is_measured(e), e["figures"]) == (methodology.is_measured(table[name]),
                                                              table[name]["figures"])
    # Tags the result rests on, with source and confidence.
    tags = {t["address"]: t for t in f["tags"]}
    assert tags[EXCHANGE_ADDR]["label"] == "Exchange Bravo" and tags[EXCHANGE_ADDR]["confidence"] == "service_data"
    assert tags[RANSOM_ADDR]["source"] == "https://example.org/ransomwhere"
    assert f["result_hash"] == digest(f["result"]) and f["finding_hash"] == finding_hash(f)


def test_rerun_reproduces_byte_for_byte(chain_store, trace9):
    with ChainStore(chain_store) as st:
        again = trace_finding(st, f"{CB9}:0", TraceParams(max_hops=20))
        r = rerun(st, trace9)
    assert again["finding_hash"] == trace9["finding_hash"] and again["result"] == trace9["result"]
    assert r.reproduced and r.same_store and r.differences == []
    # A changed stored result, or different parameters, no longer reproduce.
    bad = copy.deepcopy(trace9)
    bad["result"]["totals"]["unspent_sat"] += 1
    bad["result_hash"] = digest(bad["result"])
    bad["finding_hash"] = finding_hash(bad)
    with ChainStore(chain_store) as st:
        r2 = rerun(st, bad)
        other = trace_finding(st, f"{CB9}:0", TraceParams(max_hops=3))
    assert not r2.reproduced and r2.differences == ["result_hash"] and r2.new_hash == trace9["finding_hash"]
    assert other["finding_hash"] != trace9["finding_hash"]


def test_error_rates_exclude_from_hash_but_everything_else_counts(trace9):
    f = copy.deepcopy(trace9)
    f["error_rates"]["multi-input"]["false_positive_rate"] = 0.01
    assert finding_hash(f) == trace9["finding_hash"]
    for k in HASHED_FIELDS:
        g = copy.deepcopy(trace9)
        g[k] = "x" if isinstance(g[k], str) else None
        assert finding_hash(g) != trace9["finding_hash"], k


def test_explain_finding_names_the_linking_transaction(chain_store):
    with ChainStore(chain_store) as st:
        # Two inputs spent together in block 496's tx: the multi-input link.
        from chaintrail.store.sql import query
        rows = query(st, """SELECT txid, list(DISTINCT address ORDER BY address) AS a FROM inputs
                            GROUP BY txid HAVING count(DISTINCT address) = 2 ORDER BY txid LIMIT 1""").to_pylist()
        a, b = rows[0]["a"]
        f = explain_finding(st, a, b)
        again = explain_finding(st, a, b)
    links = f["result"]["links"]
    assert [x["txid"] for x in links] == [rows[0]["txid"]] and links[0]["heuristic"] == "multi-input"
    assert f["block_hashes"] == [links[0]["block_hash"]] and again["finding_hash"] == f["finding_hash"]
    assert "multi-input" in f["error_rates"]


def test_error_rate_table_is_well_formed():
    table = methodology.load_error_rates()
    assert table["format"] == "chaintrail-error-rates/2"
    for name, e in table["heuristics"].items():
        assert set(e["figures"]) == set(methodology.SOURCES), name
        unmeasured = all(f["status"] == "not measured" for f in e["figures"].values())
        assert (e["status"] == "not measured") == unmeasured == (not methodology.is_measured(e)), name
    assert methodology.rates_for(["no-such-heuristic"])["no-such-heuristic"]["status"] == methodology.NOT_MEASURED
    # a finding recorded under the first format still reads as it did
    assert methodology.describe_rate({"false_positive_rate": 0.012, "false_negative_rate": 0.08, "sample_size": 25000,
                                      "ground_truth": "labelled exchange wallets"}) == \
        "false positives 1.2%, false negatives 8.0% (n=25,000; ground truth: labelled exchange wallets)"

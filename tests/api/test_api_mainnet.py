"""The REST API on real mainnet blocks 0-599, checked against SQL over the same store and the trace engine."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from ct_workbench import HAL, MAINNET_SUBJECT, TX170

from chaintrail.analysis.tracing import TraceEngine, TraceParams
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query


@pytest.fixture(scope="module")
def sql(mainnet_store):
    st = ChainStore(mainnet_store)
    yield lambda q, p=None: query(st, q, p).to_pylist()
    st.close()


def test_address_matches_sql(mainnet_api, sql):
    a = mainnet_api.ok(f"/addresses/{MAINNET_SUBJECT}")
    ref = sql("SELECT received_sat, sent_sat, tx_count, first_height FROM addresses WHERE address = $a",
              {"a": MAINNET_SUBJECT})[0]
    assert (a["received_sat"], a["sent_sat"], a["n_txs"]) == (ref["received_sat"], ref["sent_sat"], ref["tx_count"])
    assert a["first_seen"]["height"] == ref["first_height"] == 9
    unspent = sql("SELECT coalesce(sum(value_sat), 0)::BIGINT AS v FROM outputs WHERE address = $a "
                  "AND spent_by_txid IS NULL", {"a": MAINNET_SUBJECT})[0]["v"]
    assert a["balance_sat"] == unspent
    assert a["script_type"] == "p2pk"


def test_address_tx_pages_cover_every_tx_once(mainnet_api, sql):
    ref = sql("""SELECT txid FROM outputs WHERE address = $a UNION SELECT txid FROM inputs WHERE address = $a""",
              {"a": MAINNET_SUBJECT})
    got, offset = [], 0
    while offset is not None:
        page = mainnet_api.ok(f"/addresses/{MAINNET_SUBJECT}/txs", offset=offset, limit=2)
        got += page["items"]
        offset = page["next_offset"]
    assert sorted(t["txid"] for t in got) == sorted(r["txid"] for r in ref)
    assert len({t["txid"] for t in got}) == len(got) == page["total"]
    assert sum(t["received_sat"] for t in got) == mainnet_api.ok(f"/addresses/{MAINNET_SUBJECT}")["received_sat"]
    heights = [t["height"] for t in got]
    assert heights == sorted(heights)


def test_hal_finney_transaction(mainnet_api):
    t = mainnet_api.ok(f"/txs/{TX170}")
    assert t["height"] == 170 and t["fee_sat"] == 0 and t["input_sat"] == t["output_sat"] == 50 * 10**8
    assert [(i["address"], i["value_sat"]) for i in t["inputs"]] == [(MAINNET_SUBJECT, 50 * 10**8)]
    assert [(o["vout"], o["address"], o["value_sat"]) for o in t["outputs"]] == [
        (0, HAL, 10 * 10**8), (1, MAINNET_SUBJECT, 40 * 10**8)]
    assert t["block_hash"] == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
    # Uppercase txids are the same transaction.
    assert mainnet_api.ok(f"/txs/{TX170.upper()}")["txid"] == TX170


def test_search_finds_each_kind(mainnet_api):
    hits = mainnet_api.ok("/search", q=MAINNET_SUBJECT)["items"]
    assert hits[0] == {"kind": "address", "id": MAINNET_SUBJECT, "label": MAINNET_SUBJECT,
                       "detail": hits[0]["detail"], "risk": []}
    assert mainnet_api.ok("/search", q=TX170)["items"][0]["id"] == TX170
    assert TX170 in [h["id"] for h in mainnet_api.ok("/search", q=TX170[:10])["items"]]
    prefix = [h["id"] for h in mainnet_api.ok("/search", q="1Q2TWHE3G")["items"]]
    assert HAL in prefix and all(p.startswith("1Q2TWHE3G") for p in prefix)
    cid = mainnet_api.ok(f"/addresses/{HAL}")["cluster"]
    assert mainnet_api.ok("/search", q=f"cluster:{cid}")["items"][0] == {
        "kind": "entity", "id": str(cid), "label": f"entity {cid}", "detail": mainnet_api.ok(
            "/search", q=f"cluster:{cid}")["items"][0]["detail"], "risk": []}
    assert mainnet_api.ok("/search", q="zzzz-nothing")["items"] == []


def test_entity_members_paged_and_streamed_equal_sql(mainnet_api, sql):
    biggest = sql("SELECT cluster, cluster_size FROM clusters ORDER BY cluster_size DESC, cluster LIMIT 1")[0]
    cid, size = biggest["cluster"], biggest["cluster_size"]
    assert size > 1000       # several pages of the largest page size
    ref = sorted(r["address"] for r in sql("SELECT address FROM clusters WHERE cluster = $c", {"c": cid}))
    e = mainnet_api.ok(f"/entities/{cid}")
    assert e["size"] == size and e["large"]
    members, offset = [], 0
    while offset is not None:
        page = mainnet_api.ok(f"/entities/{cid}/members", offset=offset, limit=1000 if offset else 37)
        members += page["items"]
        offset = page["next_offset"]
    assert sorted(m["address"] for m in members) == ref
    assert sum(m["received_sat"] for m in members) == e["received_sat"]
    r = mainnet_api.http.get(f"/api/v1/entities/{cid}/members.ndjson", params={"order": "received"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert sorted(x["address"] for x in rows) == ref
    recv = [x["received_sat"] for x in rows]
    assert recv == sorted(recv, reverse=True)


def test_graph_expand_edges_carry_the_amounts(mainnet_api):
    g = mainnet_api.ok("/graph/expand", node=f"a:{MAINNET_SUBJECT}", limit=200)
    a = mainnet_api.ok(f"/addresses/{MAINNET_SUBJECT}")
    me = f"a:{MAINNET_SUBJECT}"
    assert sum(e["amount_sat"] for e in g["edges"] if e["target"] == me) == a["received_sat"]
    assert sum(e["amount_sat"] for e in g["edges"] if e["source"] == me) == a["sent_sat"]
    assert g["total"] == a["n_txs"] and not g["truncated"]
    tx = mainnet_api.ok("/graph/expand", node=f"t:{TX170}")
    pays = {(e["target"], e["amount_sat"]) for e in tx["edges"] if e["source"] == f"t:{TX170}"}
    assert pays == {(f"a:{HAL}", 10 * 10**8), (me, 40 * 10**8)}
    # Money flows address -> tx -> address: no edge joins two addresses.
    kinds = {n["id"]: n["kind"] for n in g["nodes"] + tx["nodes"]}
    assert all({kinds[e["source"]], kinds[e["target"]]} == {"address", "tx"} for e in g["edges"] + tx["edges"])


def test_graph_expand_pages_a_busy_address(mainnet_api):
    first = mainnet_api.ok("/graph/expand", node=f"a:{MAINNET_SUBJECT}", limit=2)
    second = mainnet_api.ok("/graph/expand", node=f"a:{MAINNET_SUBJECT}", offset=2, limit=2)
    assert first["truncated"] and len([n for n in first["nodes"] if n["kind"] == "tx"]) == 2
    assert not {n["id"] for n in first["nodes"] if n["kind"] == "tx"} & {n["id"] for n in second["nodes"] if n["kind"] == "tx"}


def test_trace_equals_the_engine_and_pages(mainnet_api, mainnet_store):
    with ChainStore(mainnet_store) as st:
        ref = TraceEngine.open(st).trace(MAINNET_SUBJECT, TraceParams(max_hops=3)).to_dict()
    r = mainnet_api.ok("/trace", source=MAINNET_SUBJECT, max_hops=3, limit=2)
    assert r["trace_hash"] == ref["trace_hash"] and r["totals"] == ref["totals"]
    assert r["endpoints_total"] == len(ref["endpoints"]) and r["next_offset"] == 2
    assert r["step_rules"] == {"haircut": sum(1 for s in ref["steps"] if s["model"])}
    assert [e["amount_sat"] for e in r["endpoints"]] == [e["amount_sat"] for e in ref["endpoints"][:2]]
    hal = next(e for e in ref["endpoints"] if e["address"] == HAL)
    assert hal["amount_sat"] == 10 * 10**8 and hal["hops"] == 1
    g = r["graph"]
    assert {"a:" + e["address"] for e in ref["endpoints"]} <= {n["id"] for n in g["nodes"]}
    flow_into_hal = sum(e["amount_sat"] for e in g["edges"] if e["target"] == f"a:{HAL}")
    assert flow_into_hal == 10 * 10**8


def test_trace_csv_has_every_endpoint(mainnet_api):
    r = mainnet_api.http.get("/api/v1/trace", params={"source": MAINNET_SUBJECT, "max_hops": 3, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    j = mainnet_api.ok("/trace", source=MAINNET_SUBJECT, max_hops=3)
    assert len(rows) == j["endpoints_total"]
    assert sum(int(x["amount_sat"]) for x in rows) == sum(e["amount_sat"] for e in j["endpoints"])
    assert {x["address"] for x in rows} == {e["address"] for e in j["endpoints"]}


def test_backward_trace_of_tx170_reaches_block_9_coinbase(mainnet_api):
    r = mainnet_api.ok("/trace", source=f"{TX170}:0", direction="backward", max_hops=5)
    assert [(e["kind"], e["amount_sat"]) for e in r["endpoints"]] == [("coinbase", 10 * 10**8)]
    assert r["endpoints"][0]["address"] == MAINNET_SUBJECT


@pytest.mark.parametrize("path,params,status,words", [
    ("/addresses/1BitcoinEaterAddressDontSendf59kuE", {}, 404, "not in the store"),
    ("/txs/" + "00" * 32, {}, 404, "not in the store"),
    ("/txs/xyz", {}, 422, "txid"),
    ("/entities/99999999", {}, 404, "no entity"),
    ("/entities/-1", {}, 422, "entity_id"),
    ("/trace", {"source": "nonsense"}, 404, "not in the store"),
    ("/trace", {"source": f"{TX170}:7"}, 404, "has no output 7"),
    ("/trace", {"source": "cluster:x"}, 400, "not an entity id"),
    ("/trace", {"source": MAINNET_SUBJECT, "model": "magic"}, 422, "model"),
    ("/trace", {"source": MAINNET_SUBJECT, "max_hops": 10**6}, 422, "max_hops"),
    ("/graph/expand", {"node": "q:abc"}, 400, "node must be"),
    ("/entities/0/members", {"limit": 0}, 422, "limit"),
    ("/search", {"q": ""}, 422, "q"),
])
def test_bad_input_is_a_clear_4xx(mainnet_api, path, params, status, words):
    r = mainnet_api.get(path, **params)
    assert r.status_code == status, r.text
    body = r.json()
    assert words in body["error"], body


def test_fifo_step_over_unknown_input_values_says_haircut(mainnet_store):
    """A tx whose spent outputs are not in the store (a lone raw block) has no value line for FIFO:
    the kernel splits it by haircut, and the step says so."""
    with ChainStore(mainnet_store) as st:
        eng = TraceEngine.open(st)
        unknown = eng.txs_of_inputs(np.flatnonzero(np.asarray(eng.in_value) < 0))
        t = int(unknown[~eng.tx_is_cb[unknown]][0])       # a coinbase's input has no value either
        spec = f"{eng.txid_hex(t)}:0"
        d = eng.trace(spec, TraceParams(direction="backward", model="fifo", max_hops=1)).to_dict()
        step = next(s for s in d["steps"] if s["txid"] == eng.txid_hex(t))
        assert (step["model"], step["heuristics"]) == ("haircut", ["unknown-input-value"])
        d = eng.trace(spec, TraceParams(direction="backward", model="haircut", max_hops=1)).to_dict()
        step = next(s for s in d["steps"] if s["txid"] == eng.txid_hex(t))
        assert (step["model"], step["heuristics"]) == ("haircut", [])

"""The Ethereum REST API (/api/v1/eth, issue 21) on a generated two-chain scenario (all four crime kinds), served
live: traces, screens, Tornado leads and entity links equal the CLI's JSON for the same parameters; accounts and
transactions equal independent SQL over the store; every route needs the token; bad input is a clear 4xx."""

from __future__ import annotations

import pytest
from eth_inv_served import CLI, TOKEN, cli, prepared_store, serve

OTHER = "0x" + "12" * 20


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    store, key = prepared_store(tmp_path_factory)
    with serve(store) as api:
        yield api, store, key


def _sql(store, q: str) -> list[dict]:
    return cli("sql", "--chain", "eth", "--store", str(store), q)


def _all_pages(api, params: dict) -> tuple[dict, list[dict]]:
    first = api.ok("/eth/trace", **params, limit=7)
    eps, off = list(first["endpoints"]), first["next_offset"]
    while off is not None:
        page = api.ok("/eth/trace", **params, limit=7, offset=off)
        assert page["trace_hash"] == first["trace_hash"] and page["endpoints_total"] == first["endpoints_total"]
        eps += page["endpoints"]
        off = page["next_offset"]
    return first, eps


def test_trace_pages_equal_the_cli_json_for_every_case(world) -> None:
    api, store, key = world
    for case in key["cases"]:
        src = case["sources"][0]["tx"]
        want = cli("trace", "--chain", "eth", "--from", src, "--until-exchange", "--store", str(store))
        first, eps = _all_pages(api, {"source": src, "until_exchange": "true"})
        assert first["trace_hash"] == want["trace_hash"], case["kind"]
        assert eps == want["endpoints"] and first["totals"] == want["totals"]
        assert first["requests"] == want["requests"] and first["endpoints_total"] == len(want["endpoints"])
        assert first["requests"], f"{case['kind']}: no service reached"
        steps = api.ok("/eth/trace", source=src, until_exchange="true", steps="true", limit=1)["steps"]
        assert steps == want["steps"] and all(s["block_hash"].startswith("0x") for s in steps)
    # Other parameters reach the engine: poison, one asset, a hop limit.
    src = key["cases"][0]["sources"][0]
    want = cli("trace", "--chain", "eth", "--from", src["tx"], "--model", "poison", "--asset", src["asset"],
               "--max-hops", "3", "--store", str(store))
    got, eps = _all_pages(api, {"source": src["tx"], "model": "poison", "asset": src["asset"], "max_hops": 3})
    assert got["trace_hash"] == want["trace_hash"] and eps == want["endpoints"] and got["requests"] is None


def test_account_balances_flows_and_token_equal_sql(world) -> None:
    api, store, key = world
    src = key["cases"][0]["sources"][0]
    for addr in (src["from"], src["to"]):
        acct = api.ok(f"/eth/addresses/{addr}")
        want = _sql(store, f"SELECT asset, net_change, flows FROM balance_changes WHERE address = '{addr}' "
                           "ORDER BY asset")
        assert [(b["asset"], b["net_change"], b["flows"]) for b in acct["balances"]] == \
               [(r["asset"], r["net_change"], r["flows"]) for r in want]
        n = _sql(store, f"SELECT count(*) AS n FROM value_flows WHERE from_address = '{addr}' "
                        f"OR to_address = '{addr}'")[0]["n"]
        got, off = [], 0
        while off is not None:
            page = api.ok(f"/eth/addresses/{addr}/flows", offset=off, limit=5)
            got += page["items"]
            off = page["next_offset"]
        assert acct["n_flows"] == page["total"] == len(got) == n
        assert [g["flow"] for g in got] == sorted(g["flow"] for g in got)
        assert all(addr in (g["from"], g["to"]) for g in got)
    token = api.ok(f"/eth/addresses/{src['asset']}")
    sym = _sql(store, f"SELECT decimals FROM tokens WHERE address = '{src['asset']}'")[0]
    assert token["is_contract"] and token["contract"]["is_erc20"] and token["token"]["decimals"] == sym["decimals"]
    assert token["token"]["symbol"]          # filled from the proxy's initialize() call where the node had none
    usdx = next(b for b in api.ok(f"/eth/addresses/{src['to']}")["balances"] if b["asset"] == src["asset"])
    assert usdx["symbol"] == token["token"]["symbol"]


def test_transaction_flows_transfers_and_conversions_equal_sql(world) -> None:
    api, store, _ = world
    conv = _sql(store, "SELECT transaction_hash, asset_in, amount_in, asset_out, amount_out, venue FROM conversions "
                       "WHERE kind = 'swap' ORDER BY block_number, conv_index LIMIT 1")[0]
    tx = api.ok(f"/eth/txs/{conv['transaction_hash']}")
    (c,) = [c for c in tx["conversions"] if c["venue"] == conv["venue"]]
    assert (c["asset_in"], c["amount_in"], c["asset_out"], c["amount_out"]) == \
           (conv["asset_in"], str(conv["amount_in"]), conv["asset_out"], str(conv["amount_out"]))
    h = conv["transaction_hash"]
    flows = _sql(store, f"SELECT kind, asset, amount FROM value_flows WHERE transaction_hash = '{h}' ORDER BY flow_index")
    assert [(f["kind"], f["asset"], f["amount"]) for f in tx["flows"]] == \
           [(f["kind"], f["asset"], str(f["amount"])) for f in flows]
    n = _sql(store, f"SELECT count(*) AS n FROM token_transfers WHERE transaction_hash = '{h}'")[0]["n"]
    block = _sql(store, f"SELECT b.hash FROM transactions t JOIN blocks b ON b.number = t.block_number "
                        f"WHERE t.hash = '{h}'")[0]["hash"]
    assert len(tx["token_transfers"]) == n > 0 and tx["block_hash"] == block and tx["hash"] == h


def test_screen_leads_and_explain_equal_the_cli(world) -> None:
    api, store, key = world
    subject = key["cases"][0]["sources"][0]["to"]
    want = cli("screen", "--chain", "eth", subject, "--as-of", "2024-06-01", "--store", str(store))
    got = api.ok("/eth/screen", subject=subject, as_of="2024-06-01")
    assert got == want and got["sanction_lists"] is not None
    leads = api.ok("/eth/tornado/leads")
    want = cli("tornado", "leads", "--store", str(store))
    assert leads["leads"] == want["leads"] and leads["pools"] == want["pools"] and leads["leads"]
    assert "not proof" in leads["note"]
    assert all("precision" in x and "chance_match_rate" in x for x in leads["leads"])
    dep = leads["leads"][0]["deposit_tx"]
    one = api.ok("/eth/tornado/leads", deposit=dep)
    assert one["leads"] == [x for x in want["leads"] if x["deposit_tx"] == dep]
    import pyarrow.parquet as pq

    from chaintrail.store.chainstore import ChainStore
    r = pq.read_table(store / "analysis" / "eth_cluster_links.parquet").to_pylist()[0]   # cluster --chain eth
    with ChainStore(store) as st:
        keys = st.column("eth_addr_key")
        a, b = ("0x" + bytes(keys[r[k]]).hex() for k in ("a", "b"))
    want = cli("entity", "explain", a, b, "--chain", "eth", "--store", str(store))
    assert api.ok("/eth/entities/explain", a=a, b=b) == want and want["links"]


def test_every_eth_route_needs_the_token_and_refuses_bad_input(world) -> None:
    api, _, key = world
    src = key["cases"][0]["sources"][0]
    routes = [f"/eth/addresses/{src['to']}", f"/eth/addresses/{src['to']}/flows", f"/eth/txs/{src['tx']}",
              f"/eth/trace?source={src['tx']}", f"/eth/screen?subject={src['to']}", "/eth/tornado/leads",
              f"/eth/entities/explain?a={src['to']}&b={src['from']}"]
    import httpx
    for r in routes:
        assert httpx.get(api.url + "/api/v1" + r).status_code == 401, r
        bad = httpx.get(api.url + "/api/v1" + r, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        assert bad.status_code == 401 and bad.json()["error"] == "wrong token", r
    assert api.get(f"/eth/addresses/{OTHER}").json() == {"error": f"address {OTHER} is not in the store"}
    assert api.get(f"/eth/addresses/{OTHER}").status_code == 404
    assert api.get("/eth/txs/0x" + "ab" * 32).status_code == 404
    assert api.get("/eth/addresses/0x12").status_code == 422
    assert api.get("/eth/trace", source=OTHER).status_code == 404
    assert api.get("/eth/trace", source=src["tx"], model="wrong-model").status_code == 422
    r = api.get("/eth/trace", source="cluster:x1")
    assert r.status_code == 400 and "cluster:N" in r.json()["error"]
    assert api.get("/eth/tornado/leads", deposit=src["tx"]).status_code == 404


def test_a_bitcoin_only_store_answers_eth_routes_with_404(tmp_path) -> None:
    from chaintrail.store.chainstore import ChainStore

    ChainStore(tmp_path / "empty", writable=True, create=True).close()
    with serve(tmp_path / "empty") as api:
        r = api.get(f"/eth/addresses/{OTHER}")
        assert r.status_code == 404 and "no Ethereum data" in r.json()["error"]
        assert api.ok("/meta")["features"]["eth"] is False
    assert CLI


def test_eth_operations_conform_to_the_openapi_document(world) -> None:
    """Schemathesis over every /eth operation on a store that has Ethereum data: valid and invalid requests get
    a declared status and a body matching its schema, never a 5xx."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        negative_data_rejection,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    api, _, key = world
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              negative_data_rejection]
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}}})
    schema = schemathesis.openapi.from_url(api.url + "/openapi.json", config=config)
    ops = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/api/v1/eth/")]
    assert len(ops) == 7
    failures: list[str] = []
    with requests.Session() as session:
        for op in ops:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @given(case=op.as_strategy(generation_mode=mode))
                @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck))
                def run(case):
                    try:
                        case.call_and_validate(session=session, checks=checks)
                    except Exception as exc:   # collect, and go on to the other operations
                        failures.append(f"{op.label} [{mode.value}]: {str(exc).strip().splitlines()[0][:300]}")
                run()
    # Real subjects too, so the 200 bodies are checked against their schemas.
    src = key["cases"][0]["sources"][0]
    for path, params in ((f"/api/v1/eth/addresses/{src['to']}", {}), (f"/api/v1/eth/txs/{src['tx']}", {}),
                         ("/api/v1/eth/trace", {"source": src["tx"], "steps": "true"}),
                         ("/api/v1/eth/screen", {"subject": src["to"]}), ("/api/v1/eth/tornado/leads", {})):
        op = schema.find_operation_by_path("GET", path.replace(src["to"], "{address}").replace(src["tx"], "{tx_hash}"))
        r = requests.get(api.url + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        assert r.status_code == 200, path
        op.validate_response(r)
    assert not failures, "\n".join(sorted(set(failures)))

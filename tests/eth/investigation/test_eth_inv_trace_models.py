"""The Ethereum trace under fifo, lifo and tiho (issue 21): hand-worked cases on built flow graphs (one asset,
across a swap, through a Tornado pool under each mixer policy) and exact per-asset conservation on a generated
scenario for every case and model."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_eth_inv_trace import (A, B, C, ETH, P, TOK_X, TOK_Y, V, X, _addr, _check_conservation,
                                _deposit_file, _graph, _tx)

from chaintrail.analysis.eth.trace import EthTraceParams, EthTracer
from chaintrail.errors import UsageError
from chaintrail.store.eth_schema import ETH_ANALYSIS_TABLES

D = 7                      # a further account (in the graphs' 8 addresses)


def _h(i: int) -> str:
    return "0x" + _addr(i).hex()


def _ends(d: dict) -> dict:
    return {(e["address"], e["asset"], e["kind"]): int(e["amount"]) for e in d["endpoints"]}


# C pays A 300 (clean), V pays A 100 (the source), C pays A 50; A pays B 200 then 150; B pays X (a deposit
# address) 120, D 200, X 30.
ONE_ASSET = [(0, C, A, ETH, "tx_value", 300), (1, V, A, ETH, "tx_value", 100), (2, C, A, ETH, "tx_value", 50),
             (3, A, B, ETH, "tx_value", 200), (4, A, B, ETH, "tx_value", 150), (5, B, X, ETH, "tx_value", 120),
             (6, B, D, ETH, "tx_value", 200), (7, B, X, ETH, "tx_value", 30)]


@pytest.fixture()
def one_asset(tmp_path):
    _deposit_file(tmp_path, [_addr(X)], _addr(P))
    return EthTracer(None, _graph(ONE_ASSET), tmp_path)


def _run(tr, model: str, **kw) -> dict:
    d = tr.trace(f"{_tx(1)}:{_h(A)}", EthTraceParams(**{"model": model, "max_hops": 10, "deposit_stops": "all", **kw}))
    _check_conservation(d)
    return d


def test_fifo_by_hand(one_asset) -> None:
    d = _run(one_asset, "fifo")
    # A's line: C's 300 at [0,300), the taint at [300,400), C's 50 at [400,450).
    # A->B 200 takes [0,200): clean. A->B 150 takes [200,350): taint [300,350) = 50, the last 50 of B's parcel.
    # B's line: [0,200) clean, [200,350) with the taint at [300,350). B->X 120 takes [0,120): clean;
    # B->D 200 takes [120,320): 20; B->X 30 takes [320,350): 30. A keeps [350,400) = 50.
    assert _ends(d) == {(_h(A), "ETH", "unspent"): 50, (_h(D), "ETH", "unspent"): 20,
                        (_h(X), "ETH", "deposit_address"): 30}
    assert d["totals"]["ETH"]["traced"] == "100" and d["totals"]["ETH"]["to_endpoints"] == "30"
    assert {s["rule"] for s in d["steps"]} == {"an out-flow takes the oldest unspent units of its account "
                                               "(in-flows queued in order), tainted or not"}


def test_lifo_by_hand(one_asset) -> None:
    d = _run(one_asset, "lifo")
    # A's stack: [0,300) C, [300,400) taint, [400,450) C. A->B 200 takes the top [250,450): all 100 of the taint
    # (at [50,150) of B's parcel); A->B 150 takes [100,250): clean. B's stack: [0,200) with the taint at
    # [50,150), then [200,350) clean. B->X 120 takes [230,350): clean; B->D 200 takes [30,230): all 100;
    # B->X 30 takes [0,30): clean.
    assert _ends(d) == {(_h(D), "ETH", "unspent"): 100}


def test_tiho_by_hand(one_asset) -> None:
    d = _run(one_asset, "tiho")
    # taint leaves first: A->B 200 carries min(200, 100) = 100, A->B 150 none; B->X 120 carries all 100
    assert _ends(d) == {(_h(X), "ETH", "deposit_address"): 100}
    assert d["totals"]["ETH"]["to_endpoints"] == "100"


def test_an_address_traced_whole_sends_everything_under_each_model(one_asset) -> None:
    # A itself is the source: every out-flow is tainted (A's whole holding); on B the three models part
    for model, want in (("fifo", {(_h(X), "ETH", "deposit_address"): 150, (_h(D), "ETH", "unspent"): 200}),
                        ("lifo", {(_h(X), "ETH", "deposit_address"): 150, (_h(D), "ETH", "unspent"): 200}),
                        ("tiho", {(_h(X), "ETH", "deposit_address"): 150, (_h(D), "ETH", "unspent"): 200})):
        d = one_asset.trace(_h(A), EthTraceParams(model=model, max_hops=10, deposit_stops="all"))
        _check_conservation(d)
        # A's final balance 100 is held at the source, the 350 it sent all reach B and leave it
        assert {k: v for k, v in _ends(d).items() if k[0] != _h(A)} == want, model


def test_hops_limit_and_pool_growth_give_the_same_fifo_trace(one_asset) -> None:
    one = _run(one_asset, "fifo", **{"max_hops": 0})
    # B is one hop on: it keeps what arrived (50, taken from A's line at [300,350))
    assert _ends(one) == {(_h(A), "ETH", "unspent"): 50, (_h(B), "ETH", "stopped_max_hops"): 50}
    import chaintrail.analysis.eth.lines as lines
    one_asset.ln = lines.pool(1, one_asset.g.n_acct)        # one interval node: overflows, grows, reruns
    assert _run(one_asset, "fifo") == _run(EthTracer(None, one_asset.g, one_asset.root), "fifo")
    assert len(one_asset.ln[0]) > 1


def test_an_out_flow_carrying_several_tainted_pieces_lays_them_in_order(tmp_path) -> None:
    # V pays A 10 (source), C pays A 10, V pays A 10 (source); A pays B all 30; C pays B 5; B pays D 15, X 20.
    flows = [(0, V, A, ETH, "tx_value", 10), (1, C, A, ETH, "tx_value", 10), (2, V, A, ETH, "tx_value", 10),
             (3, A, B, ETH, "tx_value", 30), (4, C, B, ETH, "tx_value", 5), (5, B, D, ETH, "tx_value", 15),
             (6, B, X, ETH, "tx_value", 20)]
    _deposit_file(tmp_path, [_addr(X)], _addr(P))
    tr = EthTracer(None, _graph(flows), tmp_path)
    srcs = [f"{_tx(0)}:{_h(A)}", f"{_tx(2)}:{_h(A)}"]
    # A->B takes A's whole line: two tainted pieces, [0,10) and [20,30) of B's parcel.
    # lifo: C's 5 on top at [30,35); B->D 15 takes [20,35): 10; B->X 20 takes [0,20): 10.
    # fifo: B->D 15 takes [0,15): 10; B->X 20 takes [15,35): 10.
    for model in ("lifo", "fifo"):
        d = tr.trace(srcs, EthTraceParams(model=model, max_hops=10, deposit_stops="all"))
        _check_conservation(d)
        assert _ends(d) == {(_h(D), "ETH", "unspent"): 10, (_h(X), "ETH", "deposit_address"): 10}, model


# A holds 50 clean X then 50 tainted X, and 100 clean Y; it swaps 80 X for 240 Y at pair P (the rate 3); then
# pays B 150 Y.
SWAP = [(0, C, A, TOK_X, "erc20", 50), (1, V, A, TOK_X, "erc20", 50), (2, C, P, TOK_Y, "erc20", 1000),
        (3, C, A, TOK_Y, "erc20", 100), (4, A, P, TOK_X, "erc20", 80), (4, P, A, TOK_Y, "erc20", 240),
        (5, A, B, TOK_Y, "erc20", 150)]


def _swap_tracer(tmp_path):
    rows = [{"tx_num": 4, "block_number": 0, "conv_index": 0, "kind": "swap", "trader": _addr(A),
             "recipient": _addr(A), "asset_in": _addr(TOK_X), "amount_in": "80", "asset_out": _addr(TOK_Y),
             "amount_out": "240", "venue": _addr(P), "n_hops": 1, "rate": 3.0, "evidence": "test swap"}]
    (tmp_path / "analysis").mkdir(exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=ETH_ANALYSIS_TABLES["eth_conversions"]),
                   tmp_path / "analysis" / "eth_conversions.parquet")
    return EthTracer(None, _graph(SWAP), tmp_path)


@pytest.mark.parametrize("model,x_left,t_in,a_y,b_y", [
    # fifo: the swap's 80 X take [0,80): taint [50,80) = 30 -> floor(240*30/80) = 90 Y, laid at [100,190) of
    # A's Y line (after its clean 100); A->B 150 takes [0,150): 50. A keeps 20 X and 40 Y.
    ("fifo", 20, 30, 40, 50),
    # lifo: the 80 X take [20,100): all 50 -> 150 Y on top of A's 100 clean, at [100,250); A->B 150 takes
    # [190,340): 60. A keeps [100,190) = 90 Y.
    ("lifo", 0, 50, 90, 60),
    # tiho: the swap takes min(80, 50) = 50 -> 150 Y; A->B 150 takes all 150.
    ("tiho", 0, 50, 0, 150)])
def test_taint_crosses_a_swap_at_the_executed_rate(tmp_path, model, x_left, t_in, a_y, b_y) -> None:
    d = _swap_tracer(tmp_path).trace(f"{_tx(1)}:{_h(A)}", EthTraceParams(model=model, max_hops=10))
    _check_conservation(d)
    x, y = _h(TOK_X), _h(TOK_Y)
    assert d["totals"][x]["traced"] == "50" and d["totals"][x]["converted"] == str(t_in)
    assert d["totals"][y]["converted_in"] == str(3 * t_in)
    want = {(_h(A), x, "unspent"): x_left, (_h(A), y, "unspent"): a_y, (_h(B), y, "unspent"): b_y}
    assert _ends(d) == {k: v for k, v in want.items() if v}
    (conv,) = next(s["conversions"] for s in d["steps"] if s.get("conversions"))
    assert (conv["tainted_in"], conv["tainted_out"], conv["rate"]) == (str(t_in), str(3 * t_in), "3.0")


def test_tornado_pool_under_lifo_by_each_policy(tmp_path) -> None:
    from test_eth_inv_trace_tornado import FIFO as LEADS
    from test_eth_inv_trace_tornado import A as TA
    from test_eth_inv_trace_tornado import B as TB
    from test_eth_inv_trace_tornado import P as TP
    from test_eth_inv_trace_tornado import R as TR
    from test_eth_inv_trace_tornado import X as TX
    from test_eth_inv_trace_tornado import _ends as t_ends
    from test_eth_inv_trace_tornado import _graph as t_graph
    from test_eth_inv_trace_tornado import _hex, _tables

    _tables(tmp_path, LEADS)            # fifo_timing leads: d0 (A's) -> w0 (to B), d1 (C's) -> w1 (to X)
    tr = EthTracer(None, t_graph(), tmp_path)
    src = f"{_tx(1)}:{_hex(TA)}"
    # A's stack: C's 100 then the taint on top: its deposit takes all 100 into the pool (fifo: none).
    # Pool's stack: d0 (tainted) [0,100), d1 [100,200). w0's 98 to B take [102,200), its fee [100,102): clean;
    # w1's 98 to X take [2,100), its fee [0,2): tainted.
    runs = {p: tr.trace(src, EthTraceParams(model="lifo", mixer_policy=p)) for p in ("haircut", "leads", "demix",
                                                                                       "stop")}
    for d in runs.values():
        _check_conservation(d)
    assert t_ends(runs["haircut"]) == {(_hex(TX), "unspent"): 98, (_hex(TR), "unspent"): 2}
    # leads: w1 is paired with C's clean deposit, so its taint ends at X; the relayer's fee ends there
    assert t_ends(runs["leads"]) == {(_hex(TX), "mixer_withdrawal"): 98, (_hex(TR), "relayer_fee"): 2}
    # demix: d0's note (100) goes to its pair w0: B floor(98*100/100) = 98, the relayer 2
    assert t_ends(runs["demix"]) == {(_hex(TB), "unspent"): 98, (_hex(TR), "relayer_fee"): 2}
    assert t_ends(runs["stop"]) == {(_hex(TP), "stopped_mixer"): 100}
    fifo = tr.trace(src, EthTraceParams(model="fifo", mixer_policy="haircut"))
    assert t_ends(fifo) == {(_hex(TA), "unspent"): 100}      # the deposit took C's older 100


def test_backward_is_refused_for_the_line_models(one_asset) -> None:
    with pytest.raises(UsageError, match="backward"):
        one_asset.trace(_h(A), EthTraceParams(model="lifo", direction="backward"))


# -- generated scenario ---------------------------------------------------------------------------------------

def test_every_model_conserves_per_asset_on_a_generated_scenario(tmp_path_factory) -> None:
    from eth_inv_stores import scenario_store

    from chaintrail.analysis.eth.conversions import write_conversions
    from chaintrail.analysis.eth.deposits import write_deposit_addresses
    from chaintrail.store.chainstore import ChainStore

    store, _folder, key = scenario_store(tmp_path_factory, 11, "all", 2)
    with ChainStore(store) as st:
        if not (store / "analysis" / "eth_conversions.parquet").exists():
            write_conversions(st)
            write_deposit_addresses(st)
        tr = EthTracer(st)
        n_conv = 0
        for case in key["cases"]:
            srcs = sorted({f"{s['tx']}:{s['to']}" for s in case["sources"]})
            for model in ("fifo", "lifo", "tiho", "haircut"):
                for policy in ("leads", "demix", "haircut"):
                    d = tr.trace(srcs, EthTraceParams(model=model, max_hops=50, mixer_policy=policy,
                                                      stop_categories=()))
                    _check_conservation(d)
                    assert sum(int(t["traced"]) for t in d["totals"].values()) > 0
                    n_conv += sum(len(s.get("conversions", [])) for s in d["steps"])
        assert n_conv > 0                 # the models carried taint across swaps somewhere
        # backward from where each case's haircut trail reached an exchange, and from its sources
        n_back = 0
        for case in key["cases"]:
            fwd = tr.trace(sorted({f"{s['tx']}:{s['to']}" for s in case["sources"]}), EthTraceParams(max_hops=50))
            ends = [f"{e['txs'][-1]}:{e['address']}" for e in fwd["endpoints"]
                    if e["kind"] in ("tagged", "deposit_address") and e["txs"]][:3]
            for spec in ends + [case["sources"][0]["tx"]]:
                for model in ("haircut", "poison"):
                    for policy in ("leads", "haircut"):
                        try:
                            d = tr.trace(spec, EthTraceParams(direction="backward", model=model, max_hops=50,
                                                              mixer_policy=policy))
                        except UsageError:        # the tx moved nothing to that address
                            continue
                        _check_back(d)
                        n_back += 1
        assert n_back > 10


# -- backward -------------------------------------------------------------------------------------------------

def _back(tr, spec: str, model: str, **kw) -> dict:
    d = tr.trace(spec, EthTraceParams(**{"direction": "backward", "model": model, "max_hops": 10, **kw}))
    _check_back(d)
    return d


def _check_back(d: dict) -> None:
    """Backward accounting: traced = origins (tagged, deposit, minted) + before_store + below + stopped +
    converted, per asset, recomputed from the endpoints."""
    for asset, t in d["totals"].items():
        ends: dict[str, int] = {}
        for e in d["endpoints"]:
            if e["asset"] == asset:
                ends[e["kind"]] = ends.get(e["kind"], 0) + int(e["amount"])
        assert "unspent" not in ends and "burnt" not in ends
        assert int(t["unspent"]) == ends.get("before_store", 0)
        assert int(t["to_endpoints"]) == sum(ends.get(k, 0) for k in ("tagged", "deposit_address", "minted"))
        assert int(t["fees"]) == 0
        total = sum(int(t[k]) for k in ("to_endpoints", "unspent", "below_threshold", "stopped", "converted"))
        assert total == int(t["traced"]), (asset, t)


def test_backward_haircut_and_poison_by_hand(one_asset) -> None:
    # where did B's 200 to D (tx6) come from? B's in-flows before it, latest first, by its balance after each:
    # tx4's 150 (B then 350): floor(150*200/350) = 85 to A; tx3's 200 (B then 200): the other 115 to A.
    # A (200): tx2's 50 (A then 450): floor(50*200/450) = 22 to C; tx1's 100 (400): floor(100*178/400) = 44 to
    # V; tx0's 300 (300): the other 134 to C. C and V have no in-flows: held before the store.
    d = _back(one_asset, f"{_tx(6)}:{_h(D)}", "haircut")
    assert _ends(d) == {(_h(C), "ETH", "before_store"): 156, (_h(V), "ETH", "before_store"): 44}
    assert d["totals"]["ETH"]["traced"] == "200"
    assert [s["tx_hash"] for s in d["steps"]] == [_tx(6), _tx(4), _tx(3), _tx(2), _tx(1), _tx(0)]
    assert d["steps"][0]["rule"].startswith("an in-flow x of an account holding interest P")
    (v,) = [e for e in d["endpoints"] if e["address"] == _h(V)]
    assert v["path"] == [_tx(6), _tx(4), _tx(1)] and v["hops"] == 2       # A reached first by tx4
    # poison: B's 150 then 200 (150 of it absorbed) to A; A's 50, 100, 300 (100 absorbed): C 350, V 100
    p = _back(one_asset, f"{_tx(6)}:{_h(D)}", "poison")
    assert _ends(p) == {(_h(C), "ETH", "before_store"): 350, (_h(V), "ETH", "before_store"): 100}
    assert p["totals"]["ETH"]["absorbed"] == "250" and p["totals"]["ETH"]["traced"] == "450"
    # one hop: A is reached (hop 1) but not followed
    one = _back(one_asset, f"{_tx(6)}:{_h(D)}", "haircut", max_hops=0)
    assert _ends(one) == {(_h(A), "ETH", "stopped_max_hops"): 200}


def test_backward_from_an_address_and_to_a_stop(one_asset, tmp_path) -> None:
    # X's funds: every in-flow it had, tx7's 30 and tx5's 120, both in B's balance. B (150): tx4's 150 (B then
    # 350): floor(150*150/350) = 64 to A, tx3's 200: the other 86. A (150): tx2's 50 (450): floor(50*150/450) =
    # 16 to C; tx1's 100 (400): floor(100*134/400) = 33 to V; tx0: the other 101 to C.
    d = _back(one_asset, _h(X), "haircut")
    assert _ends(d) == {(_h(C), "ETH", "before_store"): 117, (_h(V), "ETH", "before_store"): 33}
    # B a deposit address (a stop): D's 200 came from B, and the trail ends there, as at an exchange
    root = tmp_path / "b"
    _deposit_file(root, [_addr(B)], _addr(P))
    d = _back(EthTracer(None, one_asset.g, root), f"{_tx(6)}:{_h(D)}", "haircut", deposit_stops="all")
    assert _ends(d) == {(_h(B), "ETH", "deposit_address"): 200}
    assert d["totals"]["ETH"]["to_endpoints"] == "200"


def test_backward_across_a_swap_at_the_executed_rate(tmp_path) -> None:
    # where did A's 150 Y to B (tx5) come from? A's Y: the swap's 240 (A then 340): floor(240*150/340) = 105 Y,
    # back across the swap at 80 X per 240 Y: floor(105*80/240) = 35 X at A's input leg; then C's 100 Y (A then
    # 100): the other 45 Y, held by C before the store. A's X (35): V's 50 (A then 100): floor(50*35/100) = 17,
    # C's 50 (A then 50): the other 18.
    tr = _swap_tracer(tmp_path)
    d = _back(tr, f"{_tx(5)}:{_h(B)}", "haircut")
    x, y = _h(TOK_X), _h(TOK_Y)
    assert _ends(d) == {(_h(C), y, "before_store"): 45, (_h(V), x, "before_store"): 17,
                        (_h(C), x, "before_store"): 18}
    assert d["totals"][y]["converted"] == "105" and d["totals"][x]["converted_in"] == "35"
    (conv,) = next(s["conversions"] for s in d["steps"] if s.get("conversions"))
    assert (conv["tainted_out"], conv["tainted_in"], conv["rate"]) == ("105", "35", "3.0")
    assert "backward" in conv["rule"]


def test_backward_through_a_tornado_withdrawal_follows_its_lead(tmp_path) -> None:
    from test_eth_inv_trace_tornado import FIFO as LEADS
    from test_eth_inv_trace_tornado import A as TA
    from test_eth_inv_trace_tornado import B as TB
    from test_eth_inv_trace_tornado import C as TC
    from test_eth_inv_trace_tornado import V as TV
    from test_eth_inv_trace_tornado import X as TX
    from test_eth_inv_trace_tornado import _ends as t_ends
    from test_eth_inv_trace_tornado import _graph as t_graph
    from test_eth_inv_trace_tornado import _hex, _tables

    _tables(tmp_path, LEADS)            # leads pair d0 (A's, tx2) with w0 (to B, tx4)
    tr = EthTracer(None, t_graph(), tmp_path)
    # B's 98 from w0: back to A's deposit (tx2), A's 100 there: C's 100 (A then 100)... A then 200 after V's:
    # V's 100 gives floor(100*98/200) = 49, C's the other 49
    d = _back(tr, f"{_tx(4)}:{_hex(TB)}", "haircut")
    assert t_ends(d) == {(_hex(TV), "before_store"): 49, (_hex(TC), "before_store"): 49}
    # pass-through: the pool is an account; its 200 after C's deposit: floor(100*98/200) = 49 each way
    p = _back(tr, f"{_tx(4)}:{_hex(TB)}", "haircut", mixer_policy="haircut")
    assert sum(p for (a, k), p in t_ends(p).items()) == 98 and (_hex(TC), "before_store") in t_ends(p)
    # w1 (to X) is paired with C's deposit: all of it back to C
    assert t_ends(_back(tr, f"{_tx(5)}:{_hex(TX)}", "haircut")) == {(_hex(TC), "before_store"): 98}
    _ = TA

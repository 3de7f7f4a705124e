"""Conversions: every case swap of the scenario answer keys found with its exact amounts; every swap conversion
equal to its pair's Swap event read independently; WETH wraps; mainnet Uniswap V2/V3 Swap logs decoded by hand;
multi-hop and arbitrage netting worked by hand."""

from __future__ import annotations

import pytest
from eth_etl_fixtures import case, records
from eth_inv_stores import scenario_store

from chaintrail.analysis.eth.conversions import find_conversions, net_swap, write_conversions
from chaintrail.analysis.eth.swap_events import SWAP_V2, SWAP_V3, Hop, SwapLog, Transfer, decode_hops
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

ZERO = bytes(20)


def _h(a: bytes | None) -> str:
    return "ETH" if a is None else "0x" + a.hex()


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


@pytest.fixture(scope="module", params=[11, 9001], ids=["dev-seed-11", "eval-seed-9001"])
def chain(request, tmp_path_factory):
    store, _scenario, key = scenario_store(tmp_path_factory, request.param, fast=request.param < 9000)
    with ChainStore(store) as st:
        table = find_conversions(st)
        hashes = {r["tx_num"]: "0x" + r["hash"].hex()
                  for r in query(st, "SELECT tx_num, hash FROM raw.eth_transactions").to_pylist()}
        logs = query(st, "SELECT tx_num, address, data FROM raw.eth_logs WHERE topic0 = $t", {"t": SWAP_V2})
    return store, key, table.to_pylist(), hashes, logs.to_pylist()


def test_every_case_swap_is_found_with_its_exact_amounts(chain) -> None:
    _store, key, rows, hashes, _logs = chain
    by_hash = {hashes[r["tx_num"]]: r for r in rows if r["kind"] == "swap"}
    swaps = [s for c in key["cases"] for s in c["swaps"]]
    assert len(swaps) >= 2
    for s in swaps:
        r = by_hash[s["tx"]]
        assert (_h(r["asset_in"]), r["amount_in"], _h(r["asset_out"]), r["amount_out"]) == \
               (s["asset_in"], s["amount_in"], s["asset_out"], s["amount_out"]), s["tx"]
        assert (_h(r["trader"]), _h(r["recipient"]), _h(r["venue"])) == (s["from"], s["to"], s["pair"])
        assert r["rate"] == int(s["amount_out"]) / int(s["amount_in"])


def test_every_swap_conversion_equals_its_pairs_swap_event(chain) -> None:
    """Amounts from the Swap log's data words, tokens from the world's pairs ordered as Uniswap sorts them."""
    _store, key, rows, _hashes, logs = chain
    world = key["world"]
    tokens = {**world["stablecoins"], "WETH": world["weth"]}
    pairs = {addr: sorted((tokens[n] for n in name.split("/")), key=lambda a: int(a, 16))
             for name, addr in world["pairs"].items()}
    events = {r["tx_num"]: r for r in logs}
    swaps = [r for r in rows if r["kind"] == "swap"]
    assert len(swaps) >= 100 and {r["tx_num"] for r in swaps} == set(events)
    for r in swaps:
        ev = events[r["tx_num"]]
        t0, t1 = pairs[_h(ev["address"])]
        a0_in, a1_in, a0_out, a1_out = (int.from_bytes(ev["data"][i:i + 32], "big") for i in range(0, 128, 32))
        want_in, want_out = ((t0, a0_in), (t1, a1_out)) if a0_in else ((t1, a1_in), (t0, a0_out))
        weth = world["weth"]
        got_in = (_h(r["asset_in"]).replace("ETH", weth), int(r["amount_in"]))
        got_out = (_h(r["asset_out"]).replace("ETH", weth), int(r["amount_out"]))
        assert (got_in, got_out) == (want_in, want_out), r["tx_num"]
        assert r["venue"] == ev["address"] and r["n_hops"] == 1


def test_wraps_are_conversions_and_the_view_shows_them_in_hex(chain) -> None:
    store, key, rows, _hashes, _logs = chain
    weth = key["world"]["weth"]
    wraps = [r for r in rows if r["kind"] in ("wrap", "unwrap")]
    assert wraps
    for r in wraps:
        assert r["amount_in"] == r["amount_out"] and _h(r["venue"]) == weth
        assert {_h(r["asset_in"]), _h(r["asset_out"])} == {"ETH", weth}
    with ChainStore(store) as st:
        write_conversions(st)
        view = query(st, "SELECT kind, count(*) AS n, min(asset_in) AS a FROM eth_conversions GROUP BY kind "
                         "ORDER BY kind").to_pylist()
        assert {v["kind"]: v["n"] for v in view} == {k: sum(r["kind"] == k for r in rows)
                                                     for k in {r["kind"] for r in rows}}
        assert all(v["a"].startswith(("0x", "ETH")) for v in view)
        assert query(st, "SELECT count(*) AS n FROM eth_conversions WHERE length(transaction_hash) = 66"
                     ).to_pylist() == [{"n": len(rows)}]


# -- mainnet: block 17173049's Uniswap Swap logs -------------------------------------------------------------

@pytest.fixture(scope="module")
def mainnet_hops():
    folder = case("test_stream", "blocks_17173049_17173050")
    logs = [SwapLog(r["transaction_hash"], r["log_index"], _b(r["address"]), _b(r["topics"][0]),
                    _b(r["topics"][1]), _b(r["topics"][2]), len(r["topics"]), _b(r["data"]))
            for r in records(folder / "expected_logs.json")
            if r["topics"] and _b(r["topics"][0]) in (SWAP_V2, SWAP_V3)]
    transfers = [Transfer(r["transaction_hash"], r["log_index"], _b(r["token_address"]), _b(r["from_address"]),
                          _b(r["to_address"]), int(r["value"])) for r in records(folder / "expected_token_transfers.json")]
    hops, skipped = decode_hops(logs, transfers)
    return {(h.tx, h.log_index): h for h in hops}, skipped


def test_mainnet_swap_logs_decode_by_hand(mainnet_hops) -> None:
    hops, skipped = mainnet_hops
    assert skipped == 0 and len(hops) == 79
    assert sum(h.protocol == "uniswap-v3" for h in hops.values()) == 10
    # every pool's tokens found, in Uniswap's order token0 < token1
    assert all(h.token0 is not None and h.token1 is not None and h.token0 < h.token1 for h in hops.values())
    weth = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
    # V2, tx 0xeb107a40..., log 3: amount0In = 0, amount1In = 0x61ec933f00000000 (WETH, token1 of the pair),
    # amount1Out = 0, amount0Out paid to the bot 0x6b75d8af...
    h = hops[("0xeb107a40ba73a50c79a9f2026e902d758d1c5e5e211f7a7db1b294f88f118dd0", 3)]
    assert (h.protocol, _h(h.venue), _h(h.token_in), h.amount_in) == \
           ("uniswap-v2", "0x7054b0f980a7eb5b3a6b3446f3c947d80162775c", weth, 0x61ec933f00000000)
    assert (_h(h.token_out), h.amount_out) == ("0x1ce270557c1f68cfb577b856766310bf8b47fd9c",
                                               150188698577042438264952193024)
    # V3, tx 0xffe1e582..., log 93: amount0 = -(2**256 - 0x...40c7a426a316ae550dfb) paid out (token0 0x7b4328c1...),
    # amount1 = 0x0853a0d2313c0000 paid in (WETH), recipient 0xc89c9252..., sender the V3 router 0x68b34658...
    h = hops[("0xffe1e582dd45870c55b4894e19e366a3979eef27d933117630547bf1c26dc038", 93)]
    out = 2**256 - 0xffffffffffffffffffffffffffffffffffffffffffff40c7a426a316ae550dfb
    assert out == 903011634319514535653893
    assert (h.protocol, _h(h.token_in), h.amount_in, _h(h.token_out), h.amount_out) == \
           ("uniswap-v3", weth, 0x0853a0d2313c0000, "0x7b4328c127b85369d9f82ca0503b000d09cf9180", out)
    assert (_h(h.sender), _h(h.recipient)) == ("0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45",
                                               "0xc89c92526f5b49821bdd137d375a4032a317212f")


def test_malformed_swap_logs_are_skipped_not_raised() -> None:
    word = bytes(12) + b"\x11" * 20
    good = SwapLog("t", 0, b"\x01" * 20, SWAP_V2, word, word, 3, bytes(31) + b"\x05" + bytes(64) + bytes(31) + b"\x07")
    short = SwapLog("t", 1, b"\x01" * 20, SWAP_V2, word, word, 3, bytes(96))
    dirty = SwapLog("t", 2, b"\x01" * 20, SWAP_V3, b"\xff" * 32, word, 3, bytes(160))
    hops, skipped = decode_hops([good, short, dirty], [])
    assert skipped == 2 and [(h.delta0, h.delta1, h.token0) for h in hops] == [(5, -7, None)]


# -- netting, worked by hand ---------------------------------------------------------------------------------

A, B, WETH = b"\xaa" * 20, b"\xbb" * 20, b"\xee" * 20
TRADER, TO, ROUTER, P1, P2 = b"\x01" * 20, b"\x02" * 20, b"\x0f" * 20, b"\x51" * 20, b"\x52" * 20


def test_multi_hop_with_unwrap_nets_to_one_conversion_paid_to_the_recipient() -> None:
    """A -> B on pair 1, B -> WETH on pair 2 to the router, which unwraps and pays ETH to another address."""
    hops = [Hop("t", 3, P1, "uniswap-v2", ROUTER, P2, 100, -50, A, B),
            Hop("t", 6, P2, "uniswap-v2", ROUTER, ROUTER, 50, -7, B, WETH)]
    flows = [("t", "erc20", TRADER, P1, A, "100"), ("t", "erc20", P1, P2, B, "50"),
             ("t", "erc20", P2, ROUTER, WETH, "7"), ("t", "unwrap", ROUTER, ZERO, WETH, "7"),
             ("t", "internal", WETH, ROUTER, None, "7"), ("t", "internal", ROUTER, TO, None, "7")]
    c = net_swap(hops, flows, TRADER)
    assert c is not None
    assert (c["trader"], c["recipient"], c["asset_in"], c["amount_in"], c["asset_out"], c["amount_out"],
            c["n_hops"]) == (TRADER, TO, A, 100, None, 7, 2)
    assert c["evidence"].count("Swap (log") == 2


def test_eth_in_through_a_router_wrap_with_refund_is_eth() -> None:
    hops = [Hop("t", 2, P1, "uniswap-v2", ROUTER, TRADER, 9, -40, WETH, A)]
    flows = [("t", "tx_value", TRADER, ROUTER, None, "10"), ("t", "internal", ROUTER, WETH, None, "9"),
             ("t", "wrap", ZERO, ROUTER, WETH, "9"), ("t", "erc20", ROUTER, P1, WETH, "9"),
             ("t", "erc20", P1, TRADER, A, "40"), ("t", "internal", ROUTER, TRADER, None, "1")]
    c = net_swap(hops, flows, TRADER)
    assert c is not None and (c["asset_in"], c["amount_in"], c["asset_out"], c["amount_out"]) == (None, 9, A, 40)


def test_arbitrage_back_into_the_same_asset_is_no_conversion() -> None:
    hops = [Hop("t", 1, P1, "uniswap-v2", TRADER, TRADER, 10, -30, WETH, A),
            Hop("t", 4, P2, "uniswap-v2", TRADER, TRADER, 30, -12, A, WETH)]
    flows = [("t", "erc20", TRADER, P1, WETH, "10"), ("t", "erc20", P1, TRADER, A, "30"),
             ("t", "erc20", TRADER, P2, A, "30"), ("t", "erc20", P2, TRADER, WETH, "12")]
    assert net_swap(hops, flows, TRADER) is None


def test_a_side_no_transfer_matches_takes_the_pools_other_token_in_uniswap_order() -> None:
    """A fee-on-transfer token reaches the pool short of amount0In: side 0 is the one other token it moved."""
    word = bytes(12) + TRADER
    data = (100).to_bytes(32, "big") + bytes(32) + bytes(32) + (40).to_bytes(32, "big")   # 100 token0 in, 40 token1 out
    log = SwapLog("t", 5, P1, SWAP_V2, word, word, 3, data)
    taxed = Transfer("t", 3, A, TRADER, P1, 97)           # A < B: A is token0
    paid = Transfer("t", 4, B, P1, TRADER, 40)
    (h,), _ = decode_hops([log], [taxed, paid])
    assert (h.token0, h.token1, h.token_in, h.amount_in, h.token_out, h.amount_out) == (A, B, A, 100, B, 40)
    (h,), _ = decode_hops([log], [paid])                    # nothing else moved: side 0 stays unknown
    assert (h.token0, h.token1) == (None, B)

"""Real mainnet stablecoins valued by their issuers' contract addresses (issue 25), over real data.

The 50 USDT and USDC transfers of mainnet blocks 17173049-17173050 (ethereum-etl's recorded answers) are valued
at the real USDT/USD and USDC/USD series (../shared/data/prices) on their block's UTC day, recomputed here with
plain Python from the CSV files. On mainnet a token is priced by its contract address, never by the symbol it
gives itself: a token there calling itself USDT is not valued; only a generated chain (no issuers) falls back on a
unique symbol, and says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from priced_store import priced_store

from chaintrail.analysis.eth.priced_tokens import price_series
from chaintrail.analysis.eth.tokens import Token
from chaintrail.store.prices import PriceBook

USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"   # Tether's published Ethereum contract
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"   # Circle's
FAKE = "0x" + "11" * 20                                # any contract may call itself USDT
STREAM = ("eth", "ethereum-etl-fixtures", "tests", "resources", "test_stream", "blocks_17173049_17173050")


@pytest.fixture(scope="module")
def book(tmp_path_factory, btc_data, shared_data) -> PriceBook:
    return PriceBook.open(priced_store(tmp_path_factory.mktemp("priced-tokens") / "store", btc_data, shared_data,
                                       ("eth_usd_daily.csv", "usdt_usd_daily.csv", "usdc_usd_daily.csv")))


def tok(address: str, symbol: str | None, decimals: int = 6) -> tuple[bytes, Token]:
    return bytes.fromhex(address[2:]), Token(address, None, symbol, decimals)


def closes(path: Path) -> dict[str, float]:
    with open(path) as f:
        return {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}


def test_mainnet_values_the_issuers_contracts_only(book):
    # metadata not read (symbol None) for the real contracts; a look-alike that calls itself USDT
    tokens = dict([tok(USDT, None), tok(USDC, "USDC"), tok(FAKE, "USDT")])
    series, note = price_series(book, tokens, USDT, 1)
    assert series == "USDT" and "Tether" in note and "tether.to" in note
    series, note = price_series(book, tokens, USDC, 1)
    assert series == "USDC" and "Circle" in note and "circle.com" in note
    series, note = price_series(book, tokens, FAKE, 1)
    assert series is None and "not an issuer's published contract" in note
    # a generated chain: the symbol, when unique in the store, is the stated fallback; two USDTs are neither
    series, note = price_series(book, dict([tok(FAKE, "USDT")]), FAKE, 31337)
    assert series == "USDT" and "fallback" in note and "chain 31337" in note
    two = dict([tok(FAKE, "USDT"), tok("0x" + "22" * 20, "usdt")])
    assert price_series(book, two, FAKE, 31337)[0] is None


def test_real_mainnet_stablecoin_transfers_at_their_own_series(book, shared_data):
    folder = shared_data.joinpath(*STREAM)
    rows = [json.loads(x) for x in (folder / "expected_token_transfers.json").read_text().splitlines() if x.strip()]
    moves = [r for r in rows if r["token_address"] in (USDT, USDC)]
    assert len(moves) == 50
    tokens = dict([tok(USDT, None), tok(USDC, None)])      # valued by address alone
    total, at_par = 0, 0
    for r in moves:
        series, _ = price_series(book, tokens, r["token_address"], 1)
        assert series == ("USDT" if r["token_address"] == USDT else "USDC")
        v = book.value(series, np.array([r["value"]], np.int64), np.array([r["block_timestamp"]]), "USD", 6)
        d = dt.datetime.fromtimestamp(r["block_timestamp"], dt.timezone.utc).date().isoformat()
        want = round(r["value"] * closes(shared_data / "prices" / f"{series.lower()}_usd_daily.csv")[d] / 1e6 * 100)
        assert int(v.usd_cents[0]) == want and v.row(0)["day"] == d == "2023-05-02", r["transaction_hash"]
        total += want
        at_par += round(r["value"] / 1e6 * 100)
    assert total != at_par          # a program that takes a stablecoin at 1.00 gives another figure

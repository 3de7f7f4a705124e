"""token_metadata: real recorded eth_call answers of mainnet tokens against ethereum-etl, and odd answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_etl_fixtures import case, columns_to_rows, csv_rows, records, rpc_result

from chaintrail.chains.ethereum import token_metadata as tm
from chaintrail.chains.ethereum.hexutil import selector
from chaintrail.errors import DecodeError


class RecordedCalls:
    """Replays eth_call answers recorded by ethereum-etl (web3_response.eth_call_data_<data>_to_<to>_*.json).

    A call with no recording is answered as a node answers a revert: the error object in its place.
    """

    def __init__(self, folder: Path):
        self.answers = {}
        for path in folder.glob("web3_response.eth_call_data_*.json"):
            m = re.fullmatch(r"web3_response\.eth_call_data_(0x[0-9a-f]{8})_to_(0x[0-9a-f]{40})_latest", path.stem)
            assert m, path.name
            self.answers[(m.group(2), m.group(1))] = rpc_result(path)
        self.asked: list[tuple[tuple[str, str], int]] = []

    def eth_calls(self, items, block):
        self.asked.extend((item, block) for item in items)
        return [self.answers.get(item, RuntimeError("execution reverted")) for item in items]


def _etl_tokens(folder: Path) -> list[dict]:
    return csv_rows(folder / "expected_tokens.csv")


@pytest.mark.parametrize("name", ["token_with_alternative_return_type", "token_with_invalid_data"])
def test_export_tokens_job_cases(name):
    folder = case("test_export_tokens_job", name)
    [want] = _etl_tokens(folder)
    rpc = RecordedCalls(folder)
    rows = columns_to_rows(tm.token_metadata(rpc, [want["address"]], 123))
    [got] = rows
    assert got["address"] == want["address"] and got["block_number"] == 123
    # ethereum-etl's CSV writes None and "" alike as an empty field
    assert (got["symbol"] or "") == want["symbol"] and (got["name"] or "") == want["name"]
    assert got["decimals"] == int(want["decimals"]) and got["total_supply"] == int(want["total_supply"])
    assert all(block == 123 for _, block in rpc.asked)


def test_bytes32_and_nul_padded_tokens_exactly():
    eos = RecordedCalls(case("test_export_tokens_job", "token_with_alternative_return_type"))
    got = columns_to_rows(tm.token_metadata(eos, ["0x86fa049857e0209aa7d9e616f7eb3b3b78ecfdb0"], 1))[0]
    # EOS answers symbol() with a bytes32 "EOS" and name() with 32 zero bytes: an empty name, not a failure,
    # so the upper-case NAME() is not asked
    assert (got["symbol"], got["name"], got["decimals"]) == ("EOS", "", 18)
    assert got["total_supply"] == 10**27
    assert [data for (_, data), _ in eos.asked] == [tm.NAME, tm.SYMBOL, tm.DECIMALS, tm.TOTAL_SUPPLY]
    odd = RecordedCalls(case("test_export_tokens_job", "token_with_invalid_data"))
    got = columns_to_rows(tm.token_metadata(odd, ["0xf763be8b3263c268e9789abfb3934564a7b80054"], 1))[0]
    # an ABI string of length 6 holding "ETH\0\0\0": the NULs dropped, as ethereum-etl does
    assert (got["symbol"], got["name"]) == ("ETH", "ETH")


def test_stream_2112234_token():
    folder = case("test_stream", "blocks_2112234_2112234")
    [want] = records(folder / "expected_tokens.json")
    got = columns_to_rows(tm.token_metadata(RecordedCalls(folder), [want["address"]], want["block_number"]))[0]
    for field in ("address", "symbol", "name", "decimals", "total_supply", "block_number"):
        assert got[field] == want[field], field
    assert (got["name"], got["decimals"]) == ("", 0)  # an empty ABI string and a zero word, both said


def test_selector_constants():
    for const, sig in [(tm.NAME, "name()"), (tm.SYMBOL, "symbol()"), (tm.DECIMALS, "decimals()"),
                       (tm.TOTAL_SUPPLY, "totalSupply()"), (tm.NAME_UPPER, "NAME()"),
                       (tm.SYMBOL_UPPER, "SYMBOL()"), (tm.DECIMALS_UPPER, "DECIMALS()")]:
        assert const == f"0x{selector(sig):08x}", sig


def _word(n: int) -> str:
    return f"{n:064x}"


def _abi_string(raw: bytes, offset: int = 32) -> str:
    padded = raw + bytes(-len(raw) % 32)
    return "0x" + _word(offset) + "00" * (offset - 32) + _word(len(raw)) + padded.hex()


@pytest.mark.parametrize("answer, expected", [
    (_abi_string(b"Maker"), "Maker"),
    (_abi_string("Ünï".encode()), "Ünï"),
    (_abi_string(b"Dai", offset=64), "Dai"),                        # a legal but unusual offset
    ("0x" + b"MKR".hex() + "00" * 29, "MKR"),                       # bytes32
    ("0x" + "00" * 32, ""),
    (_abi_string(b"\xff\xfe"), None),                               # not UTF-8
    ("0x" + b"\xff\xfe".hex() + "00" * 30, None),
    ("0x" + _word(32) + _word(100) + b"short".hex().ljust(64, "0"), None),  # length past the end, 64+ bytes
    ("0x" + "11" * 33, None),                                       # neither shape
    ("0x", None),                                                   # no such function
    ("0xabc", None),                                                # not hex of whole bytes
    (RuntimeError("execution reverted"), None),
    (None, None),
])
def test_decode_string(answer, expected):
    assert tm.decode_string(answer) == expected


@pytest.mark.parametrize("answer, decimals, supply", [
    ("0x" + _word(18), 18, 18),
    ("0x" + _word(255), 255, 255),
    ("0x" + _word(256), None, 256),                                 # not a uint8
    ("0x" + _word(2**256 - 1), None, 2**256 - 1),
    ("0x" + "12", None, None),                                      # shorter than a word
    ("0x", None, None),
    (ValueError("reverted"), None, None),
])
def test_decode_numbers(answer, decimals, supply):
    assert tm.decode_decimals(answer) == decimals
    assert tm.decode_uint(answer) == supply


class Answers:
    """A node whose contract answers are given per (to, data): for the upper-case fallback and bad batches."""

    def __init__(self, answers: dict, drop: int = 0):
        self.answers, self.drop, self.asked = answers, drop, []

    def eth_calls(self, items, block):
        self.asked.append(list(items))
        out = [self.answers.get(item, RuntimeError("execution reverted")) for item in items]
        return out[:len(out) - self.drop]


def test_upper_case_functions_asked_only_where_missing():
    t = "0x" + "aa" * 20
    node = Answers({(t, tm.NAME_UPPER): "0x" + b"OLD".hex() + "00" * 29,
                    (t, tm.SYMBOL): _abi_string(b"OLD"),
                    (t, tm.DECIMALS_UPPER): "0x" + _word(8)})
    got = columns_to_rows(tm.token_metadata(node, [t], 5))[0]
    assert (got["name"], got["symbol"], got["decimals"], got["total_supply"]) == ("OLD", "OLD", 8, None)
    assert node.asked[1] == [(t, tm.NAME_UPPER), (t, tm.DECIMALS_UPPER)]


def test_no_tokens_asks_nothing_and_short_batches_are_refused():
    node = Answers({})
    assert tm.token_metadata(node, [], 5) == {k: [] for k in tm.TOKEN_COLUMNS}
    assert node.asked == []
    with pytest.raises(DecodeError, match=r"eth_call batch gave 3 answers for 4 calls \(block 5\)"):
        tm.token_metadata(Answers({}, drop=1), ["0x" + "aa" * 20], 5)

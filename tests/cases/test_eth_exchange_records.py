"""An exchange's Ethereum reply read strictly (issue 21): 0x hashes, token contracts, amounts in token units
converted exactly with the decimals; hostile files give one `file:line` error per bad row and nothing is read."""

from __future__ import annotations

import pytest

from chaintrail.cases.eth_exchange_records import EthRecordsError, Token, read_eth_legs
from chaintrail.errors import DecodeError

TX = "0x" + "ab" * 32
ACCT = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"      # EIP-55 example address, lower case
ACCT_CS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"   # its checksummed form
USDX = "0x" + "11" * 20
ODD = "0x" + "22" * 20                                   # a token the store does not know
TOKENS = {USDX: Token("USDX", 6)}
HEADER = "transaction_hash,address,token_contract,asset,amount,amount_base_units,decimals,type,date,entity\n"


def read(body: str, tokens=TOKENS):
    return read_eth_legs((HEADER + body).encode(), "reply.csv", tokens)


def test_amounts_in_token_units_become_exact_base_units() -> None:
    legs = read(f"{TX},{ACCT_CS},,ETH,1.5,,,Incoming,2024-01-02,=HYPERLINK(\"x\")\n"
                f"{TX.upper().replace('0X', '0x')},{ACCT},{USDX},USDX,1234.567891,,,Outgoing,,\n"
                f"{TX},{ACCT},{USDX},,0.000001,,6,,,\n"
                f"{TX},{ACCT},{ODD},ODD,,115792089237316195423570985008687907853269984665640564039457584007913129639935,,,,\n"
                f"{TX},{ACCT},,,123456789012345678901234567890.123456789012345678,,,,,\n"
                "\n")
    assert [(x.line, x.asset, x.amount, x.decimals, x.symbol) for x in legs] == [
        (2, "ETH", 15 * 10**17, 18, "ETH"), (3, USDX, 1_234_567_891, 6, "USDX"), (4, USDX, 1, 6, "USDX"),
        (5, ODD, 2**256 - 1, None, "ODD"),
        (6, "ETH", 123456789012345678901234567890123456789012345678, 18, "ETH")]   # beyond float and Decimal's 28 digits
    assert legs[0].address == ACCT and legs[1].tx_hash == TX and legs[0].direction == "Incoming"
    assert legs[0].entity == '=HYPERLINK("x")'          # text, kept as given (exports neutralise it)


def test_every_bad_row_is_named_and_nothing_is_read() -> None:
    good = f"{TX},{ACCT},{USDX},USDX,1,,,,,\n"
    bad = {
        3: (f"{TX[:-2]},{ACCT},,,1,,,,,\n", "is not an Ethereum transaction hash"),
        4: (f"{'ab' * 32},{ACCT},,,1,,,,,\n", "is not an Ethereum transaction hash"),                 # a Bitcoin txid
        5: (f"{TX},{ACCT_CS.replace('aA', 'Aa')},,,1,,,,,\n", "fails its EIP-55 checksum"),
        6: (f"{TX},{ACCT},,USDT,1,,,,,\n", "named by symbol only"),
        7: (f"{TX},{ACCT},{USDX},USDX,1.0000001,,,,,\n", "more decimal places than the asset's 6"),
        8: (f"{TX},{ACCT},{USDX},USDX,-1,,,,,\n", "not a plain decimal number"),
        9: (f"{TX},{ACCT},{USDX},USDX,1e6,,,,,\n", "not a plain decimal number"),
        10: (f"{TX},{ACCT},{USDX},USDX,\"1,000\",,,,,\n", "not a plain decimal number"),
        11: (f"{TX},{ACCT},{USDX},USDX,NaN,,,,,\n", "not a plain decimal number"),
        12: (f"{TX},{ACCT},{USDX},USDX,1,,18,,,\n", "decimals 18 but the contract"),
        13: (f"{TX},{ACCT},{USDX},USDT,1,,,,,\n", "symbol 'USDT' but the contract"),
        14: (f"{TX},{ACCT},{ODD},,1,,,,,\n", "decimals of token"),
        15: (f"{TX},{ACCT},{USDX},,1,2,,,,\n", "disagree at 6 decimals"),
        16: (f"{TX},{ACCT},,,,{2**256},,,,\n", "more than a uint256"),
        17: (f"{TX},{ACCT},,,1,,,\n", "8 fields, the header has 10"),
        18: (f"{TX},,,,1,,,,,\n", "no address"),
        19: (f"{TX}\u202e,{ACCT},,,1,,,,,\n", "is not an Ethereum transaction hash"),                  # bidi override
        20: (f"{TX},{ACCT},,,\uff11,,,,,\n", "not a plain decimal number"),                             # fullwidth 1
        21: (f"{TX},{ACCT},,ETH,1,,6,,,\n", "ETH has 18"),
        22: (f"{TX},{ACCT},,,1,,99,,,\n", "from 0 to 77"),
    }
    with pytest.raises(EthRecordsError) as err:
        read(good + "".join(b for b, _ in bad.values()) + good)
    probs = err.value.problems
    assert len(probs) == len(bad)                          # one per bad row, the good rows not among them
    for (line, (_, words)), p in zip(bad.items(), probs):
        assert p.startswith(f"reply.csv:{line}: ") and words in p, (line, p)
    assert err.value.source == "reply.csv" and str(err.value).startswith(f"{len(bad)} bad rows in")
    assert "\n" not in str(err.value)                      # one line for the CLI


def test_bad_rows_are_named_in_the_readers_language() -> None:
    from chaintrail.i18n import use_language

    rows = f"{TX},{ACCT_CS.replace('aA', 'Aa')},,,1,,,,,\n{TX},{ACCT},{USDX},USDT,1,,,,,\n{TX},{ACCT},,,1,,,\n"
    with use_language("uk"), pytest.raises(EthRecordsError) as err:
        read(rows)
    assert err.value.problems == [
        f"reply.csv:2: адреса {ACCT_CS.replace('aA', 'Aa')} не проходить перевірку контрольної суми EIP-55 "
        "(помилка в написанні?)",
        f"reply.csv:3: символ 'USDT', але контракт {USDX} у сховищі — 'USDX'",
        "reply.csv:4: полів: 8, а в заголовку: 10"]
    assert str(err.value).startswith("3 хибні рядки в записах біржі щодо Ethereum, нічого не імпортовано: ")
    with use_language("uk"), pytest.raises(EthRecordsError, match="^1 хибний рядок у записах"):
        read(f"{TX},,,,1,,,,,\n")
    with pytest.raises(EthRecordsError, match=r"^1 bad row in the Ethereum exchange records, none imported: "
                                              r"reply.csv:2: no address \(reply.csv\)$"):
        read(f"{TX},,,,1,,,,,\n")


def test_multiline_quoted_rows_keep_their_start_line_and_a_broken_quote_stops() -> None:
    legs = read(f"{TX},{ACCT},,,1,,,,,\"two\nline note\"\n{TX},{ACCT},,,2,,,,,\n")
    assert [x.line for x in legs] == [2, 4] and legs[0].entity == "two\nline note"
    with pytest.raises(EthRecordsError) as err:
        read(f"{TX},{ACCT},,,1,,,,,\"open\" quote\"\n")
    assert err.value.problems[0].startswith("reply.csv:2: not CSV")
    with pytest.raises(EthRecordsError, match="reply.csv:2: field 10 is 20,000 characters long"):
        read(f"{TX},{ACCT},,,1,,,,,{'x' * 20_000}\n")


@pytest.mark.parametrize("data,words", [
    (b"", "file is empty"), (b"\xff\xfe" + HEADER.encode("utf-16-le"), "not UTF-8"),
    (b"txid,foo\n", "lack column(s) address, amount"),
])
def test_unreadable_files_are_refused(data, words) -> None:
    with pytest.raises(DecodeError) as err:
        read_eth_legs(data, "reply.csv")
    assert words in str(err.value) and err.value.source == "reply.csv"

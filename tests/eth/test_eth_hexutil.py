"""hexutil: strict hex decoding, keccak-256 and EIP-55 against published vectors."""

from __future__ import annotations

import pytest

from chaintrail.chains.ethereum import hexutil as hx
from chaintrail.errors import DecodeError


def test_keccak256_vectors():
    # keccak-256 of the empty string, and the ERC-20 Transfer topic (both well known constants)
    assert hx.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert hx.event_topic("Transfer(address,address,uint256)") == (
        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
    assert hx.selector("transfer(address,uint256)") == 0xA9059CBB
    assert hx.selector("balanceOf(address)") == 0x70A08231


# the test vectors of EIP-55 itself
EIP55 = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("addr", EIP55)
def test_checksum_address_eip55_vectors(addr):
    assert hx.checksum_address(addr.lower()) == addr
    assert hx.is_checksum_address(addr)


def test_checksum_detects_one_wrong_case():
    bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"  # last letter's case flipped
    assert not hx.is_checksum_address(bad)
    assert not hx.is_checksum_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA")  # 19 bytes


def test_hex_int_and_bytes():
    assert hx.hex_int("0x0", "gas") == 0
    assert hx.hex_int("0x3814695e26625c000", "value") == 64655529900000002048
    assert hx.hex_int(1000690, "blockNumber") == 1000690  # parity sends some fields as JSON numbers
    assert hx.hex_int("0x" + "f" * 64, "value") == 2**256 - 1
    assert hx.hex_bytes("0x", "input") == b""
    assert hx.hex_bytes("0x00ff", "input") == b"\x00\xff"
    assert hx.address("0xAF21E07E5A929D16026A7B4D88F3906A8D2E4942", "from") == (
        "0xaf21e07e5a929d16026a7b4d88f3906a8d2e4942")
    assert hx.opt_address(None, "to") is None


@pytest.mark.parametrize("bad", ["0x", "1a", "0x1_0", "0x 10", "0x10 ", "0xg", "", None, True, -1, 1.5, "0X10"])
def test_hex_int_rejects_with_field_name(bad):
    with pytest.raises(DecodeError, match=r"^gasUsed: not a 0x hex quantity"):
        hx.hex_int(bad, "gasUsed")


@pytest.mark.parametrize("bad", ["0x0", "00", "0x00 11", "0xzz", None, 5])
def test_hex_bytes_rejects_with_field_name(bad):
    with pytest.raises(DecodeError, match=r"^input: not 0x hex data"):
        hx.hex_bytes(bad, "input")


@pytest.mark.parametrize("bad", ["0x1234", "0x" + "0" * 41, "af21e07e5a929d16026a7b4d88f3906a8d2e4942aa", 7])
def test_address_rejects(bad):
    with pytest.raises(DecodeError, match=r"^refundAddress: not a 20-byte 0x address"):
        hx.address(bad, "refundAddress")


def test_error_located_by_caller():
    try:
        hx.hex_int("0xnope", "value")
    except DecodeError as err:
        located = err.at("trace_block 1000690 tx 0xabc")
    assert str(located) == "value: not a 0x hex quantity: '0xnope' (trace_block 1000690 tx 0xabc)"
    long = "0x" + "z" * 200
    with pytest.raises(DecodeError) as info:
        hx.hex_int(long, "value")
    assert len(str(info.value)) < 100  # a huge bad value is shown cut short, still one line

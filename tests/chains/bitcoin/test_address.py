"""Addresses: BIP-173/350 and Bitcoin Core vectors, real mainnet scripts, batch == reference."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrail.chains.bitcoin.address import (
    Encoding,
    _ripemd160_py,
    address_to_script,
    base58_decode,
    base58_encode,
    base58check_decode,
    base58check_encode,
    bech32_decode,
    bech32_encode,
    classify_script,
    hash160,
    multisig_keys,
    ripemd160,
    script_address,
    segwit_decode,
    segwit_encode,
)
from chaintrail.chains.bitcoin.address_batch import encode_base58check_batch, encode_segwit_batch
from chaintrail.chains.bitcoin.network import MAINNET, NETWORKS, REGTEST, SIGNET, TESTNET
from chaintrail.chains.bitcoin.script_types import ScriptType
from chaintrail.errors import AddressError

VECTORS = Path(__file__).resolve().parent / "vectors"
BIP173 = json.loads((VECTORS / "bip173.json").read_text())
BIP350 = json.loads((VECTORS / "bip350.json").read_text())
B58 = json.loads((VECTORS / "base58_encode_decode.json").read_text())["vectors"]
KEY_IO_VALID = json.loads((VECTORS / "key_io_valid.json").read_text())["vectors"]
KEY_IO_INVALID = json.loads((VECTORS / "key_io_invalid.json").read_text())["vectors"]
NET_BY_HRP = {"bc": MAINNET, "tb": TESTNET}

GENESIS_KEY = bytes.fromhex(
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb6"
    "49f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f")
HAL_KEY = bytes.fromhex(  # block 170: the first person-to-person payment, to Hal Finney
    "04ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414"
    "e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84c")
G1 = bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
G2 = bytes.fromhex("02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5")


def p2pk(key: bytes) -> bytes:
    return bytes([len(key)]) + key + b"\xac"


# --- bech32 / bech32m strings ------------------------------------------------------------

@pytest.mark.parametrize("s,enc", [(s, Encoding.BECH32) for s in BIP173["valid_bech32"]]
                         + [(s, Encoding.BECH32M) for s in BIP350["valid_bech32m"]])
def test_valid_bech32_strings(s: str, enc: Encoding) -> None:
    hrp, data, got = bech32_decode(s)
    assert got == enc
    assert bech32_encode(hrp, data, enc) == s.lower()
    # One flipped bit in the first data symbol must break the checksum.
    pos = s.rfind("1")
    broken = s[:pos + 1] + chr(ord(s[pos + 1]) ^ 1) + s[pos + 2:]
    with pytest.raises(AddressError):
        bech32_decode(broken)


@pytest.mark.parametrize("case", BIP173["invalid_bech32"] + BIP350["invalid_bech32m"],
                         ids=lambda c: ascii(c["string"]))
def test_invalid_bech32_strings(case: dict) -> None:
    with pytest.raises(AddressError) as exc:
        bech32_decode(case["string"])
    assert case["error"] in str(exc.value), case["reason"]


def test_vector_counts() -> None:
    # The complete lists from the two BIPs: a dropped vector fails here.
    assert [len(BIP173[k]) for k in ("valid_bech32", "invalid_bech32", "valid_address",
                                     "invalid_address")] == [7, 12, 6, 10]
    assert [len(BIP350[k]) for k in ("valid_bech32m", "invalid_bech32m", "valid_address",
                                     "invalid_address", "invalid_address_enc")] == [7, 14, 8, 15, 5]


# --- segwit addresses --------------------------------------------------------------------

@pytest.mark.parametrize("case", BIP350["valid_address"], ids=lambda c: c["address"][:14])
def test_valid_segwit_addresses(case: dict) -> None:
    addr, script = case["address"], bytes.fromhex(case["script"])
    net = NET_BY_HRP[addr[:2].lower()]
    ver, prog = segwit_decode(net.hrp, addr)
    assert bytes([ver + 0x50 if ver else 0, len(prog)]) + prog == script
    assert segwit_encode(net.hrp, ver, prog) == addr.lower()
    assert address_to_script(addr, net) == script
    assert script_address(script, net)[1] == addr.lower()


def test_bip173_addresses_under_bip350() -> None:
    # v0 vectors still decode; BIP-350 made the bech32-checksummed v1+ ones invalid.
    for case in BIP173["valid_address"]:
        addr = case["address"]
        hrp = addr[:2].lower()
        if case["script"].startswith("00"):
            ver, prog = segwit_decode(hrp, addr)
            assert bytes([0, len(prog)]) + prog == bytes.fromhex(case["script"])
        else:
            with pytest.raises(AddressError, match="needs the bech32m checksum, not bech32"):
                segwit_decode(hrp, addr)


@pytest.mark.parametrize("case", BIP173["invalid_address"] + BIP350["invalid_address"],
                         ids=lambda c: c["address"][:14])
def test_invalid_segwit_addresses(case: dict) -> None:
    for hrp in ("bc", "tb"):
        with pytest.raises(AddressError) as exc:
            segwit_decode(hrp, case["address"])
        if hrp == case["hrp"]:
            assert case["error"] in str(exc.value), case["reason"]
    for net in (MAINNET, TESTNET):
        with pytest.raises(AddressError, match="address"):
            address_to_script(case["address"], net)


@pytest.mark.parametrize("case", BIP350["invalid_address_enc"], ids=str)
def test_invalid_segwit_encodings(case: dict) -> None:
    with pytest.raises(AddressError):
        segwit_encode(case["hrp"], case["witver"], bytes(case["length"]))


# --- Base58 ------------------------------------------------------------------------------

@pytest.mark.parametrize("hexdata,text", B58, ids=lambda v: v[:12])
def test_base58_vectors(hexdata: str, text: str) -> None:
    assert base58_encode(bytes.fromhex(hexdata)) == text
    assert base58_decode(text) == bytes.fromhex(hexdata)


def test_base58check_errors() -> None:
    good = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    h160 = bytes.fromhex("62e907b15cbf27d5425399ebf6f0fb50ebb88f18")
    assert base58check_decode(good) == (0, h160)
    with pytest.raises(AddressError, match="checksum"):
        base58check_decode("1A1zP1eP5QGefi2DMPTfTL5SNmv7DivfNa")  # one letter changed
    with pytest.raises(AddressError, match="invalid base58 character '0'"):
        base58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7Divf0a")
    with pytest.raises(AddressError, match="too short"):
        base58check_decode("1111")


# --- Bitcoin Core key_io vectors ---------------------------------------------------------

@pytest.mark.parametrize("case", KEY_IO_VALID, ids=lambda c: c["address"][:14])
def test_core_valid_addresses(case: dict) -> None:
    net, script = NETWORKS[case["network"]], bytes.fromhex(case["script"])
    assert address_to_script(case["address"], net) == script
    assert script_address(script, net)[1] == case["address"]
    if case["address"][0] not in "123mn":  # bech32: Core also accepts the all-caps form
        assert address_to_script(case["address"].upper(), net) == script


def test_core_invalid_addresses() -> None:
    assert len(KEY_IO_INVALID) == 70
    for s in KEY_IO_INVALID:
        for net in NETWORKS.values():
            with pytest.raises(AddressError):
                address_to_script(s, net)


def test_wrong_network_names_the_address() -> None:
    with pytest.raises(AddressError, match="'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'.*'tb'"):
        address_to_script("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", TESTNET)
    with pytest.raises(AddressError, match="'1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'.*byte 0x00"):
        address_to_script("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", SIGNET)
    with pytest.raises(AddressError, match="'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx'.*'bcrt'"):
        address_to_script("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", REGTEST)
    assert address_to_script("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", SIGNET).hex() == \
        "0014751e76e8199196d454941c45d1b3a323f1433bd6"
    with pytest.raises(AddressError, match="1000 characters"):
        address_to_script("1" * 1000, MAINNET)


# --- known scripts -----------------------------------------------------------------------

def test_genesis_coinbase_in_real_block_file(btc_data: Path) -> None:
    raw = (btc_data / "mainnet" / "core-blocks-0-599" / "blk00000.dat").read_bytes()
    assert raw[:4] == MAINNET.magic
    size = int.from_bytes(raw[4:8], "little")
    block = raw[8:8 + size]
    header_hash = hashlib.sha256(hashlib.sha256(block[:80]).digest()).digest()
    assert header_hash[::-1].hex() == MAINNET.genesis_hash
    script = block[-4 - 67:-4]  # the only output's script, just before the lock time
    assert script == p2pk(GENESIS_KEY)
    assert classify_script(script) == (ScriptType.P2PK, GENESIS_KEY, -1)
    assert hash160(GENESIS_KEY).hex() == "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"
    assert script_address(script, MAINNET) == (ScriptType.P2PK,
                                                "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
    assert script_address(script, TESTNET)[1] == "mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt"


def test_hal_finney_payment_in_real_block_file(btc_data: Path) -> None:
    raw = (btc_data / "mainnet" / "core-blocks-0-599" / "blk00000.dat").read_bytes()
    assert raw.count(p2pk(HAL_KEY)) == 1  # block 170's 10 BTC output
    assert script_address(p2pk(HAL_KEY), MAINNET)[1] == "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"


def test_script_kinds() -> None:
    h20 = bytes(range(20))
    h32 = bytes(range(32))
    cases = [
        ("76a914" + h20.hex() + "88ac", ScriptType.P2PKH, h20, -1),
        ("a914" + h20.hex() + "87", ScriptType.P2SH, h20, -1),
        ("0014" + h20.hex(), ScriptType.P2WPKH, h20, 0),
        ("0020" + h32.hex(), ScriptType.P2WSH, h32, 0),
        ("5120" + h32.hex(), ScriptType.P2TR, h32, 1),
        ("51024e73", ScriptType.WITNESS_UNKNOWN, bytes.fromhex("4e73"), 1),  # pay-to-anchor
        ("5114" + h20.hex(), ScriptType.WITNESS_UNKNOWN, h20, 1),
        ("6028" + bytes(40).hex(), ScriptType.WITNESS_UNKNOWN, bytes(40), 16),
        ("0010" + bytes(16).hex(), ScriptType.NONSTANDARD, bytes.fromhex("0010") + bytes(16), -1),
        ("5129" + bytes(41).hex(), ScriptType.NONSTANDARD, bytes.fromhex("5129") + bytes(41), -1),
        ("6a04deadbeef", ScriptType.OP_RETURN, bytes.fromhex("04deadbeef"), -1),
        ("6a", ScriptType.OP_RETURN, b"", -1),
        ("", ScriptType.NONSTANDARD, b"", -1),
        ("21" + G1.hex() + "ac", ScriptType.P2PK, G1, -1),
        ("2105" + G1[1:].hex() + "ac", ScriptType.NONSTANDARD,
         bytes.fromhex("2105") + G1[1:] + b"\xac", -1),
    ]
    for hexs, kind, payload, ver in cases:
        assert classify_script(bytes.fromhex(hexs)) == (kind, payload, ver), hexs
    assert script_address(bytes.fromhex("51024e73"), MAINNET)[1] == "bc1pfeessrawgf"
    assert script_address(bytes.fromhex("6a04deadbeef"), MAINNET) == (ScriptType.OP_RETURN, None)


def test_bare_multisig() -> None:
    script = bytes.fromhex("51" + "21" + G1.hex() + "21" + G2.hex() + "52ae")
    kind, payload, ver = classify_script(script)
    assert (kind, payload, ver) == (ScriptType.MULTISIG, script, -1)
    assert multisig_keys(script) == (1, [G1, G2])
    assert script_address(script, MAINNET)[1] == \
        "multi(1,1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH,1cMh228HTCiwS8ZsaakH8A8wze1JR5ZsP)"
    two_of_two = bytes.fromhex("52" + "41" + GENESIS_KEY.hex() + "21" + G2.hex() + "52ae")
    assert multisig_keys(two_of_two) == (2, [GENESIS_KEY, G2])
    for bad in ("53" + "21" + G1.hex() + "21" + G2.hex() + "52ae",   # m > n
                "51" + "21" + G1.hex() + "21" + G2.hex() + "53ae",   # n != key count
                "51" + "20" + G1[1:].hex() + "51ae",                # 32-byte key
                "51" + "21" + G1.hex() + "51" + "ae00"):            # trailing byte
        assert classify_script(bytes.fromhex(bad))[0] == ScriptType.NONSTANDARD, bad
        with pytest.raises(AddressError, match="not bare multisig"):
            multisig_keys(bytes.fromhex(bad))


def test_ripemd160_fallback() -> None:
    known = {b"": "9c1185a5c5e9fc54612808977ee8f548b2258d31",
             b"abc": "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
             b"message digest": "5d0689ef49d2fae572b881b123a85ffa21595f36",
             b"a": "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe",
             b"abcdefghijklmnopqrstuvwxyz": "f71c27109c692c1b56bbdceb5b9d2865b3708dbc",
             b"1234567890" * 8: "9b752e45573d4b39f4dbd3323cab82bf63326bfb"}
    for msg, digest in known.items():
        assert _ripemd160_py(msg).hex() == digest
        assert ripemd160(msg).hex() == digest
    for n in (55, 56, 63, 64, 65, 119, 120):
        msg = bytes(range(n))
        assert _ripemd160_py(msg) == ripemd160(msg)


# --- property tests ----------------------------------------------------------------------

network_st = st.sampled_from(list(NETWORKS.values()))
witness_st = st.one_of(
    st.tuples(st.just(0), st.binary(min_size=20, max_size=20)),
    st.tuples(st.just(0), st.binary(min_size=32, max_size=32)),
    st.tuples(st.integers(1, 16), st.binary(min_size=2, max_size=40)))


@given(net=network_st, p2sh=st.booleans(), payload=st.binary(min_size=20, max_size=20))
def test_base58_round_trip(net, p2sh: bool, payload: bytes) -> None:
    version = net.p2sh_prefix if p2sh else net.p2pkh_prefix
    addr = base58check_encode(version, payload)
    assert base58check_decode(addr) == (version, payload)
    script = address_to_script(addr, net)
    assert classify_script(script) == (ScriptType.P2SH if p2sh else ScriptType.P2PKH, payload, -1)
    assert script_address(script, net)[1] == addr


@given(net=network_st, wit=witness_st)
def test_segwit_round_trip(net, wit: tuple[int, bytes]) -> None:
    ver, prog = wit
    addr = segwit_encode(net.hrp, ver, prog)
    assert segwit_decode(net.hrp, addr) == (ver, prog)
    assert segwit_decode(net.hrp, addr.upper()) == (ver, prog)
    _, payload, got_ver = classify_script(address_to_script(addr, net))
    assert (got_ver, payload) == (ver, prog)


def _near_valid(draw_bytes: bytes, template: bytes, cut: int, flip: int) -> bytes:
    # A real template, truncated, extended or with one byte replaced: reaches every branch.
    s = bytearray(template + draw_bytes)
    if s and flip >= 0:
        s[flip % len(s)] = draw_bytes[0] if draw_bytes else 0
    return bytes(s[:cut]) if cut >= 0 else bytes(s)


TEMPLATES = [bytes.fromhex(h) for h in (
    "76a914" + "11" * 20 + "88ac", "a914" + "22" * 20 + "87", "0014" + "33" * 20,
    "5120" + "44" * 32, "21" + G1.hex() + "ac", "41" + GENESIS_KEY.hex() + "ac",
    "51" + "21" + G1.hex() + "21" + G2.hex() + "52ae", "6a", "")]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=120),
    st.builds(_near_valid, st.binary(max_size=8), st.sampled_from(TEMPLATES),
              st.integers(-1, 80), st.integers(-1, 80))))
def test_classify_never_raises(script: bytes) -> None:
    kind, payload, ver = classify_script(script)
    assert isinstance(kind, ScriptType)
    expected_len = {ScriptType.P2PKH: 20, ScriptType.P2SH: 20, ScriptType.P2WPKH: 20,
                    ScriptType.P2WSH: 32, ScriptType.P2TR: 32}
    if kind in expected_len:
        assert len(payload) == expected_len[kind]
    if kind in (ScriptType.NONSTANDARD, ScriptType.MULTISIG):
        assert payload == script
    assert (ver >= 0) == (kind in (ScriptType.P2WPKH, ScriptType.P2WSH, ScriptType.P2TR,
                                   ScriptType.WITNESS_UNKNOWN))
    kind2, addr = script_address(script, MAINNET)
    assert kind2 == kind
    assert (addr is None) == (kind in (ScriptType.NONSTANDARD, ScriptType.OP_RETURN))
    if addr is not None and kind != ScriptType.MULTISIG:
        assert address_to_script(addr, MAINNET) == (
            b"\x76\xa9\x14" + hash160(payload) + b"\x88\xac" if kind == ScriptType.P2PK else script)


# --- batch encoders == reference ---------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.binary(min_size=20, max_size=20)),
                min_size=1, max_size=200))
def test_base58check_batch_matches_reference(rows: list[tuple[int, bytes]]) -> None:
    versions = np.array([v for v, _ in rows], dtype=np.uint8)
    payloads = np.frombuffer(b"".join(p for _, p in rows), dtype=np.uint8).reshape(-1, 20)
    got = encode_base58check_batch(versions, payloads).to_pylist()
    assert got == [base58check_encode(v, p) for v, p in rows]


@settings(max_examples=40, deadline=None)
@given(hrp=st.sampled_from(["bc", "tb", "bcrt", "a"]),
       rows=st.lists(witness_st, min_size=1, max_size=200), junk=st.integers(0, 255))
def test_segwit_batch_matches_reference(hrp: str, rows: list[tuple[int, bytes]], junk: int) -> None:
    witvers = np.array([v for v, _ in rows], dtype=np.uint8)
    lengths = np.array([len(p) for _, p in rows], dtype=np.uint8)
    programs = np.full((len(rows), 40), junk, dtype=np.uint8)  # bytes past each length are ignored
    for i, (_, p) in enumerate(rows):
        programs[i, :len(p)] = np.frombuffer(p, dtype=np.uint8)
    got = encode_segwit_batch(hrp, witvers, programs, lengths).to_pylist()
    assert got == [segwit_encode(hrp, v, p) for v, p in rows]


def test_batches_on_many_random_rows() -> None:
    rng = np.random.default_rng(20090103)
    n = 5000
    versions = rng.choice(np.array([0, 5, 0x6F, 0xC4], dtype=np.uint8), n)
    payloads = rng.integers(0, 256, (n, 20), dtype=np.uint8)
    payloads[:40, : rng.integers(0, 21)] = 0  # leading zero bytes become leading '1's
    versions[:40] = 0
    b58 = encode_base58check_batch(versions, payloads)
    assert b58.to_pylist() == [base58check_encode(int(v), p.tobytes())
                               for v, p in zip(versions, payloads)]
    witvers = rng.integers(0, 17, n).astype(np.uint8)
    lengths = rng.integers(2, 41, n).astype(np.uint8)
    v0 = witvers == 0
    lengths[v0] = rng.choice(np.array([20, 32], dtype=np.uint8), int(v0.sum()))
    programs = rng.integers(0, 256, (n, 40), dtype=np.uint8)
    seg = encode_segwit_batch("bc", witvers, programs, lengths)
    assert seg.to_pylist() == [segwit_encode("bc", int(v), p[:ln].tobytes())
                               for v, p, ln in zip(witvers, programs, lengths)]


def test_batch_edges() -> None:
    zero = encode_base58check_batch(np.zeros(1, np.uint8), np.zeros((1, 20), np.uint8))
    assert zero.to_pylist() == ["1111111111111111111114oLvT2"]
    assert len(encode_base58check_batch(np.zeros(0, np.uint8), np.zeros((0, 20), np.uint8))) == 0
    assert len(encode_segwit_batch("bc", np.zeros(0, np.uint8), np.zeros((0, 40), np.uint8),
                                   np.zeros(0, np.uint8))) == 0
    progs = np.zeros((2, 40), np.uint8)
    with pytest.raises(AddressError, match="row 1: witness v0 program of 21 bytes"):
        encode_segwit_batch("bc", np.zeros(2, np.uint8), progs, np.array([20, 21], np.uint8))
    with pytest.raises(AddressError, match="row 0: witness v17"):
        encode_segwit_batch("bc", np.array([17], np.uint8), progs[:1], np.array([32], np.uint8))
    with pytest.raises(AddressError, match="human-readable part"):
        encode_segwit_batch("BC", np.zeros(1, np.uint8), progs[:1], np.array([20], np.uint8))
    with pytest.raises(ValueError, match="outside 0..255"):
        encode_base58check_batch(np.array([256]), np.zeros((1, 20), np.uint8))
    with pytest.raises(ValueError, match=r"payloads \(n, 20\)"):
        encode_base58check_batch(np.zeros(2, np.uint8), np.zeros((2, 21), np.uint8))

"""The numba script classifier agrees with the pure-Python reference, on real and generated scripts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.chains.bitcoin.address import classify_script, hash160
from chaintrail.chains.bitcoin.parse import parse_blocks
from chaintrail.chains.bitcoin.script_types import ScriptType
from chaintrail.chains.bitcoin.scripts import KEY_WIDTH, address_keys, classify_scripts

BTC = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "btc"
MAGICS = (bytes.fromhex("f9beb4d9"), bytes.fromhex("0b110907"))


def real_output_scripts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every output script of every real raw block, as (buffer, offsets, lengths)."""
    bufs, offs, lens, base = [], [], [], 0
    for p in sorted(BTC.glob("*/raw/*.raw")):
        if p.stem.endswith("-undo") or p.name.startswith("tx-"):
            continue
        raw = p.read_bytes()
        if raw[:4] in MAGICS:
            raw = raw[8:]
        lay = parse_blocks(np.frombuffer(raw, np.uint8), np.array([0]), np.array([len(raw)]))
        bufs.append(raw)
        offs.append(lay.out_script + base)
        lens.append(lay.out_script_len)
        base += len(raw)
    return np.frombuffer(b"".join(bufs), np.uint8), np.concatenate(offs), np.concatenate(lens)


def packed(scripts: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # One junk byte between scripts so a classifier reading past a script's end sees garbage.
    buf = b"".join(s + b"\xac" for s in scripts) + b"\xae"
    lens = np.array([len(s) for s in scripts], np.int64)
    offs = np.concatenate(([0], np.cumsum(lens + 1)[:-1])).astype(np.int64)
    return np.frombuffer(buf, np.uint8), offs, lens


def assert_agree(buf: np.ndarray, offs: np.ndarray, lens: np.ndarray) -> list[ScriptType]:
    types, poffs, plens, wvers = classify_scripts(buf, offs, lens)
    seen = []
    for i in range(len(offs)):
        script = buf[offs[i]:offs[i] + lens[i]].tobytes()
        kind, payload, ver = classify_script(script)
        got = (int(types[i]), buf[poffs[i]:poffs[i] + plens[i]].tobytes(), int(wvers[i]))
        assert got == (int(kind), payload, ver), script.hex()
        seen.append(kind)
    return seen


def test_real_output_scripts_agree():
    buf, offs, lens = real_output_scripts()
    kinds = assert_agree(buf, offs, lens)
    counts = {k: kinds.count(k) for k in set(kinds)}
    assert len(kinds) == 67802  # every output of the README's blocks
    # The real data exercises every common type.
    for k in (ScriptType.P2PK, ScriptType.P2PKH, ScriptType.P2SH, ScriptType.P2WPKH, ScriptType.P2WSH,
              ScriptType.MULTISIG, ScriptType.OP_RETURN, ScriptType.NONSTANDARD):
        assert counts.get(k, 0) > 0, k


# -- generated scripts ------------------------------------------------------------------

def _push(data: bytes) -> bytes:
    return bytes([len(data)]) + data


pubkeys = st.one_of(
    st.builds(lambda p, x: bytes([p]) + x, st.sampled_from([2, 3]), st.binary(min_size=32, max_size=32)),
    st.builds(lambda p, x: bytes([p]) + x, st.sampled_from([4, 6, 7]), st.binary(min_size=64, max_size=64)),
    # Wrong prefix or length: never a valid key.
    st.builds(lambda p, x: bytes([p]) + x, st.sampled_from([0, 1, 5, 8, 0xff]),
              st.sampled_from([32, 64]).flatmap(lambda n: st.binary(min_size=n, max_size=n))),
    st.binary(min_size=0, max_size=70),
)
hash20 = st.binary(min_size=20, max_size=20)
hash32 = st.binary(min_size=32, max_size=32)


@st.composite
def multisig(draw) -> bytes:
    keys = draw(st.lists(pubkeys, min_size=0, max_size=4))
    n = draw(st.sampled_from([len(keys), len(keys), max(len(keys) - 1, 0), len(keys) + 1]))
    m = draw(st.integers(0, max(n + 1, 1)))
    op = lambda k: 0x50 + k if 1 <= k <= 16 else k  # noqa: E731
    return bytes([op(m)]) + b"".join(_push(k) for k in keys) + bytes([op(n), 0xAE])


@st.composite
def witness_program(draw) -> bytes:
    ver = draw(st.integers(0, 16))
    prog = draw(st.binary(min_size=0, max_size=42))
    length = draw(st.sampled_from([len(prog), len(prog), len(prog) + 1, max(len(prog) - 1, 0)]))
    return bytes([0 if ver == 0 else 0x50 + ver, length]) + prog


scripts = st.one_of(
    st.builds(lambda h: b"\x76\xa9\x14" + h + b"\x88\xac", hash20),
    st.builds(lambda h: b"\xa9\x14" + h + b"\x87", hash20),
    st.builds(lambda h: b"\x00\x14" + h, hash20),
    st.builds(lambda h: b"\x00\x20" + h, hash32),
    st.builds(lambda h: b"\x51\x20" + h, hash32),
    witness_program(),
    st.builds(lambda k: _push(k) + b"\xac", pubkeys),
    st.builds(lambda k, tail: _push(k) + tail, pubkeys, st.binary(min_size=0, max_size=2)),
    multisig(),
    st.builds(lambda d: b"\x6a" + d, st.binary(max_size=83)),
    st.binary(min_size=0, max_size=8),
    st.binary(min_size=0, max_size=80),
    # Templates with one byte changed.
    st.builds(lambda h, i, v: bytearray_set(b"\x76\xa9\x14" + h + b"\x88\xac", i, v),
              hash20, st.integers(0, 24), st.integers(0, 255)),
)


def bytearray_set(s: bytes, i: int, v: int) -> bytes:
    b = bytearray(s)
    b[i % len(b)] = v
    return bytes(b)


@settings(max_examples=400, deadline=None)
@given(st.lists(scripts, min_size=1, max_size=30))
def test_generated_scripts_agree(batch: list[bytes]):
    assert_agree(*packed(batch))


@pytest.mark.parametrize("script_hex", [
    "", "ac", "00ac", "01ac", "0000ac", "51ae", "5151ae", "0051ae", "6a", "0014", "5102abcd",
    "21" + "02" + "11" * 32 + "ac", "41" + "04" + "11" * 64 + "ac", "41" + "06" + "11" * 64 + "ac",
    "21" + "04" + "11" * 32 + "ac", "41" + "02" + "11" * 64 + "ac",
    "51" + "21" + "02" + "22" * 32 + "51ae", "52" + "21" + "02" + "22" * 32 + "51ae",
    "00" + "15" + "33" * 21, "60" + "28" + "44" * 40, "51" + "29" + "44" * 41,
])
def test_edge_scripts_agree(script_hex: str):
    assert_agree(*packed([bytes.fromhex(script_hex)]))


def test_address_keys_p2pk_shares_the_p2pkh_key():
    pub = bytes.fromhex("0411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c"
                        "b2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3")
    p2pk = _push(pub) + b"\xac"
    p2pkh = b"\x76\xa9\x14" + hash160(pub) + b"\x88\xac"
    ms = b"\x51" + _push(pub) + b"\x51\xae"
    buf, offs, lens = packed([p2pk, p2pkh, b"\x6a\x01\x02", b"\x00\xac", ms, b"\x52\x02\xab\xcd"])
    types, po, pl, wv = classify_scripts(buf, offs, lens)
    keys, valid = address_keys(buf, types, po, pl, wv)
    assert keys.shape == (6, KEY_WIDTH)
    assert valid.tolist() == [True, True, False, False, True, True]
    assert keys[0].tobytes() == keys[1].tobytes() == bytes([ScriptType.P2PKH]) + hash160(pub) + bytes(12)
    assert keys[4].tobytes() == bytes([ScriptType.MULTISIG]) + hashlib.sha256(ms).digest()
    assert keys[5].tobytes() == bytes([ScriptType.WITNESS_UNKNOWN, 2, 2, 0xAB, 0xCD]) + bytes(28)
    assert not keys[2].any() and not keys[3].any()

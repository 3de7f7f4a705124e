"""The addresses column built in row order equals the reference encoder, script by script, for every kind."""

import hashlib

import numpy as np
import pytest

from chaintrail.chains.bitcoin.address import script_address
from chaintrail.chains.bitcoin.network import NETWORKS
from chaintrail.chains.bitcoin.scripts import address_keys, classify_scripts
from chaintrail.ingest.btc_address_column import address_column


def _scripts(rng) -> list[bytes]:
    pub = lambda: b"\x02" + rng.bytes(32)  # noqa: E731
    h20, h32 = (lambda: rng.bytes(20)), (lambda: rng.bytes(32))
    makers = [
        lambda: b"\x76\xa9\x14" + h20() + b"\x88\xac",                       # P2PKH
        lambda: b"\xa9\x14" + h20() + b"\x87",                               # P2SH
        lambda: b"\x00\x14" + h20(),                                         # P2WPKH
        lambda: b"\x00\x20" + h32(),                                         # P2WSH
        lambda: b"\x51\x20" + h32(),                                         # P2TR
        lambda: b"\x21" + pub() + b"\xac",                                   # P2PK (spelled as P2PKH)
        lambda: b"\x51\x21" + pub() + b"\x21" + pub() + b"\x52\xae",         # bare 1-of-2 multisig
        lambda: b"\x52\x28" + rng.bytes(40),                                 # witness v2, 40-byte program
        lambda: b"\x76\xa9\x14" + bytes(3) + rng.bytes(17) + b"\x88\xac",   # leading zero bytes (more "1"s)
    ]
    return [makers[int(k)]() for k in rng.integers(0, len(makers), 3000)]


@pytest.mark.parametrize("network", ["mainnet", "testnet", "regtest"])
def test_every_kind_matches_the_reference(network):
    net = NETWORKS[network]
    scripts = _scripts(np.random.default_rng(7))
    scripts.append(b"\x76\xa9\x14" + bytes(20) + b"\x88\xac")   # an all-zero payload
    buf = np.frombuffer(b"".join(scripts), np.uint8)
    lens = np.array([len(s) for s in scripts], np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    keys, valid = address_keys(buf, *classify_scripts(buf, offs, lens))
    keep = np.flatnonzero(valid)
    got = address_column(keys[keep], [scripts[i] for i in keep.tolist()], net).to_pylist()
    want = [script_address(scripts[i], net)[1] for i in keep.tolist()]
    assert got == want
    assert len(keep) == len(scripts) and any(w.startswith("multi(") for w in want)


def test_empty_and_single_kind_columns():
    net = NETWORKS["mainnet"]
    assert address_column(np.zeros((0, 33), np.uint8), [], net).to_pylist() == []
    key = np.zeros((1, 33), np.uint8)
    key[0, 0] = 4   # P2WPKH of twenty zero bytes
    key[0, 1:21] = np.frombuffer(hashlib.sha256(b"x").digest()[:20], np.uint8)
    assert address_column(key, [None], net).to_pylist() == [
        script_address(b"\x00\x14" + key[0, 1:21].tobytes(), net)[1]]


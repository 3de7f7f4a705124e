"""Key hashes (SHA-256 and hash160 of keys and witness scripts) through OpenSSL against hashlib."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from chaintrail.chains.bitcoin import fast_sha256


@pytest.mark.skipif(not fast_sha256.hash160_available(), reason="no libcrypto RIPEMD-160 to bind here")
def test_key_hashes_are_sha256_and_hash160_of_each_span():
    rng = np.random.default_rng(7)
    buf = rng.integers(0, 256, 5000, dtype=np.uint8)
    offs = rng.integers(0, 4000, 300)
    lens = rng.integers(0, 200, 300)
    single = rng.random(300) < 0.4
    out = fast_sha256.key_hashes(buf, offs, lens, single)
    for j in range(300):
        span = buf[offs[j]:offs[j] + lens[j]].tobytes()
        want = hashlib.sha256(span).digest() if single[j] else \
            hashlib.new("ripemd160", hashlib.sha256(span).digest()).digest() + bytes(12)
        assert out[j].tobytes() == want, j

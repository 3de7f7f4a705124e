"""Deterministic key material: public keys, address programs, output scripts, dummy signatures.

No private keys exist.  A 64-bit scenario key (``ctr[C_KEY]``) and an address id
give a 33-byte compressed "public key" through a splitmix64 PRF; the address
program is then hashed from it exactly as a wallet would (hash160 for
P2PKH/P2WPKH, the P2SH-P2WPKH redeem script's hash160, sha256 of a 2-of-3
witness script for P2WSH).  P2TR programs are PRF bytes (an x-only key).
Signatures are PRF bytes in valid DER shape with realistic lengths; nobody
verifies them.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin.nbhash import hash160, sha256
from chaintrail.scenario.ledger import (
    AT_P2PKH,
    AT_P2SH_P2WPKH,
    AT_P2TR,
    AT_P2WPKH,
    AT_P2WSH,
)

C_KEY = 15  # ctr slot holding the scenario's 64-bit key

_G1 = np.uint64(0x9E3779B97F4A7C15)
_G2 = np.uint64(0xBF58476D1CE4E5B9)
_G3 = np.uint64(0x94D049BB133111EB)

# scriptPubKey length by address type
SCRIPT_LEN = np.array([25, 23, 22, 34, 34], np.int64)
PROG_LEN = np.array([20, 20, 20, 32, 32], np.int64)


@nb.njit(cache=True, inline="always")
def mix64(x):
    """splitmix64 finalizer."""
    x = np.uint64(x)
    x = (x ^ (x >> np.uint64(30))) * _G2
    x = (x ^ (x >> np.uint64(27))) * _G3
    return x ^ (x >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def prf(key, a, b):
    """64 pseudo-random bits from (key, a, b)."""
    return mix64(np.uint64(key) ^ mix64(np.uint64(a) * _G1 + np.uint64(b)))


@nb.njit(cache=True)
def fill_random(buf, pos, n, key, a, b):
    """Write ``n`` PRF bytes for (key, a, b) at ``buf[pos]``."""
    for w in range(0, n, 8):
        r = prf(key, a, b * np.uint64(64) + np.uint64(w))
        for k in range(min(8, n - w)):
            buf[pos + w + k] = np.uint8((r >> np.uint64(8 * k)) & np.uint64(0xFF))


@nb.njit(cache=True)
def write_pubkey(buf, pos, key, addr, idx):
    """33-byte compressed public key number ``idx`` of address ``addr``; returns new pos."""
    fill_random(buf, pos + 1, 32, key, addr, np.uint64(1000) + np.uint64(idx))
    buf[pos] = np.uint8(2 + (buf[pos + 32] & 1))
    return pos + 33


@nb.njit(cache=True)
def write_witness_script(buf, pos, key, addr):
    """2-of-3 CHECKMULTISIG witness script (105 bytes) of a P2WSH address."""
    buf[pos] = 0x52
    pos += 1
    for i in range(3):
        buf[pos] = 33
        pos = write_pubkey(buf, pos + 1, key, addr, i)
    buf[pos] = 0x53
    buf[pos + 1] = 0xAE
    return pos + 2


@nb.njit(cache=True)
def derive_program(prog, key, addr, atype):
    """Fill ``prog`` (32 bytes) with the address program of ``addr``."""
    tmp = np.zeros(120, np.uint8)
    if atype == AT_P2TR:
        fill_random(prog, 0, 32, key, addr, np.uint64(7))
        return
    if atype == AT_P2WSH:
        end = write_witness_script(tmp, 0, key, addr)
        prog[:] = sha256(tmp[:end])
        return
    write_pubkey(tmp, 0, key, addr, 0)
    h = hash160(tmp[:33])
    if atype == AT_P2SH_P2WPKH:
        red = np.zeros(22, np.uint8)
        red[1] = 20
        red[2:] = h
        h = hash160(red)
    prog[:20] = h
    prog[20:] = 0


@nb.njit(cache=True)
def write_script(buf, pos, atype, prog):
    """Write the scriptPubKey of an address of type ``atype`` with program ``prog``."""
    if atype == AT_P2PKH:
        buf[pos] = 0x76
        buf[pos + 1] = 0xA9
        buf[pos + 2] = 20
        buf[pos + 3:pos + 23] = prog[:20]
        buf[pos + 23] = 0x88
        buf[pos + 24] = 0xAC
        return pos + 25
    if atype == AT_P2SH_P2WPKH:
        buf[pos] = 0xA9
        buf[pos + 1] = 20
        buf[pos + 2:pos + 22] = prog[:20]
        buf[pos + 22] = 0x87
        return pos + 23
    if atype == AT_P2WPKH:
        buf[pos] = 0x00
        buf[pos + 1] = 20
        buf[pos + 2:pos + 22] = prog[:20]
        return pos + 22
    buf[pos] = 0x51 if atype == AT_P2TR else 0x00
    buf[pos + 1] = 32
    buf[pos + 2:pos + 34] = prog[:32]
    return pos + 34


@nb.njit(cache=True)
def write_der_sig(buf, pos, key, input_id, k, low_r):
    """A DER-shaped ECDSA signature plus SIGHASH_ALL (71 or 72 bytes); returns new pos."""
    r0 = prf(key, input_id, np.uint64(5000) + np.uint64(k))
    high_r = (not low_r) and (r0 & np.uint64(1)) == 1
    rlen = 33 if high_r else 32
    total = 2 + rlen + 34
    buf[pos] = 0x30
    buf[pos + 1] = total
    buf[pos + 2] = 0x02
    buf[pos + 3] = rlen
    p = pos + 4
    if high_r:
        buf[p] = 0
        p += 1
    fill_random(buf, p, 32, key, input_id, np.uint64(6000) + np.uint64(k))
    buf[p] = np.uint8((buf[p] & 0x7F) | 0x80) if high_r else np.uint8((buf[p] & 0x7F) | 0x01)
    p += 32
    buf[p] = 0x02
    buf[p + 1] = 32
    fill_random(buf, p + 2, 32, key, input_id, np.uint64(7000) + np.uint64(k))
    buf[p + 2] = np.uint8((buf[p + 2] & 0x7F) | 0x01)  # low-S, minimal
    p += 34
    buf[p] = 0x01  # SIGHASH_ALL
    return p + 1

"""Classify output scripts in bulk and derive the fixed-width address key of each.

``classify_scripts`` runs in numba over (offset, length) pairs into one buffer and
matches the templates of Core's ``Solver``. ``address_keys`` turns each
classified script into a 33-byte key (kind byte + 32 payload bytes) that
identifies the address: P2PK and P2PKH of the same key share one key, as they
share one address string.
"""

from __future__ import annotations

import hashlib

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin.script_types import ScriptType

KEY_WIDTH = 33
_P2PK, _P2PKH, _P2SH = int(ScriptType.P2PK), int(ScriptType.P2PKH), int(ScriptType.P2SH)
_P2WPKH, _P2WSH, _P2TR = int(ScriptType.P2WPKH), int(ScriptType.P2WSH), int(ScriptType.P2TR)
_MULTISIG, _OP_RETURN = int(ScriptType.MULTISIG), int(ScriptType.OP_RETURN)
_WU, _NONSTD = int(ScriptType.WITNESS_UNKNOWN), int(ScriptType.NONSTANDARD)


@nb.njit(cache=True, inline="always")
def _pubkey_len(first):
    # CPubKey::GetLen: 0x02/0x03 compressed, 0x04/0x06/0x07 uncompressed or hybrid.
    if first == 2 or first == 3:
        return 33
    if first == 4 or first == 6 or first == 7:
        return 65
    return 0


@nb.njit(cache=True, nogil=True)
def _classify_one(buf, off, ln):
    """Return (type, payload_offset, payload_length, witness_version)."""
    if ln == 25 and buf[off] == 0x76 and buf[off + 1] == 0xA9 and buf[off + 2] == 20 \
            and buf[off + 23] == 0x88 and buf[off + 24] == 0xAC:
        return _P2PKH, off + 3, 20, -1
    if ln == 23 and buf[off] == 0xA9 and buf[off + 1] == 20 and buf[off + 22] == 0x87:
        return _P2SH, off + 2, 20, -1
    if 4 <= ln <= 42:
        op = buf[off]
        if (op == 0 or 0x51 <= op <= 0x60) and buf[off + 1] == ln - 2:
            ver = 0 if op == 0 else op - 0x50
            plen = ln - 2
            if ver == 0:
                if plen == 20:
                    return _P2WPKH, off + 2, 20, 0
                if plen == 32:
                    return _P2WSH, off + 2, 32, 0
                return _NONSTD, off, ln, -1
            if ver == 1 and plen == 32:
                return _P2TR, off + 2, 32, 1
            return _WU, off + 2, plen, ver
    # Only 35 or 67 bytes: for ln == 2 the key-prefix byte would be the OP_CHECKSIG itself.
    if (ln == 35 or ln == 67) and buf[off + ln - 1] == 0xAC and ln - 2 == buf[off] \
            and _pubkey_len(buf[off + 1]) == ln - 2:
        return _P2PK, off + 1, ln - 2, -1
    if ln >= 1 and buf[off] == 0x6A:
        return _OP_RETURN, off + 1, ln - 1, -1
    if ln >= 3 and buf[off + ln - 1] == 0xAE:
        m_op = buf[off]
        n_op = buf[off + ln - 2]
        if 0x51 <= m_op <= 0x60 and 0x51 <= n_op <= 0x60 and m_op <= n_op:
            p = off + 1
            keys = 0
            while p < off + ln - 2:
                klen = buf[p]
                if klen != 33 and klen != 65:
                    break
                if p + 1 + klen > off + ln - 2 or _pubkey_len(buf[p + 1]) != klen:
                    break
                p += 1 + klen
                keys += 1
            if p == off + ln - 2 and keys == n_op - 0x50:
                return _MULTISIG, off, ln, -1
    return _NONSTD, off, ln, -1


@nb.njit(cache=True, nogil=True)
def _classify_all(buf, offs, lens, types, poffs, plens, wvers):
    for i in range(offs.shape[0]):
        t, po, pl, wv = _classify_one(buf, offs[i], lens[i])
        types[i] = t
        poffs[i] = po
        plens[i] = pl
        wvers[i] = wv


def classify_scripts(buf: np.ndarray, offs: np.ndarray, lens: np.ndarray):
    """Classify every script ``buf[offs[i]:offs[i]+lens[i]]``.

    Returns (types uint8, payload_offsets int64, payload_lengths int64, witness_versions int8).
    """
    n = offs.shape[0]
    types = np.empty(n, np.uint8)
    poffs = np.empty(n, np.int64)
    plens = np.empty(n, np.int64)
    wvers = np.empty(n, np.int8)
    _classify_all(buf, offs, lens, types, poffs, plens, wvers)
    return types, poffs, plens, wvers


@nb.njit(cache=True, nogil=True)
def _fill_keys(buf, types, poffs, plens, wvers, keys):
    """Copy payloads into key rows for the types whose payload fits as is."""
    for i in range(types.shape[0]):
        t = types[i]
        if t == _P2PKH or t == _P2SH or t == _P2WPKH or t == _P2WSH or t == _P2TR:
            keys[i, 0] = t
            for k in range(plens[i]):
                keys[i, 1 + k] = buf[poffs[i] + k]
        elif t == _WU and plens[i] <= 30:
            keys[i, 0] = t
            keys[i, 1] = wvers[i]
            keys[i, 2] = plens[i]
            for k in range(plens[i]):
                keys[i, 3 + k] = buf[poffs[i] + k]


def address_keys(buf: np.ndarray, types, poffs, plens, wvers) -> tuple[np.ndarray, np.ndarray]:
    """33-byte address keys and a validity mask (OP_RETURN and non-standard have none)."""
    n = types.shape[0]
    keys = np.zeros((n, KEY_WIDTH), np.uint8)
    _fill_keys(buf, types, poffs, plens, wvers, keys)
    # Rare types that need hashing go through hashlib on the Python side.
    for i in np.flatnonzero((types == _P2PK) | (types == _MULTISIG) | ((types == _WU) & (plens > 30))):
        t = int(types[i])
        payload = buf[poffs[i]:poffs[i] + plens[i]].tobytes()
        if t == _P2PK:
            keys[i, 0] = _P2PKH
            keys[i, 1:21] = np.frombuffer(hashlib.new("ripemd160", hashlib.sha256(payload).digest()).digest(), np.uint8)
        elif t == _MULTISIG:
            keys[i, 0] = _MULTISIG
            keys[i, 1:33] = np.frombuffer(hashlib.sha256(payload).digest(), np.uint8)
        else:
            keys[i, 0] = _WU
            keys[i, 1] = wvers[i]
            keys[i, 2] = plens[i]
            keys[i, 3:33] = np.frombuffer(hashlib.sha256(payload).digest()[:30], np.uint8)
    valid = (types != _OP_RETURN) & (types != _NONSTD)
    return keys, valid

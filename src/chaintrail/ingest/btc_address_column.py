"""The addresses table's string column for newly interned address keys, built in row order.

A key's kind byte says how it is spelled: Base58Check for P2PKH and P2SH (P2PK keys are stored as P2PKH),
bech32/bech32m for witness v0 and v1 programs, and the reference encoder for the rare rest (bare multisig
descriptors, unusual witness programs). Segwit strings have a length fixed by their kind, so once the Base58
lengths are known every row's offset is, and the segwit encoder writes straight into the column's buffer.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pyarrow as pa

from chaintrail.chains.bitcoin.address import script_address
from chaintrail.chains.bitcoin.address_batch import encode_base58check_batch, encode_segwit_into
from chaintrail.chains.bitcoin.network import Network
from chaintrail.chains.bitcoin.script_types import ScriptType

_B58, _SEGWIT, _RARE = 0, 1, 2


@nb.njit(cache=True, nogil=True)
def _split(keys, p2pkh_prefix, p2sh_prefix):
    """Rows by spelling, and what each encoder needs: ``(group, b58 rows, versions, payloads, segwit rows,
    witness versions, programs, program lengths)``."""
    n = keys.shape[0]
    group = np.empty(n, np.int8)
    nb58 = nseg = 0
    for i in range(n):
        k = keys[i, 0]
        if k == ScriptType.P2PKH or k == ScriptType.P2SH:
            group[i] = _B58
            nb58 += 1
        elif k == ScriptType.P2WPKH or k == ScriptType.P2WSH or k == ScriptType.P2TR:
            group[i] = _SEGWIT
            nseg += 1
        else:
            group[i] = _RARE
    b58 = np.empty(nb58, np.int64)
    versions = np.empty(nb58, np.uint8)
    payloads = np.empty((nb58, 20), np.uint8)
    seg = np.empty(nseg, np.int64)
    witvers = np.empty(nseg, np.uint8)
    programs = np.zeros((nseg, 40), np.uint8)
    lengths = np.empty(nseg, np.uint8)
    a = s = 0
    for i in range(n):
        if group[i] == _B58:
            b58[a] = i
            versions[a] = p2pkh_prefix if keys[i, 0] == ScriptType.P2PKH else p2sh_prefix
            payloads[a, :] = keys[i, 1:21]
            a += 1
        elif group[i] == _SEGWIT:
            seg[s] = i
            witvers[s] = 1 if keys[i, 0] == ScriptType.P2TR else 0
            ln = 20 if keys[i, 0] == ScriptType.P2WPKH else 32
            lengths[s] = ln
            programs[s, :ln] = keys[i, 1:1 + ln]
            s += 1
    return group, b58, versions, payloads, seg, witvers, programs, lengths


@nb.njit(cache=True, nogil=True)
def _place(sizes, b58, b58_off, seg, seg_size, rare, rare_off):
    """Each row's length and then the column's offsets: Base58 lengths from their encoder's offsets, segwit
    ones from their kind, the rare rows' from their strings."""
    for j in range(b58.shape[0]):
        sizes[b58[j]] = b58_off[j + 1] - b58_off[j]
    for j in range(seg.shape[0]):
        sizes[seg[j]] = seg_size[j]
    for j in range(rare.shape[0]):
        sizes[rare[j]] = rare_off[j + 1] - rare_off[j]
    offsets = np.empty(sizes.shape[0] + 1, np.int32)
    offsets[0] = 0
    for i in range(sizes.shape[0]):
        offsets[i + 1] = offsets[i] + sizes[i]
    return offsets


@nb.njit(cache=True, nogil=True)
def _copy_rows(rows, src_off, src, offsets, data):
    """``data[offsets[rows[j]]:...] = src[src_off[j]:src_off[j+1]]``."""
    for j in range(rows.shape[0]):
        o, s, e = offsets[rows[j]], src_off[j], src_off[j + 1]
        data[o:o + e - s] = src[s:e]


def address_column(keys: np.ndarray, scripts: list[bytes | None], network: Network) -> pa.StringArray:
    """Address strings of ``keys`` (n, KEY_WIDTH); ``scripts[i]`` is needed only for the rare kinds (else None)."""
    keys = np.ascontiguousarray(keys)
    n = len(keys)
    group, b58, versions, payloads, seg, witvers, programs, lengths = _split(
        keys, network.p2pkh_prefix, network.p2sh_prefix)
    b58_col = encode_base58check_batch(versions, payloads)
    b58_off = np.frombuffer(b58_col.buffers()[1], np.int32)[:len(b58) + 1]
    b58_data = np.frombuffer(b58_col.buffers()[2], np.uint8) if len(b58) else np.zeros(0, np.uint8)
    rare = np.flatnonzero(group == _RARE)
    rare_str = [script_address(scripts[i], network)[1] for i in rare.tolist()]
    rare_bytes = [s.encode() if s is not None else b"" for s in rare_str]
    rare_off = np.zeros(len(rare) + 1, np.int64)
    np.cumsum([len(b) for b in rare_bytes], out=rare_off[1:])
    seg_size = len(network.hrp) + 2 + (8 * lengths.astype(np.int64) + 4) // 5 + 6
    offsets = _place(np.zeros(n, np.int64), b58, b58_off, seg, seg_size, rare, rare_off)
    data = np.empty(max(int(offsets[-1]), 1), np.uint8)
    _copy_rows(b58, b58_off, b58_data, offsets, data)
    _copy_rows(rare, rare_off, np.frombuffer(b"".join(rare_bytes), np.uint8), offsets, data)
    encode_segwit_into(network.hrp, witvers, programs, lengths, data, offsets[seg])
    missing = [j for j, s in enumerate(rare_str) if s is None]
    validity = None
    if missing:
        valid = np.ones(n, np.bool_)
        valid[rare[missing]] = False
        validity = pa.array(valid).buffers()[1]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), validity, len(missing))

"""The address an input spends from, read off its own scriptSig and witness.

When neither the store nor undo data holds the spent output, the spending
data still commits to it: a P2PKH spend reveals the public key whose HASH160
is the address, a P2SH spend reveals the redeem script, a P2WPKH spend the
key in its witness, a P2WSH spend the witness script. For a valid chain the
derived address is exact, not a guess; spends that reveal nothing (P2PK,
Taproot) stay unknown. Values are never derived.
"""

from __future__ import annotations

import hashlib

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin import fast_sha256
from chaintrail.chains.bitcoin.nbhash import hash160, sha256
from chaintrail.chains.bitcoin.parse import BlockLayout
from chaintrail.chains.bitcoin.script_types import ScriptType
from chaintrail.chains.bitcoin.scripts import KEY_WIDTH


def _hash160(b: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(b).digest()).digest()


def _is_pubkey(b: bytes) -> bool:
    return (len(b) == 33 and b[0] in (2, 3)) or (len(b) == 65 and b[0] == 4)


def _pushes(script: bytes) -> list[bytes] | None:
    """The data pushed by a push-only script, or None if it does anything else."""
    out, pos, n = [], 0, len(script)
    while pos < n:
        op = script[pos]
        pos += 1
        if op == 0:
            out.append(b"")
            continue
        if op <= 0x4B:
            ln = op
        elif op in (0x4C, 0x4D, 0x4E):
            w = {0x4C: 1, 0x4D: 2, 0x4E: 4}[op]
            if pos + w > n:
                return None
            ln = int.from_bytes(script[pos:pos + w], "little")
            pos += w
        elif 0x51 <= op <= 0x60 or op == 0x4F:
            out.append(b"")  # small-number opcodes: never a key or script here
            continue
        else:
            return None
        if pos + ln > n:
            return None
        out.append(script[pos:pos + ln])
        pos += ln
    return out


def _witness(buf: np.ndarray, pos: int) -> list[bytes]:
    """The witness stack starting at ``pos`` (already validated by the block parser)."""
    def compact(p: int) -> tuple[int, int]:
        b = int(buf[p])
        if b < 0xFD:
            return b, p + 1
        w = 2 if b == 0xFD else (4 if b == 0xFE else 8)
        return int.from_bytes(buf[p + 1:p + 1 + w].tobytes(), "little"), p + 1 + w

    n, pos = compact(pos)
    items = []
    for _ in range(n):
        ln, pos = compact(pos)
        items.append(buf[pos:pos + ln].tobytes())
        pos += ln
    return items


def infer_spent_key(script_sig: bytes, witness: list[bytes]) -> tuple[int, bytes] | None:
    """(ScriptType of the spent output, its address payload) or None if not derivable."""
    pushes = _pushes(script_sig)
    if pushes is None:
        return None
    if witness:
        if not script_sig:
            if len(witness) == 2 and len(witness[1]) == 33 and witness[1][0] in (2, 3):
                return ScriptType.P2WPKH, _hash160(witness[1])
            last = witness[-1]
            # A Taproot script-path spend ends with a control block (0xc0/0xc1 leaf version, 33+32k bytes),
            # possibly followed by an annex (0x50); neither reveals the output key, so leave those alone.
            if len(witness) >= 2 and not _looks_taproot(witness):
                return ScriptType.P2WSH, hashlib.sha256(last).digest()
            return None
        if len(pushes) == 1 and len(pushes[0]) in (22, 34) and pushes[0][0] == 0 and pushes[0][1] == len(pushes[0]) - 2:
            return ScriptType.P2SH, _hash160(pushes[0])  # nested SegWit: the push is the redeem script
        return None
    if len(pushes) == 2 and _is_pubkey(pushes[1]) and 9 <= len(pushes[0]) <= 73:
        return ScriptType.P2PKH, _hash160(pushes[1])
    if len(pushes) >= 2 and pushes[0] == b"" and len(pushes[-1]) >= 3 and pushes[-1][-1] == 0xAE:
        return ScriptType.P2SH, _hash160(pushes[-1])  # OP_0 <sigs...> <multisig redeem script>
    return None


def _looks_taproot(witness: list[bytes]) -> bool:
    items = witness[:-1] if (len(witness) >= 2 and witness[-1][:1] == b"\x50") else witness
    cb = items[-1]
    return len(cb) >= 33 and (len(cb) - 33) % 32 == 0 and (cb[0] & 0xFE) == 0xC0


@nb.njit(cache=True, nogil=True)
def _compact(buf, p):
    b = buf[p]
    if b < 0xFD:
        return np.int64(b), p + 1
    w = 2 if b == 0xFD else (4 if b == 0xFE else 8)
    v = np.int64(0)
    for k in range(w):
        v |= np.int64(buf[p + 1 + k]) << (8 * k)
    return v, p + 1 + w


@nb.njit(cache=True, inline="always")
def _pubkey_at(buf, off, ln):
    return (ln == 33 and (buf[off] == 2 or buf[off] == 3)) or (ln == 65 and buf[off] == 4)


@nb.njit(cache=True, nogil=True)
def _locate(buf, in_script, in_script_len, in_wit, idx, kinds, offs, lens):
    """For each input in ``idx``: what to hash (offset, length) and the spent output's type.

    Mirrors :func:`infer_spent_key` (the readable reference, tested equal to this).
    kinds: 0 = not derivable; P2PKH/P2SH/P2WPKH take HASH160 of the span, P2WSH takes SHA-256.
    """
    for j in range(idx.shape[0]):
        i = idx[j]
        kinds[j] = 0
        so, sl = in_script[i], in_script_len[i]
        # scriptSig pushes: count, first two and last spans; any non-push opcode -> not derivable.
        npush = 0
        p = so
        end = so + sl
        push_only = True
        f_off = -1
        f_len = -1
        s_off = -1
        s_len = -1
        l_off = -1
        l_len = -1
        while p < end:
            op = buf[p]
            p += 1
            ln = -1
            if op == 0 or (0x51 <= op <= 0x60) or op == 0x4F:
                ln = 0
                doff = p
            elif op <= 0x4B:
                ln = op
                doff = p
            elif op == 0x4C or op == 0x4D or op == 0x4E:
                w = 1 if op == 0x4C else (2 if op == 0x4D else 4)
                if p + w > end:
                    push_only = False
                    break
                ln = 0
                for k in range(w):
                    ln |= np.int64(buf[p + k]) << (8 * k)
                p += w
                doff = p
            else:
                push_only = False
                break
            if doff + ln > end:
                push_only = False
                break
            if npush == 0:
                f_off, f_len = doff, ln
            elif npush == 1:
                s_off, s_len = doff, ln
            l_off, l_len = doff, ln
            p = doff + ln
            npush += 1
        if not push_only:
            continue
        wp = in_wit[i]
        nw = 0
        if wp >= 0:
            nw, q = _compact(buf, wp)
            it1_off = -1
            it1_len = -1
            last_off = -1
            last_len = -1
            prev_off = -1
            prev_len = -1
            for k in range(nw):
                ln, q = _compact(buf, q)
                if k == 1:
                    it1_off, it1_len = q, ln
                prev_off, prev_len = last_off, last_len
                last_off, last_len = q, ln
                q += ln
        if nw > 0:
            if sl == 0:
                if nw == 2 and it1_len == 33 and (buf[it1_off] == 2 or buf[it1_off] == 3):
                    kinds[j], offs[j], lens[j] = _P2WPKH, it1_off, 33
                elif nw >= 2:
                    # Taproot script path: the control block (after any annex) is 33+32k bytes, 0xc0/0xc1.
                    c_off, c_len = last_off, last_len
                    if last_len >= 1 and buf[last_off] == 0x50:
                        c_off, c_len = prev_off, prev_len
                    taproot = c_len >= 33 and (c_len - 33) % 32 == 0 and (buf[c_off] & 0xFE) == 0xC0
                    if not taproot:
                        kinds[j], offs[j], lens[j] = _P2WSH, last_off, last_len
            elif npush == 1 and (f_len == 22 or f_len == 34) and buf[f_off] == 0 and buf[f_off + 1] == f_len - 2:
                kinds[j], offs[j], lens[j] = _P2SH, f_off, f_len
            continue
        if npush == 2 and _pubkey_at(buf, s_off, s_len) and 9 <= f_len <= 73:
            kinds[j], offs[j], lens[j] = _P2PKH, s_off, s_len
        elif npush >= 2 and f_len == 0 and buf[f_off - 1] == 0 and l_len >= 3 and buf[l_off + l_len - 1] == 0xAE:
            kinds[j], offs[j], lens[j] = _P2SH, l_off, l_len


_P2PKH, _P2SH, _P2WPKH, _P2WSH = int(ScriptType.P2PKH), int(ScriptType.P2SH), int(ScriptType.P2WPKH), int(ScriptType.P2WSH)


@nb.njit(cache=True, nogil=True)
def _hash_spans(buf, kinds, offs, lens, keys):
    for j in range(kinds.shape[0]):
        k = kinds[j]
        if k == 0:
            continue
        keys[j, 0] = k
        span = buf[offs[j]:offs[j] + lens[j]]
        d = sha256(span) if k == _P2WSH else hash160(span)
        for q in range(d.shape[0]):
            keys[j, 1 + q] = d[q]


def infer_keys(lay: BlockLayout, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Address keys (n, 33), validity and script types for the given input ids."""
    n = len(inputs)
    kinds = np.zeros(n, np.int64)
    offs = np.zeros(n, np.int64)
    lens = np.zeros(n, np.int64)
    _locate(lay.buf, lay.in_script, lay.in_script_len, lay.in_wit, inputs.astype(np.int64), kinds, offs, lens)
    keys = np.zeros((n, KEY_WIDTH), np.uint8)
    if fast_sha256.hash160_available():
        # libcrypto's SHA-256 (SHA-NI) and RIPEMD-160: several times the numba hashes' speed.
        found = np.flatnonzero(kinds > 0)
        k = kinds[found]
        wsh = k == _P2WSH
        digests = fast_sha256.key_hashes(lay.buf, offs[found], lens[found], wsh)
        rows = keys[found]
        rows[:, 0] = k
        rows[:, 1:33] = digests   # (hash160 rows: bytes 21.. zero, as the numba kernel leaves them)
        keys[found] = rows
    else:
        _hash_spans(lay.buf, kinds, offs, lens, keys)
    return keys, kinds > 0, kinds.astype(np.uint8)

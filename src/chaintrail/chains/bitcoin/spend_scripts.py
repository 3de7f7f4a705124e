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

import numpy as np

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


def infer_keys(lay: BlockLayout, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Address keys (n, 33), validity and script types for the given input ids."""
    n = len(inputs)
    keys = np.zeros((n, KEY_WIDTH), np.uint8)
    valid = np.zeros(n, np.bool_)
    types = np.zeros(n, np.uint8)
    buf = lay.buf
    for j, i in enumerate(inputs.tolist()):
        off, ln = int(lay.in_script[i]), int(lay.in_script_len[i])
        wit = _witness(buf, int(lay.in_wit[i])) if lay.in_wit[i] >= 0 else []
        got = infer_spent_key(buf[off:off + ln].tobytes(), wit)
        if got is None:
            continue
        t, payload = got
        keys[j, 0] = int(t)
        keys[j, 1:1 + len(payload)] = np.frombuffer(payload, np.uint8)
        valid[j] = True
        types[j] = int(t)
    return keys, valid, types

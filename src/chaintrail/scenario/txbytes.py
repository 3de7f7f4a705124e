"""Bulk serializer: ledger transactions to network bytes and Core undo records, in numba.

For each non-coinbase tx of a block, in block order, ``write_block_txs`` writes
the full (BIP144) serialization into ``buf`` and the witness-stripped one (the
txid preimage) into ``strip``, and appends the tx's CTxUndo to ``undo``.
Input scripts and witnesses follow the spent output's type:

| spent type   | scriptSig                        | witness                         |
|--------------|----------------------------------|---------------------------------|
| P2PKH        | <sig> <pubkey>                   | (empty if the tx has witnesses) |
| P2SH-P2WPKH  | <0014 keyhash> (redeem script)   | <sig> <pubkey>                  |
| P2WPKH       | empty                            | <sig> <pubkey>                  |
| P2TR         | empty                            | <64-byte Schnorr sig> (key path)|
| P2WSH 2-of-3 | empty                            | <> <sig> <sig> <witness script> |

``chains.bitcoin.serialize`` is the per-object reference these bytes are tested against.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin.blockfile_writer import compress_amount, write_varint
from chaintrail.chains.bitcoin.nbhash import hash160
from chaintrail.scenario.keys import (
    C_KEY,
    SCRIPT_LEN,
    fill_random,
    write_der_sig,
    write_pubkey,
    write_script,
    write_witness_script,
)
from chaintrail.scenario.ledger import (
    A_TYPE,
    AT_P2PKH,
    AT_P2SH_P2WPKH,
    AT_P2TR,
    AT_P2WSH,
    O_ADDR,
    O_FLAGS,
    O_TX,
    O_VALUE,
    OF_COINBASE,
    T_BLOCK,
    T_IN0,
    T_LOCK,
    T_LOWR,
    T_NIN,
    T_NOUT,
    T_OUT0,
    T_SEQ,
    T_VER,
)
from chaintrail.scenario.wallet_ops import LOWR_BIP69_INPUTS, sort_bip69_inputs

MAX_INPUT_BYTES = 300   # upper bound of one serialized input incl. witness
MAX_OUTPUT_BYTES = 60
TX_FIXED_BYTES = 32


@nb.njit(cache=True, inline="always")
def _u32(buf, pos, v):
    v = np.uint64(v)
    for k in range(4):
        buf[pos + k] = np.uint8((v >> np.uint64(8 * k)) & np.uint64(0xFF))
    return pos + 4


@nb.njit(cache=True, inline="always")
def _u64(buf, pos, v):
    v = np.uint64(v)
    for k in range(8):
        buf[pos + k] = np.uint8((v >> np.uint64(8 * k)) & np.uint64(0xFF))
    return pos + 8


@nb.njit(cache=True)
def write_compact(buf, pos, n):
    """CompactSize."""
    if n < 0xFD:
        buf[pos] = n
        return pos + 1
    if n <= 0xFFFF:
        buf[pos] = 0xFD
        buf[pos + 1] = n & 0xFF
        buf[pos + 2] = n >> 8
        return pos + 3
    buf[pos] = 0xFE
    return _u32(buf, pos + 1, n)


@nb.njit(cache=True)
def _is_segwit_spend(atype):
    return atype != AT_P2PKH


@nb.njit(cache=True)
def write_output(L, buf, pos, o):
    """Value and scriptPubKey of output ``o``."""
    pos = _u64(buf, pos, L.out[o, O_VALUE])
    a = L.out[o, O_ADDR]
    if a < 0:  # OP_RETURN carrying -1-a PRF bytes
        n = -1 - a
        buf[pos] = n + 2
        buf[pos + 1] = 0x6A
        buf[pos + 2] = n
        fill_random(buf, pos + 3, n, L.ctr[C_KEY], o, np.uint64(9))
        return pos + 3 + n
    at = L.addr[a, A_TYPE]
    buf[pos] = SCRIPT_LEN[at]
    return write_script(buf, pos + 1, at, L.aprog[a])


@nb.njit(cache=True)
def write_block_txs(L, order, buf, strip, full_off, strip_off, segwit, undo, upos):
    """Serialize txs ``order`` (block order, coinbase excluded); returns the undo end.

    ``full_off``/``strip_off`` (len(order)+1) receive start offsets; ``segwit[i]``
    is 1 when tx i carries witness data.  ``undo`` receives one CTxUndo per tx
    starting at ``upos``.
    """
    key = L.ctr[C_KEY]
    pos = 0
    spos = 0
    tmp = np.zeros(40, np.uint8)
    for i in range(len(order)):
        t = order[i]
        if L.tx[t, T_LOWR] & LOWR_BIP69_INPUTS:
            sort_bip69_inputs(L, t)
        i0, nin = L.tx[t, T_IN0], L.tx[t, T_NIN]
        sw = False
        for k in range(nin):
            if _is_segwit_spend(L.addr[L.out[L.inp[i0 + k], O_ADDR], A_TYPE]):
                sw = True
        segwit[i] = 1 if sw else 0
        full_off[i] = pos
        strip_off[i] = spos
        start = pos
        pos = _u32(buf, pos, L.tx[t, T_VER])
        if sw:
            buf[pos] = 0
            buf[pos + 1] = 1
            pos += 2
        body = pos
        pos = write_compact(buf, pos, nin)
        seq = L.tx[t, T_SEQ]
        lowr = (L.tx[t, T_LOWR] & 1) == 1
        upos = write_compact(undo, upos, nin)
        for k in range(nin):
            o = L.inp[i0 + k]
            pt = L.out[o, O_TX]
            buf[pos:pos + 32] = L.txh[pt]
            pos = _u32(buf, pos + 32, o - L.tx[pt, T_OUT0])
            a = L.out[o, O_ADDR]
            at = L.addr[a, A_TYPE]
            if at == AT_P2PKH:
                s0 = pos
                pos += 1
                sig_start = pos + 1
                pos = write_der_sig(buf, sig_start, key, i0 + k, 0, lowr)
                buf[sig_start - 1] = pos - sig_start
                buf[pos] = 33
                pos = write_pubkey(buf, pos + 1, key, a, 0)
                buf[s0] = pos - s0 - 1
            elif at == AT_P2SH_P2WPKH:
                write_pubkey(tmp, 0, key, a, 0)
                h = hash160(tmp[:33])
                buf[pos] = 23
                buf[pos + 1] = 22
                buf[pos + 2] = 0
                buf[pos + 3] = 20
                buf[pos + 4:pos + 24] = h
                pos += 24
            else:
                buf[pos] = 0
                pos += 1
            pos = _u32(buf, pos, seq)
            # undo coin: VARINT(height*2+cb), 0x00 if height>0, amount, compressed script
            ht = L.tx[pt, T_BLOCK]
            upos = write_varint(undo, upos, ht * 2 + (1 if (L.out[o, O_FLAGS] & OF_COINBASE) else 0))
            if ht > 0:
                undo[upos] = 0
                upos += 1
            upos = write_varint(undo, upos, compress_amount(L.out[o, O_VALUE]))
            if at == AT_P2PKH:
                undo[upos] = 0
                undo[upos + 1:upos + 21] = L.aprog[a, :20]
                upos += 21
            elif at == AT_P2SH_P2WPKH:
                undo[upos] = 1
                undo[upos + 1:upos + 21] = L.aprog[a, :20]
                upos += 21
            else:
                upos = write_varint(undo, upos, SCRIPT_LEN[at] + 6)
                upos = write_script(undo, upos, at, L.aprog[a])
        o0, nout = L.tx[t, T_OUT0], L.tx[t, T_NOUT]
        pos = write_compact(buf, pos, nout)
        for k in range(nout):
            pos = write_output(L, buf, pos, o0 + k)
        wit = pos
        if sw:
            for k in range(nin):
                o = L.inp[i0 + k]
                a = L.out[o, O_ADDR]
                at = L.addr[a, A_TYPE]
                if at == AT_P2PKH:
                    buf[pos] = 0
                    pos += 1
                elif at == AT_P2TR:
                    buf[pos] = 1
                    buf[pos + 1] = 64
                    fill_random(buf, pos + 2, 64, key, i0 + k, np.uint64(11))
                    pos += 66
                elif at == AT_P2WSH:
                    buf[pos] = 4
                    buf[pos + 1] = 0
                    pos += 2
                    for s in range(2):
                        st = pos + 1
                        pos = write_der_sig(buf, st, key, i0 + k, s + 1, lowr)
                        buf[st - 1] = pos - st
                    buf[pos] = 105
                    pos = write_witness_script(buf, pos + 1, key, a)
                else:
                    buf[pos] = 2
                    st = pos + 2
                    pos = write_der_sig(buf, st, key, i0 + k, 0, lowr)
                    buf[st - 1] = pos - st
                    buf[pos] = 33
                    pos = write_pubkey(buf, pos + 1, key, a, 0)
        pos = _u32(buf, pos, L.tx[t, T_LOCK])
        # stripped copy: version | body up to the witness | locktime
        strip[spos:spos + 4] = buf[start:start + 4]
        spos += 4
        n = wit - body
        strip[spos:spos + n] = buf[body:wit]
        spos += n
        strip[spos:spos + 4] = buf[pos - 4:pos]
        spos += 4
    full_off[len(order)] = pos
    strip_off[len(order)] = spos
    return upos


@nb.njit(cache=True)
def block_bound(L, order):
    """Upper bound on the bytes ``write_block_txs`` writes for ``order``, and on its undo."""
    n = 0
    u = 0
    for t in order:
        n += TX_FIXED_BYTES + L.tx[t, T_NIN] * MAX_INPUT_BYTES + L.tx[t, T_NOUT] * MAX_OUTPUT_BYTES
        u += 10 + L.tx[t, T_NIN] * 50
    return n, u

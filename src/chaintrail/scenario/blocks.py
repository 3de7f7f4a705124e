"""Turning one simulated block of the ledger into Core bytes: txids, coinbase, merkle root, PoW.

The coinbase is built last (its value is the subsidy plus the block's fees),
with a BIP34 height push, the pool's tag and a BIP141 witness commitment, as
Core's miner does; its outputs are registered in the ledger so later blocks can
spend them after coinbase maturity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin.serialize import (
    BlockHeader,
    TxOut,
    coinbase_tx,
    compact_size,
    grind_header,
    merkle_root,
    witness_commitment,
)
from chaintrail.scenario.keys import write_script
from chaintrail.scenario.ledger import (
    A_POOL,
    A_TYPE,
    A_USES,
    C_IN,
    C_OUT,
    C_TX,
    Ledger,
    OF_COINBASE,
    OF_OPRETURN,
    O_ADDR,
    O_FLAGS,
    O_NEXT,
    O_POOL,
    O_PREV,
    O_SPENT,
    O_TX,
    O_VALUE,
    T_BLOCK,
    T_ENT,
    T_FEE,
    T_IN0,
    T_KIND,
    T_LOCK,
    T_NIN,
    T_NOUT,
    T_OUT0,
    T_SEQ,
    T_VER,
)
from chaintrail.scenario.txbytes import block_bound, write_block_txs, write_compact

REGTEST_BITS = 0x207FFFFF
HALVING_INTERVAL = 150          # regtest (chainparams.cpp)
COINBASE_MATURITY = 100
BLOCK_VERSION = 0x20000000      # BIP9 "no deployment signalled"


def subsidy(height: int) -> int:
    """Block subsidy on regtest: 50 BTC halving every 150 blocks."""
    halvings = height // HALVING_INTERVAL
    return 0 if halvings >= 64 else (50 * 100_000_000) >> halvings


@dataclass(frozen=True)
class BuiltBlock:
    """One serialized block with its undo record."""

    height: int
    hash: bytes          # internal byte order
    prev_hash: bytes
    data: bytes
    undo: bytes
    coinbase_tx: int     # ledger tx id
    n_tx: int
    merkle_root: bytes = b""


@nb.njit(cache=True)
def emit_coinbase(L, height, ent, addrs, values):
    """Register a coinbase paying ``values`` to ``addrs`` plus the commitment output."""
    t = L.ctr[C_TX]
    L.ctr[C_TX] += 1
    L.tx[t, T_IN0] = L.ctr[C_IN]
    L.tx[t, T_NIN] = 0
    L.tx[t, T_OUT0] = L.ctr[C_OUT]
    L.tx[t, T_NOUT] = len(addrs) + 1
    L.tx[t, T_VER] = 2
    L.tx[t, T_LOCK] = 0
    L.tx[t, T_SEQ] = 0xFFFFFFFF
    L.tx[t, T_BLOCK] = height
    L.tx[t, T_KIND] = 0
    L.tx[t, T_ENT] = ent
    L.tx[t, T_FEE] = 0
    for k in range(len(addrs) + 1):
        o = L.ctr[C_OUT]
        L.ctr[C_OUT] += 1
        L.out[o, O_TX] = t
        L.out[o, O_SPENT] = -1
        L.out[o, O_NEXT] = -1
        L.out[o, O_PREV] = -1
        if k < len(addrs):
            L.out[o, O_VALUE] = values[k]
            L.out[o, O_ADDR] = addrs[k]
            L.out[o, O_FLAGS] = OF_COINBASE
            L.out[o, O_POOL] = L.addr[addrs[k], A_POOL]
            L.addr[addrs[k], A_USES] += 1
        else:
            L.out[o, O_VALUE] = 0
            L.out[o, O_ADDR] = -37   # 36 bytes of commitment data, written by Python
            L.out[o, O_FLAGS] = OF_COINBASE | OF_OPRETURN
            L.out[o, O_POOL] = -1
    return t


@nb.njit(cache=True)
def _scripts(L, addrs):
    buf = np.zeros(len(addrs) * 40, np.uint8)
    ends = np.zeros(len(addrs) + 1, np.int64)
    pos = 0
    for i in range(len(addrs)):
        a = addrs[i]
        pos = write_script(buf, pos, L.addr[a, A_TYPE], L.aprog[a])
        ends[i + 1] = pos
    return buf, ends


def output_scripts(L: Ledger, addrs: np.ndarray) -> list[bytes]:
    """scriptPubKeys of the given address ids."""
    buf, ends = _scripts(L, np.asarray(addrs, np.int64))
    raw = buf.tobytes()
    return [raw[ends[i]:ends[i + 1]] for i in range(len(addrs))]


def _sha256d(b) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def build_block(L: Ledger, height: int, order: np.ndarray, cb_tx: int, prev_hash: bytes,
                time: int, tag: bytes) -> BuiltBlock:
    """Serialize block ``height``: coinbase ``cb_tx`` then ``order``; fills ``L.txh``."""
    order = np.asarray(order, np.int64)
    n = len(order)
    size, usize = block_bound(L, order)
    buf = np.empty(size + 16, np.uint8)
    strip = np.empty(size + 16, np.uint8)
    undo = np.empty(usize + 16, np.uint8)
    full_off = np.zeros(n + 1, np.int64)
    strip_off = np.zeros(n + 1, np.int64)
    segwit = np.zeros(n, np.uint8)
    upos = write_compact(undo, 0, n)
    uend = write_block_txs(L, order, buf, strip, full_off, strip_off, segwit, undo, upos)
    mv_full = memoryview(buf)
    mv_strip = memoryview(strip)
    txids = [b""] * (n + 1)
    wtxids = [b""] * (n + 1)
    fo = full_off.tolist()
    so = strip_off.tolist()
    sw = segwit.tolist()
    for i in range(n):
        txid = _sha256d(mv_strip[so[i]:so[i + 1]])
        txids[i + 1] = txid
        wtxids[i + 1] = _sha256d(mv_full[fo[i]:fo[i + 1]]) if sw[i] else txid
    hashes = np.frombuffer(b"".join(txids[1:]), np.uint8).reshape(n, 32) if n else None
    if n:
        L.txh[order] = hashes
    # coinbase: payouts registered in the ledger, commitment computed over the wtxids
    o0, nout = int(L.tx[cb_tx, T_OUT0]), int(L.tx[cb_tx, T_NOUT])
    addrs = L.out[o0:o0 + nout - 1, O_ADDR]
    scripts = output_scripts(L, addrs)
    outs = [TxOut(int(L.out[o0 + k, O_VALUE]), scripts[k]) for k in range(nout - 1)]
    commit = witness_commitment([bytes(32)] + wtxids[1:])
    cb = coinbase_tx(height, outs, tag=tag, commitment=commit)
    cb_bytes = cb.serialize()
    txids[0] = cb.txid()
    L.txh[cb_tx] = np.frombuffer(txids[0], np.uint8)
    root = merkle_root(txids)
    header = grind_header(BlockHeader(BLOCK_VERSION, prev_hash, root, time, REGTEST_BITS, 0))
    data = header.serialize() + compact_size(n + 1) + cb_bytes + mv_full[:fo[n]].tobytes()
    return BuiltBlock(height, header.hash(), prev_hash, data, undo[:uend].tobytes(), cb_tx, n + 1, root)


def block_fees(L: Ledger, t0: int, t1: int) -> int:
    """Sum of the fees of ledger txs ``t0..t1``."""
    return int(L.tx[t0:t1, T_FEE].sum())



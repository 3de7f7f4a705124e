"""Turning one simulated block of the ledger into Core bytes: txids, coinbase, merkle root, PoW.

The coinbase is built last (its value is the subsidy plus the block's fees),
with a BIP34 height push, the pool's tag and a BIP141 witness commitment, as
Core's miner does; its outputs are registered in the ledger so later blocks can
spend them after coinbase maturity.

Building is split in two so it can be pipelined: ``BodyWriter.job`` (numba,
needs the ledger and the previous blocks' txids) serializes the transactions and
the undo record; ``finish_block`` (hashlib only) computes txids, the witness
commitment, the coinbase, the merkle root and the proof of work - in a second
process while the first simulates the next block (see ``pipeline``).
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
)
from chaintrail.scenario.keys import write_script
from chaintrail.scenario.ledger import (
    A_POOL,
    A_TYPE,
    A_USES,
    C_IN,
    C_OUT,
    C_TX,
    O_ADDR,
    O_FLAGS,
    O_NEXT,
    O_POOL,
    O_PREV,
    O_SPENT,
    O_TX,
    O_VALUE,
    OF_COINBASE,
    OF_OPRETURN,
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
    Ledger,
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


def fast_merkle_root(hashes: list[bytes]) -> bytes:
    """``serialize.merkle_root`` without per-pair concatenation (tested equal)."""
    sha = hashlib.sha256
    level = b"".join(hashes)
    n = len(hashes)
    while n > 1:
        if n & 1:
            level += level[-32:]
            n += 1
        mv = memoryview(level)
        level = b"".join([sha(sha(mv[i:i + 64]).digest()).digest() for i in range(0, 32 * n, 64)])
        n //= 2
    return level


@dataclass
class BlockJob:
    """A block serialized except for hashing: what the finishing step (another process) needs."""

    height: int
    time: int
    tag: bytes
    n: int                      # non-coinbase txs
    full: bytes                 # their BIP144 serializations, concatenated
    strip: bytes                # their txid preimages, concatenated
    full_off: np.ndarray
    strip_off: np.ndarray
    segwit: np.ndarray
    undo: bytes                 # CBlockUndo
    cb_outs: list               # [(value, script)] of the coinbase payouts


@dataclass
class FinishedBlock:
    height: int
    hash: bytes
    merkle_root: bytes
    txids: bytes                # n * 32 bytes, block order, coinbase excluded
    cb_txid: bytes
    size: int


class BodyWriter:
    """Serializes a block's transactions with reusable buffers (fresh pages cost more than the work)."""

    def __init__(self) -> None:
        self.buf = np.empty(0, np.uint8)
        self.strip = np.empty(0, np.uint8)
        self.undo = np.empty(0, np.uint8)

    def job(self, L: Ledger, height: int, order: np.ndarray, cb_tx: int, time: int, tag: bytes) -> BlockJob:
        order = np.asarray(order, np.int64)
        n = len(order)
        size, usize = block_bound(L, order)
        if len(self.buf) < size + 16:
            self.buf = np.empty(2 * size + 16, np.uint8)
            self.strip = np.empty(2 * size + 16, np.uint8)
        if len(self.undo) < usize + 16:
            self.undo = np.empty(2 * usize + 16, np.uint8)
        full_off = np.zeros(n + 1, np.int64)
        strip_off = np.zeros(n + 1, np.int64)
        segwit = np.zeros(n, np.uint8)
        upos = write_compact(self.undo, 0, n)
        uend = write_block_txs(L, order, self.buf, self.strip, full_off, strip_off, segwit, self.undo, upos)
        o0, nout = int(L.tx[cb_tx, T_OUT0]), int(L.tx[cb_tx, T_NOUT])
        scripts = output_scripts(L, L.out[o0:o0 + nout - 1, O_ADDR])
        cb_outs = [(int(L.out[o0 + k, O_VALUE]), scripts[k]) for k in range(nout - 1)]
        return BlockJob(height, time, tag, n, self.buf[:full_off[n]].tobytes(),
                        self.strip[:strip_off[n]].tobytes(), full_off, strip_off, segwit,
                        self.undo[:uend].tobytes(), cb_outs)


def finish_block(job: BlockJob, prev_hash: bytes) -> tuple[FinishedBlock, bytes]:
    """Hash, commit, build the coinbase, grind the header; returns the record and the block bytes."""
    n = job.n
    mv_full, mv_strip = memoryview(job.full), memoryview(job.strip)
    fo, so, sw = job.full_off.tolist(), job.strip_off.tolist(), job.segwit.tolist()
    txids = [b""] * (n + 1)
    wtxids = [bytes(32)] * (n + 1)    # the coinbase's wtxid counts as zero
    sha = hashlib.sha256
    for i in range(n):      # the hot loop of block building: two C calls per hash, nothing else
        txid = sha(sha(mv_strip[so[i]:so[i + 1]]).digest()).digest()
        txids[i + 1] = txid
        wtxids[i + 1] = sha(sha(mv_full[fo[i]:fo[i + 1]]).digest()).digest() if sw[i] else txid
    commit = _sha256d(fast_merkle_root(wtxids) + bytes(32))
    cb = coinbase_tx(job.height, [TxOut(v, sc) for v, sc in job.cb_outs], tag=job.tag, commitment=commit)
    txids[0] = cb.txid()
    root = fast_merkle_root(txids)
    header = grind_header(BlockHeader(BLOCK_VERSION, prev_hash, root, job.time, REGTEST_BITS, 0))
    data = header.serialize() + compact_size(n + 1) + cb.serialize() + job.full
    rec = FinishedBlock(job.height, header.hash(), root, b"".join(txids[1:]), txids[0], len(data))
    return rec, data


def block_fees(L: Ledger, t0: int, t1: int) -> int:
    """Sum of the fees of ledger txs ``t0..t1``."""
    return int(L.tx[t0:t1, T_FEE].sum())

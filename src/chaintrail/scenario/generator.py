"""Scenario generation end to end: population, bootstrap, blocks, services, cases, answer key.

Timeline of a generated regtest chain:

* height 0: regtest's genesis block (its 50 BTC output is unspendable, as on every chain);
* heights 1-40: bootstrap coinbases paying the initial allocation of every actor
  (the regtest stand-in for an economy that existed before the window);
* heights 41-140: coinbase-only blocks while the allocation matures (coinbase
  maturity is 100 blocks);
* from height 141: the economy: background kernel, CoinJoin coordinators, the
  chip mixer and the planted crime cases, until the target transaction count is
  reached and every case has run to completion.

Block times start at 2023-11-14 and advance by exponential intervals (mean 600 s).
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaintrail.chains.bitcoin.network import REGTEST
from chaintrail.chains.bitcoin.serialize import regtest_genesis_block
from chaintrail.errors import UsageError
from chaintrail.scenario import params as P
from chaintrail.scenario.behaviour import REFERENCE, Behaviour, resolve
from chaintrail.scenario.blocks import (
    COINBASE_MATURITY,
    BodyWriter,
    emit_coinbase,
    subsidy,
)
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.economy import MARGIN as MARGIN_DEFAULT
from chaintrail.scenario.economy import new_plan, run_events
from chaintrail.scenario.ledger import (
    C_HEIGHT,
    C_OUT,
    C_TX,
    E_ATYPE,
    OF_COINBASE,
    T_FEE,
    T_NOUT,
    T_OUT0,
)
from chaintrail.scenario.pipeline import make_sink
from chaintrail.scenario.population import Pop, build_population
from chaintrail.scenario.wallet_ops import derive_pending, new_address, release_range

log = logging.getLogger(__name__)

ALLOC_BLOCKS = 40
GROUP_SHARE = {"exchange": 0.43, "service": 0.19, "user": 0.34, "mixer": 0.04}
START_TIME = 1_700_000_000
KINDS = ("ransomware", "exchange_hack", "darknet", "scam")
MAX_COINBASE_OUTPUTS = 20_000
RESERVE_TX = 5_000         # headroom for one block of Python-level actors (CoinJoins, cases)
RESERVE_IO = 60_000


@dataclass
class BlockRecord:
    height: int
    hash: bytes
    time: int
    n_tx: int
    first_tx: int          # ledger id of the coinbase
    merkle_root: bytes = b""
    size: int = 0


@dataclass
class Scenario:
    """A generated chain held in memory: ledger, blocks, actors; what the answer key is built from."""

    seed: int
    kind: str
    scale: float
    out_dir: Path
    chain: Chain
    pop: Pop
    blocks: list[BlockRecord]
    actors: dict
    cases: list
    genesis: tuple
    first_economy_height: int = 0
    elapsed_s: float = 0.0
    behaviour: Behaviour = REFERENCE


class _Runner:
    """Opens and closes blocks; a block is finished by the sink while the next one is simulated."""

    def __init__(self, ch: Chain, sink):
        self.ch, self.sink = ch, sink
        self.body = BodyWriter()
        self.time = START_TIME
        self.blocks: list[BlockRecord] = []
        self.cb_txs: list[int] = [-1]          # coinbase ledger id by height (genesis is not in the ledger)
        self.in_flight: tuple[np.ndarray, int, int, int] | None = None
        self.block_first_tx = 0
        self.block_first_out = 0
        self.fee_level = P.FEERATE_MEDIAN

    def begin(self) -> None:
        ch = self.ch
        ch.L.ctr[C_HEIGHT] = len(self.cb_txs)
        self.block_first_tx = int(ch.L.ctr[C_TX])
        self.block_first_out = int(ch.L.ctr[C_OUT])
        # fee level: a slow random walk in log space around the published median
        drift = 0.15 * ch.rng.normal() - 0.05 * np.log(self.fee_level / P.FEERATE_MEDIAN)
        self.fee_level = float(np.clip(self.fee_level * np.exp(drift), 1.0, 300.0))
        ch.feerate = self.fee_level

    def _collect(self) -> None:
        """Take the finished previous block back: its txids go into the ledger."""
        if self.in_flight is None:
            return
        order, cb, h, t = self.in_flight
        rec = self.sink.collect()
        L = self.ch.L
        if len(order):
            L.txh[order] = np.frombuffer(rec.txids, np.uint8).reshape(len(order), 32)
        L.txh[cb] = np.frombuffer(rec.cb_txid, np.uint8)
        self.blocks.append(BlockRecord(h, rec.hash, t, len(order) + 1, cb, rec.merkle_root, rec.size))
        self.in_flight = None

    def close(self, payouts: list[tuple[int, int]], cb_entity: int, tag: bytes) -> int:
        """Seal the open block; returns its number of transactions."""
        ch = self.ch
        h = ch.height
        fees = int(ch.L.tx[self.block_first_tx:int(ch.L.ctr[C_TX]), T_FEE].sum())
        total = subsidy(h) + fees
        addrs = np.array([a for a, _ in payouts], np.int64)
        vals = np.array([v for _, v in payouts], np.int64)
        if int(vals.sum()) != total:
            vals[-1] += total - int(vals.sum())
        if vals.min() < 0:
            raise UsageError("coinbase payout below zero")
        ch.grow(tx=1, out=len(payouts) + 1)
        cb = int(emit_coinbase(ch.L, h, cb_entity, addrs, vals))
        self.cb_txs.append(cb)
        rng = ch.rng
        order = np.arange(self.block_first_tx, cb, dtype=np.int64)
        rng.shuffle(order)
        self.time += max(1, int(round(rng.exponential(P.PUBLISHED["mean_block_interval_s"]))))
        derive_pending(ch.L)
        self._collect()                         # serializing needs the previous block's txids
        self.sink.submit(self.body.job(ch.L, h, order, cb, self.time, tag))
        self.in_flight = (order, cb, h, self.time)
        # this block's outputs become spendable; coinbases after maturity
        release_range(ch.L, self.block_first_out, int(ch.L.tx[cb, T_OUT0]), OF_COINBASE)
        if h - COINBASE_MATURITY + 1 >= 1:
            old = self.cb_txs[h - COINBASE_MATURITY + 1]
            o0 = int(ch.L.tx[old, T_OUT0])
            release_range(ch.L, o0, o0 + int(ch.L.tx[old, T_NOUT]), 0)
        return len(order) + 1

    def finish(self) -> None:
        self._collect()


def _pool_payout(ch: Chain, pop: Pop, h: int) -> tuple[list[tuple[int, int]], int, bytes]:
    i = int(np.searchsorted(pop.mpool_cdf, ch.rng.random()))
    e = int(pop.mpools[i])
    a = int(pop.mpool_addr[i])
    if a < 0:
        a = int(new_address(ch.L, e, int(ch.L.ent[e, E_ATYPE])))
    name = P.POOLS[i][0].split("-")[0].encode()
    tag = b"/" + name + b"/" + int(ch.rng.integers(0, 2**32)).to_bytes(4, "little")
    return [(a, 0)], e, tag


def _allocation_blocks(ch: Chain, alloc: list[tuple[int, float, str]]) -> list[list[tuple[int, int]]]:
    """Split the weighted allocation into per-block payouts summing to each block's subsidy."""
    n_blocks = max(ALLOC_BLOCKS, -(-len(alloc) // MAX_COINBASE_OUTPUTS))
    supply = sum(subsidy(h) for h in range(1, n_blocks + 1))
    group_w = {g: sum(w for _, w, gg in alloc if gg == g) for g in GROUP_SHARE}
    share_sum = sum(s for g, s in GROUP_SHARE.items() if group_w[g] > 0)
    values = [(a, w / group_w[g] * GROUP_SHARE[g] / share_sum * supply) for a, w, g in alloc]
    order = ch.rng.permutation(len(values))
    per_block: list[list[tuple[int, int]]] = [[] for _ in range(n_blocks)]
    for k, idx in enumerate(order):
        per_block[k % n_blocks].append((values[idx][0], values[idx][1]))
    out = []
    for b, items in enumerate(per_block):
        target = subsidy(b + 1)
        raw = np.array([v for _, v in items], np.float64)
        scaled = np.floor(raw / raw.sum() * target).astype(np.int64)
        scaled = np.maximum(scaled, 1000)
        scaled[int(np.argmax(scaled))] += target - int(scaled.sum())
        out.append([(a, int(v)) for (a, _), v in zip(items, scaled)])
    return out


def generate(out_dir: str | Path, seed: int = 1, kind: str = "all", scale: float = 1.0,
             xor: bool = False, progress: Callable[[int, int], None] | None = None,
             workers: int = 1, behaviour: str | Behaviour | None = None) -> Scenario:
    """Generate a scenario into ``out_dir`` (a Core ``blocks/`` folder plus the answer key).

    ``behaviour`` is ``"reference"`` (the fixed profile the rules were written on), ``"random"``
    (a profile drawn for the seed, see ``scenario.behaviour``) or a ``Behaviour``; ``None`` means
    random for evaluation seeds (``scenario.evaluation.EVAL_SEEDS``) and reference otherwise.
    ``workers=1`` finishes blocks (hashing, writing) in a forked second process while the
    next block is simulated; ``workers=0`` does everything in this process.  Same bytes.
    """
    from chaintrail.scenario.answer_key import write_answer_key
    from chaintrail.scenario.cases import make_cases
    from chaintrail.scenario.services import make_services

    if kind not in KINDS + ("all", "none"):
        raise UsageError(f"unknown scenario kind {kind!r}; choose from {', '.join(KINDS + ('all',))}")
    if not scale > 0:
        raise UsageError("scale must be positive")
    profile = resolve(behaviour, seed)
    t_start = _time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0x5CE7A210])))
    key = int(rng.integers(1, 2**63))
    n_target = max(300, int(round(1000 * scale)))
    ch = Chain(rng, key, n_target)
    ch.behaviour = profile
    pop, alloc = build_population(ch, n_target)
    econ_tx = max(100, n_target - ALLOC_BLOCKS - COINBASE_MATURITY - 1)
    n_blocks = max(45, -(-econ_tx // 2500))
    per_block = econ_tx / n_blocks
    actors = make_services(ch, pop, alloc, n_target, per_block)
    cases = make_cases(ch, pop, actors, kind, n_target)
    xor_key = rng.bytes(8) if xor else None
    sink = make_sink(out, REGTEST.magic, xor_key, workers)
    run = _Runner(ch, sink)
    try:
        for payouts in _allocation_blocks(ch, alloc):
            run.begin()
            run.close(payouts, -1, b"/bootstrap/")
        first_econ = len(run.cb_txs) + COINBASE_MATURITY
        while len(run.cb_txs) < first_econ:
            run.begin()
            run.close(*_pool_payout(ch, pop, ch.height))
        made = 0
        b = 0
        while True:
            cases_done = all(c.done for c in cases)
            if made >= econ_tx and cases_done:
                break
            if b > n_blocks * 4 + 400:
                raise UsageError("scenario did not converge (cases could not finish)")
            run.begin()
            h = ch.height
            ch.reserve(tx=RESERVE_TX, inp=RESERVE_IO, out=RESERVE_IO, addr=RESERVE_IO)
            ch.frozen = True
            for c in cases:        # cases first: their victims' fresh coins are spent before anyone else's
                if not c.done:
                    c.step(ch, pop, actors)
            for a in actors.values():
                a.step(ch, pop)
            ch.frozen = False
            want = int(per_block * rng.uniform(0.75, 1.25)) if made < econ_tx else int(per_block * 0.3)
            want = max(0, want - (int(ch.L.ctr[C_TX]) - run.block_first_tx))
            spu = 1e8 / P.USD_PER_BTC
            plan = new_plan()
            while want > 0:
                ch.grow(tx=want + 10, inp=4 * want + MARGIN_DEFAULT, out=4 * want + MARGIN_DEFAULT,
                        addr=3 * want + MARGIN_DEFAULT)
                got = int(run_events(ch.L, pop, rng, h, want, ch.feerate, spu, plan))
                if got == 0 and int(ch.L.ctr[C_TX]) + 2 <= len(ch.L.tx):
                    break
                want -= got
            made += run.close(*_pool_payout(ch, pop, h))
            b += 1
            if progress:
                progress(min(made, econ_tx), econ_tx)
        run.finish()
    finally:
        sink.close()
    sc = Scenario(seed, kind, scale, out, ch, pop, run.blocks, actors, cases, regtest_genesis_block(),
                  first_econ, behaviour=profile)
    sc.elapsed_s = _time.perf_counter() - t_start
    write_answer_key(sc)
    from chaintrail.scenario.prices import write_scenario_prices
    econ = [b.time for b in run.blocks] or [START_TIME]
    write_scenario_prices(out, seed, min(econ), max(econ))
    return sc

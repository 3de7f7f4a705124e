"""Transaction DAGs as the tracing kernel's index arrays: hand-written ones and random valid ones.

A chain is a list of ``Tx``; an input is ``(tx, vout)`` (spends an earlier output)
or ``Ext(value)`` (its previous output is not in the store; value -1 = unknown).
``build`` lays them out exactly as the store's index does (uint32 offsets with one
trailing sentinel, 0xFFFFFFFF for a missing id, -1 for an unknown value), and
``run`` calls ``trace_kernel`` on fresh scratch arrays and keeps everything it left.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from chaintrail.analysis import taint_kernels as K

NONE = 0xFFFFFFFF
UNTOUCHED = K.UNTOUCHED      # 0: scratch that is all zeros is untouched
FAR = 1 << 62


@dataclass(frozen=True)
class Ext:
    """An input whose spent output is not in the store."""

    value: int = -1


@dataclass
class Tx:
    ins: list = field(default_factory=list)      # (tx, vout) | Ext
    outs: list = field(default_factory=list)     # (value, addr | None)
    cb: bool = False
    time: int = 0
    mixer: bool = False


@dataclass
class Chain:
    txs: list[Tx]
    n_addr: int
    tx_first_in: np.ndarray
    tx_first_out: np.ndarray
    in_prev: np.ndarray
    in_value: np.ndarray
    out_value: np.ndarray
    out_spent: np.ndarray
    out_addr: np.ndarray
    tx_time: np.ndarray
    tx_is_cb: np.ndarray
    tx_mixer: np.ndarray

    @property
    def n_tx(self) -> int:
        return len(self.txs)

    @property
    def n_out(self) -> int:
        return len(self.out_value)

    def out(self, t: int, vout: int) -> int:
        return int(self.tx_first_out[t]) + vout

    def inp(self, t: int, vin: int) -> int:
        return int(self.tx_first_in[t]) + vin

    def tx_of_out(self, o: int) -> int:
        return int(np.searchsorted(self.tx_first_out, o, side="right") - 1)

    def tx_of_in(self, i: int) -> int:
        return int(np.searchsorted(self.tx_first_in, i, side="right") - 1)

    def fee(self, t: int) -> int | None:
        a0, a1 = int(self.tx_first_in[t]), int(self.tx_first_in[t + 1])
        iv = self.in_value[a0:a1]
        if (iv < 0).any():
            return None
        return int(iv.sum()) - int(self.out_value[self.tx_first_out[t]:self.tx_first_out[t + 1]].sum())


def build(txs: list[Tx], n_addr: int | None = None) -> Chain:
    """Index arrays for ``txs`` (a coinbase gets one input with no previous output and value -1)."""
    first_in, first_out = [0], [0]
    in_prev, in_value, out_value, out_addr = [], [], [], []
    for tx in txs:
        ins = [Ext(-1)] if tx.cb else tx.ins
        for x in ins:
            if isinstance(x, Ext):
                in_prev.append(NONE)
                in_value.append(x.value)
            else:
                t, v = x
                o = first_out[t] + v
                assert t < len(first_out) - 1 and v < first_out[t + 1] - first_out[t], "spends a later output"
                in_prev.append(o)
                in_value.append(out_value[o])
        for value, addr in tx.outs:
            out_value.append(value)
            out_addr.append(NONE if addr is None else addr)
        first_in.append(len(in_prev))
        first_out.append(len(out_value))
    out_spent = np.full(len(out_value), NONE, np.uint32)
    for i, p in enumerate(in_prev):
        if p != NONE:
            assert out_spent[p] == NONE, f"output {p} spent twice"
            out_spent[p] = i
    if n_addr is None:
        n_addr = max([a for a in out_addr if a != NONE], default=-1) + 1
    return Chain(
        txs=txs, n_addr=max(n_addr, 1),
        tx_first_in=np.array(first_in, np.uint32), tx_first_out=np.array(first_out, np.uint32),
        in_prev=_ro(np.array(in_prev, np.uint32)), in_value=_ro(np.array(in_value, np.int64)),
        out_value=_ro(np.array(out_value, np.int64)), out_spent=_ro(out_spent),
        out_addr=_ro(np.array(out_addr, np.uint32)),
        tx_time=np.array([tx.time for tx in txs], np.int64), tx_is_cb=np.array([tx.cb for tx in txs], np.bool_),
        tx_mixer=np.array([tx.mixer for tx in txs], np.bool_))


def _ro(a: np.ndarray) -> np.ndarray:
    # Read-only like the store's memory-mapped columns: the kernel runs the engine's own specialisation.
    a.flags.writeable = False
    return a


def _split(rng: random.Random, total: int, n: int) -> list[int]:
    cuts = sorted(rng.randint(0, total) for _ in range(n - 1))
    edges = [0] + cuts + [total]
    return [edges[k + 1] - edges[k] for k in range(n)]


def random_chain(rng: random.Random, n_tx: int, n_addr: int, *, max_value: int = 10**6, p_cb: float = 0.15,
                 p_ext: float = 0.1, p_unknown: float = 0.5, p_mixer: float = 0.1, p_no_addr: float = 0.05,
                 max_in: int = 4, max_out: int = 4) -> Chain:
    """A valid chain: inputs spend random earlier unspent outputs, fees >= 0, times non-decreasing.

    Some txs are coinbases, some inputs come from outside the store (value known or
    -1), some outputs pay no address, some values are zero, some txs are mixers.
    """
    utxo: list[tuple[int, int]] = []
    values: dict[tuple[int, int], int] = {}
    txs: list[Tx] = []
    time = rng.randint(0, 1000)

    def addr():
        return None if rng.random() < p_no_addr else rng.randrange(n_addr)

    for t in range(n_tx):
        time += rng.choice((0, 0, 1, 5, 60))
        if not utxo or rng.random() < p_cb:
            n = rng.randint(1, max_out)
            outs = [(v, addr()) for v in _split(rng, rng.randint(0, max_value), n)]
            tx = Tx(outs=outs, cb=True, time=time)
        else:
            k = rng.randint(1, min(max_in, len(utxo)))
            picks = rng.sample(range(len(utxo)), k)
            ins: list = [utxo[j] for j in picks]
            for j in sorted(picks, reverse=True):
                utxo.pop(j)
            vin = sum(values[x] for x in ins)
            while rng.random() < p_ext:
                v = rng.randint(0, max_value)
                vin += v
                ins.append(Ext(-1 if rng.random() < p_unknown else v))
            rng.shuffle(ins)
            fee = rng.choice((0, rng.randint(0, vin), rng.randint(0, vin // 20 + 1)))
            fee = min(fee, vin)
            n = rng.randint(1, max_out)
            outs = [(v, addr()) for v in _split(rng, vin - fee, n)]
            tx = Tx(ins=ins, outs=outs, time=time, mixer=rng.random() < p_mixer)
        for v, (value, _) in enumerate(tx.outs):
            values[(t, v)] = value
            utxo.append((t, v))
        txs.append(tx)
    return build(txs, n_addr)


@dataclass
class Run:
    """Everything one kernel call returned or left in its scratch arrays."""

    chain: Chain
    forward: bool
    model: int
    src_out: np.ndarray
    src_amt: np.ndarray
    touched: np.ndarray
    totals: np.ndarray
    pool_s: np.ndarray
    pool_e: np.ndarray
    edge_in: np.ndarray
    edge_amt: np.ndarray
    popped: np.ndarray
    taint: np.ndarray
    hops: np.ndarray
    pred: np.ndarray
    status: np.ndarray
    iv_off: np.ndarray
    iv_cnt: np.ndarray
    qbits0: np.ndarray
    qbits1: np.ndarray

    @property
    def queued(self) -> np.ndarray:
        """Per tx: did the kernel queue (and so process) it. Every queued tx is popped once."""
        q = np.zeros(self.chain.n_tx, np.bool_)
        q[self.popped] = True
        return q

    def with_status(self, *codes: int) -> int:
        """Sats left on outputs whose final status is one of ``codes``."""
        m = np.isin(self.status, np.array(codes, np.uint8))
        return int(self.taint[m].sum())

    def share(self, t: int, vout: int) -> int:
        return int(self.taint[self.chain.out(t, vout)])

    def st(self, t: int, vout: int) -> int:
        return int(self.status[self.chain.out(t, vout)])

    @property
    def pred_id(self) -> np.ndarray:
        """Per output its best predecessor (NONE: none), decoded from the scratch's + 1 encoding."""
        return np.where(self.pred == 0, NONE, self.pred.astype(np.int64) - 1)

    def intervals(self, o: int) -> list[tuple[int, int]]:
        off, cnt = int(self.iv_off[o]), int(self.iv_cnt[o])
        return [(int(self.pool_s[q]), int(self.pool_e[q])) for q in range(off, off + cnt)]


def scratch(chain: Chain) -> dict[str, np.ndarray]:
    """Fresh scratch as the engine's (``trace_scratch.Scratch``): every array all zeros."""
    n_out, n_tx = chain.n_out, chain.n_tx
    return {"taint": np.zeros(n_out, np.int64), "hops": np.zeros(n_out, np.int32),
            "pred": np.zeros(n_out, np.uint32), "status": np.zeros(n_out, np.uint8),
            "iv_off": np.zeros(n_out, np.int64),
            "iv_cnt": np.zeros(n_out, np.int32), **dict(zip(("qbits0", "qbits1"), K.queue_bits(n_tx)))}


def run(chain: Chain, src_out, src_amt=None, *, forward: bool = True, model: int = K.HAIRCUT,
        stop_addrs=(), mixer_policy: int = K.POLICY_HAIRCUT, t_min: int = -FAR, t_max: int = FAR,
        max_hops: int = 1000, min_amt: int = 0, scr: dict | None = None, maps: bool = True) -> Run:
    """Call the kernel with the same argument types TraceEngine uses. ``maps``: pass the output ->
    spending tx and output -> tx maps (``store.tx_maps``), else empty ones (the kernel searches). Each tx is a
    block of its own, so its time is its block's."""
    src_out = np.asarray(src_out, np.int64)
    src_amt = chain.out_value[src_out].copy() if src_amt is None else np.asarray(src_amt, np.int64)
    stop = np.zeros(chain.n_addr, np.bool_)
    stop[list(stop_addrs)] = True
    s = scratch(chain) if scr is None else scr
    out_next = out_tx = np.zeros(0, np.uint32)
    if maps:
        in_tx, out_tx = K.tx_of(chain.tx_first_in), K.tx_of(chain.tx_first_out)
        sp = chain.out_spent
        out_next = np.where(sp == K.NONE32, K.NONE32, in_tx[np.where(sp == K.NONE32, 0, sp)]).astype(np.uint32)
    touched, totals, pool_s, pool_e, edge_in, edge_amt, popped = K.trace_kernel(
        bool(forward), int(model), src_out, src_amt, chain.tx_first_in, chain.tx_first_out,
        out_next, out_tx, chain.in_prev,
        chain.in_value, chain.out_value, chain.out_spent, chain.out_addr, stop, np.flatnonzero(chain.tx_mixer),
        int(mixer_policy),
        np.arange(chain.n_tx, dtype=np.uint32), chain.tx_time, chain.tx_is_cb,
        int(t_min), int(t_max), int(max_hops), int(min_amt), s["taint"], s["hops"], s["pred"],
        s["status"], s["iv_off"], s["iv_cnt"], s["qbits0"], s["qbits1"])
    return Run(chain, bool(forward), int(model), src_out, src_amt, touched, totals, pool_s, pool_e, edge_in,
               edge_amt, popped, **s)

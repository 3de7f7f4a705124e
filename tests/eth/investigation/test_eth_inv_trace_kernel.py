"""The Ethereum trace kernel's fast paths (issue 21): the 64-bit muldiv against Python ints, and edge buffers
that overflow mid-trace (grown and rerun) giving the very same trace."""

from __future__ import annotations

import random

import numba as nb
import numpy as np

from chaintrail.analysis.eth.trace import EthTraceParams, EthTracer
from chaintrail.analysis.eth.u128 import join, muldiv, muldiv64, split


@nb.njit
def _many64(x, t, b, out):
    for i in range(x.shape[0]):
        out[i] = muldiv64(x[i], t[i], b[i])


def test_muldiv64_is_exact_against_python_ints() -> None:
    rng = random.Random(3)
    cases = [(2**64 - 1, 2**64 - 1, 2**64 - 1), (1, 1, 2**64 - 1), (2**64 - 2, 2**64 - 1, 2**64 - 1), (3, 5, 7),
             (0, 5, 7), (2**63, 2**63 + 5, 2**64 - 3), (2**40, 2**63, 2**41)]
    for _ in range(50_000):
        b = rng.randrange(1, 1 << rng.choice([8, 32, 33, 62, 63, 64]))
        small = rng.randrange(0, b + 1)
        big = rng.randrange(0, 1 << 64)
        cases.append((small, big, b) if rng.random() < 0.5 else (big, small, b))
    x, t, b = (np.array(c, np.uint64) for c in zip(*cases))
    out = np.empty(len(cases), np.uint64)
    _many64(x, t, b, out)
    assert [int(v) for v in out] == [a * c // d for a, c, d in cases]
    # and muldiv takes the fast path only where it holds: a quotient past 2^64 stays exact
    got = join(*muldiv(*(np.uint64(v) for v in (*split(2**63), *split(2**63), *split(3)))))
    assert got == 2**126 // 3


def test_edge_buffers_overflowing_mid_trace_give_the_same_trace(tmp_path) -> None:
    from test_eth_inv_trace import _addr, _deposit_file, _graph, _tx
    # a fan: V pays A 1000 (the source), A pays B..K in turn, each pays X; every flow carries taint
    V, A, X = 0, 1, 7
    flows = [(0, V, A, 0xFFFFFFFF, "tx_value", 1000)]
    t = 1
    for k in range(2, 7):
        flows.append((t, A, k, 0xFFFFFFFF, "tx_value", 100 + k))
        t += 1
    for k in range(2, 7):
        flows.append((t, k, X, 0xFFFFFFFF, "tx_value", 50 + k))
        t += 1
    _deposit_file(tmp_path, [_addr(X)], _addr(6))
    src = f"{_tx(0)}:0x{_addr(A).hex()}"
    params = EthTraceParams(max_hops=10, deposit_stops="all")
    want = EthTracer(None, _graph(flows), tmp_path).trace(src, params)
    tr = EthTracer(None, _graph(flows), tmp_path)
    calls = []
    kernel = tr._kernel

    def counted(*a):
        out = kernel(*a)
        calls.append(int(out[9]))
        return out

    tr._kernel = counted
    tr._edge_buffers(2 * (1 + 2 + tr.conv_per_pos))      # room for a few records only: overflows, then grows
    got = tr.trace(src, params)
    assert calls[0] == -1 and calls[-1] > 0 and len(calls) >= 2
    assert got == want and len(got["steps"]) == 11
    assert tr.trace(src, params) == want                  # and the scratch was left clean

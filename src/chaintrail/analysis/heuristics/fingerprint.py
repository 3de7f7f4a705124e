"""Client fingerprint: the change is spent later by the same wallet software.

A tx's fingerprint is (version, locktime style — zero or a height for
anti-fee-sniping —, RBF signalling, BIP69 output ordering). The output whose
spending tx carries the same fingerprint, when the other outputs' spenders do
not, is the change (Kappos et al. 2022; BlockSci's client behaviour heuristics).
"""

import numba as nb
import numpy as np

from chaintrail.analysis.heuristics._common import NONE, eligible, tx_of_input

NAME = "fingerprint"
VERSION = "fingerprint/1"  # bump when the rule changes (error_rates.json records it)
CONFIDENCE = 0.6


@nb.njit(cache=True)
def fingerprint(t, tx_version, tx_locktime, in_sequence, tx_first_in, tx_first_out, out_value):
    rbf = False
    for i in range(tx_first_in[t], tx_first_in[t + 1]):
        if in_sequence[i] < 0xFFFFFFFE:
            rbf = True
    sorted_out = True
    for j in range(tx_first_out[t] + 1, tx_first_out[t + 1]):
        if out_value[j] < out_value[j - 1]:
            sorted_out = False
    lt = 0 if tx_locktime[t] == 0 else (1 if tx_locktime[t] < 500_000_000 else 2)
    return tx_version[t] * 64 + lt * 8 + (4 if rbf else 0) + (2 if sorted_out else 0)


@nb.njit(cache=True)
def run(tx_version, tx_locktime, in_sequence, tx_first_in, tx_first_out, out_addr, out_value, out_spent,
        tx_is_cb, tx_skip, cand):
    for t in range(cand.shape[0]):
        cand[t] = -1
        if not eligible(t, tx_first_out, out_addr, tx_is_cb, tx_skip):
            continue
        fp = fingerprint(t, tx_version, tx_locktime, in_sequence, tx_first_in, tx_first_out, out_value)
        hit = -1
        hits = 0
        differ = 0
        for j in range(tx_first_out[t], tx_first_out[t + 1]):
            if out_addr[j] == NONE or out_spent[j] == NONE:
                continue
            u = tx_of_input(tx_first_in, np.int64(out_spent[j]))
            if fingerprint(u, tx_version, tx_locktime, in_sequence, tx_first_in, tx_first_out, out_value) == fp:
                hit = j
                hits += 1
            else:
                differ += 1
        if hits == 1 and differ >= 1:
            cand[t] = hit


def detect(ctx):
    cand = np.empty(len(ctx.tx_is_cb), np.int64)
    run(ctx.tx_version, ctx.tx_locktime, ctx.in_sequence, ctx.tx_first_in, ctx.tx_first_out, ctx.out_addr,
        ctx.out_value, ctx.out_spent, ctx.tx_is_cb, ctx.tx_skip, cand)
    return cand

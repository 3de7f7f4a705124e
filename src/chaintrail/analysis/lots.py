"""Lot-based cost of disposals, in exact integer cents: FIFO over an account's line, or specific identification.

FIFO uses the same picture as the taint models' FIFO (``taint_kernels``: value laid on a line, inputs end to
end; ``analysis/eth/lines``: an account's place as received/sent so far): receipts are laid end to end on the
account's line in time order, each a lot with its cost; the k-th disposal takes the line's range
``[D[k-1], D[k])`` of sats disposed so far. The cost of a range is ``C(D[k]) - C(D[k-1])`` where ``C(x)`` is
the cost of the first ``x`` sats (whole lots before, plus ``floor(cost * taken / size)`` of the lot ``x`` falls
in): the costs telescope, so cost disposed + cost still held = cost received, to the cent. Lots are found with
``numpy.searchsorted`` over the line.

Specific identification takes the lots a transaction really spends: each of the account's outputs is a lot;
a spend consumes its inputs' lots whole, its change outputs inherit their share of the cost and the rest is
the cost of what left.
"""

from __future__ import annotations

import numpy as np


def _cost_upto(x: int, line: np.ndarray, cost_cum: list[int], cost: list[int], size: list[int]) -> int:
    """Cost of the first ``x`` sats of the line (``line``: cumulative lot ends)."""
    j = int(np.searchsorted(line, x, side="right"))      # lots wholly before x
    if j >= len(size):
        return cost_cum[-1]
    before = int(line[j - 1]) if j else 0
    return (cost_cum[j - 1] if j else 0) + cost[j] * (x - before) // size[j]


def fifo_costs(lot_sat: np.ndarray, lot_cost: list[int], lot_known: np.ndarray,
               disp_sat: np.ndarray) -> tuple[list[int], list[bool], list[tuple[int, int]], int]:
    """Cost of each disposal under FIFO.

    ``lot_sat``/``lot_cost`` are the receipts in order, ``disp_sat`` the disposals in order (each after the
    receipts it may take from). Returns (cost per disposal, whether every lot it took from had a price, the
    range of lot indices it took from, sats disposed beyond every receipt: held before the store or unknown).
    """
    line = np.cumsum(np.asarray(lot_sat, np.int64))
    size = [int(s) for s in lot_sat]
    cost = [int(c) for c in lot_cost]
    cost_cum = list(np.cumsum(np.array(cost, dtype=object))) if cost else [0]
    known_cum = np.concatenate([[0], np.cumsum(~np.asarray(lot_known, bool))]) if len(lot_sat) else np.zeros(1, int)
    total = int(line[-1]) if len(line) else 0
    d_end = np.cumsum(np.asarray(disp_sat, np.int64))
    costs, known, ranges = [], [], []
    prev_c, prev_x = 0, 0
    for x in d_end.tolist():
        xc = min(x, total)
        c = _cost_upto(xc, line, cost_cum, cost, size) if len(size) else 0
        costs.append(int(c - prev_c))
        j0 = int(np.searchsorted(line, prev_x, side="right"))
        j1 = int(np.searchsorted(line, max(xc - 1, prev_x), side="right"))
        j1 = min(j1, len(size) - 1)
        ranges.append((j0, j1))
        known.append(bool(x <= total and (j1 < j0 or known_cum[j1 + 1] - known_cum[j0] == 0)))
        prev_c, prev_x = c, xc
    beyond = max(0, int(d_end[-1]) - total) if len(d_end) else 0
    return costs, known, ranges, beyond


def split_cost(cost: int, parts: list[int]) -> list[int]:
    """``cost`` split over ``parts`` (sats) in proportion, floors telescoping so the pieces sum to ``cost``."""
    total = sum(parts)
    if total <= 0:
        return [0] * len(parts)
    out, run, prev = [], 0, 0
    for p in parts:
        run += p
        c = cost * run // total
        out.append(c - prev)
        prev = c
    return out


def fifo_costs_exact(lot_amount: list[int], lot_cost: list[int], lot_known: list[bool],
                     disp_amount: list[int]) -> tuple[list[int], list[bool]]:
    """``fifo_costs`` in Python integers, for amounts beyond 64 bits (wei, token base units).

    The same line and telescoping costs: a disposal's cost is ``C(D[k]) - C(D[k-1])``; ``known`` is False where
    it took from a lot without a price or went beyond every receipt (held before the store).
    """
    import bisect
    from itertools import accumulate

    ends = list(accumulate(int(a) for a in lot_amount))
    cum = list(accumulate(int(c) for c in lot_cost))
    unknown = list(accumulate(0 if k else 1 for k in lot_known))
    total = ends[-1] if ends else 0

    def c_upto(x: int) -> int:
        j = bisect.bisect_right(ends, x)
        if j >= len(ends):
            return cum[-1] if cum else 0
        before = ends[j - 1] if j else 0
        return (cum[j - 1] if j else 0) + int(lot_cost[j]) * (x - before) // int(lot_amount[j])

    costs, known, prev_x, prev_c = [], [], 0, 0
    for x in accumulate(int(d) for d in disp_amount):
        xc = min(x, total)
        c = c_upto(xc)
        costs.append(c - prev_c)
        j0 = bisect.bisect_right(ends, prev_x)
        j1 = min(bisect.bisect_right(ends, max(xc - 1, prev_x)), len(ends) - 1)
        bad = j1 >= j0 and (unknown[j1] - (unknown[j0 - 1] if j0 else 0)) > 0
        known.append(x <= total and not bad)
        prev_x, prev_c = xc, c
    return costs, known

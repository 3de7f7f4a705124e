"""FIFO cost basis by hand, the reference the accounting tests check ``analysis.lots`` against (BTC and ETH)."""

from __future__ import annotations


def fifo_reference(lots: list[tuple[int, int]], uses: list[int]) -> list[int]:
    """FIFO by hand: lots (units, cost cents) end to end; the cost of the first x units is the whole lots before x
    plus floor(cost * taken / size) of the lot x falls in; a use costs C(end) - C(start)."""
    def c_upto(x):
        total = 0
        for size, cost in lots:
            if x >= size:
                total, x = total + cost, x - size
            else:
                return total + cost * x // size
        return total
    out, at = [], 0
    for u in uses:
        out.append(c_upto(at + u) - c_upto(at))
        at += u
    return out

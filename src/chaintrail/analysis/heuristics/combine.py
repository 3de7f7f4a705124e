"""Vote the change heuristics into one answer per tx, with a confidence.

Each heuristic names at most one output per tx. Votes for the same output
combine as independent evidence (1 - prod(1 - c)); votes for other outputs
count against it the same way. The answer is the best-supported output when
its support beats the opposition by ``margin``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chaintrail.analysis.heuristics import (address_reuse, fingerprint, fresh_change, optimal_change,
                                            peel_continuation, round_number, type_match)
from chaintrail.analysis.heuristics.context import TxContext

HEURISTICS = (address_reuse, type_match, optimal_change, round_number, fingerprint, fresh_change, peel_continuation)
VERSION = "change/1"


@dataclass
class ChangeResult:
    change: np.ndarray                    # out_num of the change output per tx, -1 if none
    confidence: np.ndarray                # float per tx
    votes: dict[str, np.ndarray]          # each heuristic's own candidate per tx


def detect_change(ctx: TxContext, use: tuple[str, ...] | None = None, margin: float = 0.5) -> ChangeResult:
    chosen = [h for h in HEURISTICS if use is None or h.NAME in use]
    votes = {h.NAME: h.detect(ctx) for h in chosen}
    n = len(ctx.tx_is_cb)
    stack = np.stack([votes[h.NAME] for h in chosen]) if chosen else np.full((1, n), -1)
    conf = np.array([h.CONFIDENCE for h in chosen] or [0.0])[:, None]
    change = np.full(n, -1, np.int64)
    support = np.zeros(n)
    # For each tx take the candidate with the largest combined support.
    for k in range(stack.shape[0]):
        cand = stack[k]
        agree = np.ones(n)
        oppose = np.ones(n)
        for m in range(stack.shape[0]):
            same = (stack[m] == cand) & (cand >= 0)
            other = (stack[m] >= 0) & (stack[m] != cand)
            agree *= np.where(same, 1 - conf[m], 1.0)
            oppose *= np.where(other, 1 - conf[m], 1.0)
        s = (1 - agree) - (1 - oppose)
        better = (cand >= 0) & (s > support)
        change[better] = cand[better]
        support[better] = s[better]
    keep = support >= margin
    return ChangeResult(np.where(keep, change, -1), np.where(keep, support, 0.0), votes)

"""Error rates of the heuristics against ground truth: precision and recall, exactly counted.

* Classification (CoinJoin / mixer txs): per label and for "any mixing", over txs.
* Clustering: pairwise precision and recall over address pairs, from the contingency table of
  (predicted cluster, true entity): pairs in the same cell are true positives. Computed with
  sums of n*(n-1)/2, never by enumerating pairs, so millions of addresses are fine.
* Change detection: per heuristic and combined, over txs whose true change output is known.

Reports quote these numbers (with the scenario seeds they came from), so every figure also
carries its support (how many items it was measured on).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

Z95 = 1.959963984540054   # two-sided 95% normal quantile


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for ``k`` successes in ``n`` trials (95% by default); None when n is 0.

    Unlike the normal approximation it stays inside [0, 1] and is honest at 0/n and n/n,
    which is where a heuristic's counts usually sit.
    """
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"wilson: successes {k} not within 0..{n}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Score:
    name: str
    precision: float | None
    recall: float | None
    tp: int
    fp: int
    fn: int

    @staticmethod
    def of(name: str, tp: int, fp: int, fn: int) -> "Score":
        p = tp / (tp + fp) if tp + fp else None
        r = tp / (tp + fn) if tp + fn else None
        return Score(name, p, r, int(tp), int(fp), int(fn))

    def as_dict(self) -> dict:
        return asdict(self)

    def precision_ci(self) -> tuple[float, float] | None:
        """95% Wilson interval of the precision (over the tp + fp conclusions drawn)."""
        return wilson(self.tp, self.tp + self.fp)

    def recall_ci(self) -> tuple[float, float] | None:
        """95% Wilson interval of the recall (over the tp + fn true cases)."""
        return wilson(self.tp, self.tp + self.fn)


def binary_score(name: str, predicted: np.ndarray, truth: np.ndarray) -> Score:
    """Precision/recall of a boolean prediction over the same items."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    tp = int((predicted & truth).sum())
    return Score.of(name, tp, int((predicted & ~truth).sum()), int((~predicted & truth).sum()))


def _pairs(counts: np.ndarray) -> int:
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def pairwise_cluster_score(name: str, predicted: np.ndarray, truth: np.ndarray) -> Score:
    """Pairwise precision/recall of a predicted partition against the true one (same items)."""
    if len(predicted) == 0:
        return Score.of(name, 0, 0, 0)
    _, p = np.unique(predicted, return_inverse=True)
    _, t = np.unique(truth, return_inverse=True)
    cell = p.astype(np.int64) * (int(t.max()) + 1) + t
    _, cell_counts = np.unique(cell, return_counts=True)
    tp = _pairs(cell_counts)
    pred_pairs = _pairs(np.bincount(p))
    true_pairs = _pairs(np.bincount(t))
    return Score.of(name, tp, pred_pairs - tp, true_pairs - tp)


def change_score(name: str, predicted: np.ndarray, truth: np.ndarray) -> Score:
    """Change outputs: ``predicted``/``truth`` are out_num per tx, -1 for none.

    A prediction on a tx whose true change is known counts right only if it names that output;
    a prediction on a tx known to have no change is a false positive; a missed change is a false negative.
    """
    made = predicted >= 0
    has = truth >= 0
    tp = int((made & (predicted == truth)).sum())
    fp = int((made & (predicted != truth)).sum())
    fn = int((has & (predicted != truth)).sum())
    return Score.of(name, tp, fp, fn)

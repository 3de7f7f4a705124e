"""Change-output heuristics, one per module, each with a confidence; ``combine`` votes them."""

from chaintrail.analysis.heuristics.combine import HEURISTICS, ChangeResult, detect_change

__all__ = ["HEURISTICS", "ChangeResult", "detect_change"]

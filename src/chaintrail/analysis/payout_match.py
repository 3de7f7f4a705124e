"""Custodial mixer payouts matched by amount and timing: a lead, always with its false-match rate.

A custodial mixer (ChipMixer; Bitcoin Fog, Helix, Blender, Sinbad paying out
directly) leaves no tx linking a deposit to its payout. What links them is the
amount and the time: what the customer gets back, in the blocks after the
deposit, is the deposit less the service's fee (a percentage in a known range),
or, at a chip mixer, the deposit less what did not divide into chips (less than
one smallest chip). This was the technique used against Bitcoin Fog and Helix.

Here the payout side is the mixer's customer-spent chips (or direct payout
outputs), grouped by owner (co-spending and shared destinations, see
``demix.Demixer.components``), within the demix window after the first deposit.
An owner group whose value lies in the band of the account's unclaimed rest is a
*candidate*; when exactly one group is, it is claimed as a lead (evidence
``pattern:amount-timing``) with the number of candidates and the false-match
rate measured for the rule (``amount_timing_rate.json``: how often a synthetic
deposit with no payout of its own finds exactly one matching group, on generated
chains; regenerate with ``bench/amount_timing.py``). A match is never a claim
without that rate beside it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

# Service fee as a fraction of the deposit: ChipMixer took none (only what did not divide into chips),
# Bitcoin Fog 1-3 %, Helix 2.5 %. A Fog- or Helix-only search can narrow it, e.g. (0.005, 0.05).
FEE_RANGE = (0.0, 0.05)
SMALLEST_CHIP = 100_000          # a chip mixer keeps what does not divide into chips: below one smallest chip
EVIDENCE = "pattern:amount-timing"
RATE_FILE = Path(__file__).with_name("amount_timing_rate.json")


def bands(rest: int, fee_range: tuple[float, float] = FEE_RANGE,
          smallest: int = SMALLEST_CHIP) -> list[tuple[int, int]]:
    """The payout sums that match a deposit (or an account's unclaimed rest) of ``rest`` sats, as closed
    ranges: net of a fee in ``fee_range``, or short of it by less than one smallest chip."""
    lo_fee, hi_fee = fee_range
    if not 0.0 <= lo_fee <= hi_fee < 1.0:
        raise ValueError(f"fee range {fee_range} must satisfy 0 <= low <= high < 1")
    return [(int(rest * (1.0 - hi_fee)), int(rest * (1.0 - lo_fee))), (rest - smallest + 1, rest)]


def candidates(group_values: dict[int, int], rest: int, fee_range: tuple[float, float] = FEE_RANGE,
               smallest: int = SMALLEST_CHIP) -> list[int]:
    """The owner groups (root -> value) whose value matches ``rest`` (``bands``), by root."""
    bs = bands(rest, fee_range, smallest)
    return sorted(r for r, v in group_values.items() if any(lo <= v <= hi for lo, hi in bs))


@lru_cache(maxsize=1)
def measured_rate() -> dict:
    """The false-match rate measured for this rule (counts, 95 % Wilson interval, where measured), or a
    statement that none was measured."""
    if not RATE_FILE.exists():
        return {"false_match_rate": None, "note": "not measured: run bench/amount_timing.py"}
    return json.loads(RATE_FILE.read_text())


def lead_note(n_candidates: int) -> dict:
    """What every amount-timing lead carries: how many groups competed, and the rule's measured error rate."""
    r = measured_rate()
    return {"candidates": n_candidates, "false_match_rate": r.get("false_match_rate"),
            "false_matches": r.get("false_matches"), "trials": r.get("trials"), "wilson95": r.get("wilson95"),
            "measured_on": r.get("measured_on")}

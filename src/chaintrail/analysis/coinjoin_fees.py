"""A CoinJoin round's fee model, calibrated on the round itself, to tell a participant's change.

In a Wasabi 1.x round every participant pays the coordinator one rate per mixed sat (0.003 % x the
anonymity set) and pays the miners for its own inputs and outputs at the round's fee rate, so

    entry - change - mixed = rate * mixed + fee_per_vbyte * (own input and output vbytes).

Both numbers are the round's, read off the round: the rate from the coordinator's fee output (the
output of unique value paid to an address that also receives in other CoinJoins: the coordinator
reuses it) over everything mixed, the fee rate from the tx fee over its vbytes (Wasabi 1.x is P2WPKH
only). Where the subset-sum rule leaves an entry two or more candidate changes, the model keeps the one
whose fees are what the round charges. It is used only where it explains the round: most participants
whose change is unambiguous must fit it, so a round built by other rules falls back to amounts alone.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

VB_IN, VB_OUT = 68, 31          # P2WPKH input and output vbytes
MIN_CALIBRATION = 3             # participants with an unambiguous change that must agree
AGREEMENT = 0.8


@dataclass(frozen=True)
class RoundFees:
    rate: float                 # coordinator fee per mixed sat
    per_vbyte: float            # mining fee per vbyte

    def fits(self, entry: int, change: int, mixed: int, outputs: int) -> bool:
        """Whether ``entry`` paying ``mixed`` sats into ``outputs`` equal outputs plus ``change``
        (0: none) leaves exactly the fees this round charges (mining within -10 %/+30 %)."""
        mining = entry - change - mixed - self.rate * mixed
        expect = self.per_vbyte * (VB_IN + VB_OUT * (outputs + (change > 0)))
        return 0.9 * expect - outputs - 2 <= mining <= 1.3 * expect + outputs + 2


def subset_sums(dens: list[int]) -> tuple[list[int], dict[int, int]]:
    """Every sum of distinct denominations (sorted) and the fewest denominations that make it."""
    parts: dict[int, int] = {}
    for m in range(1, 1 << len(dens)):
        s = sum(d for k, d in enumerate(dens) if m >> k & 1)
        parts[s] = min(parts.get(s, 99), bin(m).count("1"))
    return sorted(parts), parts


def decompositions(entry: int, uniq: list[tuple[int, int]], sums: list[int]) -> list[tuple[int, int]]:
    """(output, sum of denominations) pairs that could be ``entry``'s change (output -1: no change):
    entry - change must be a sum of the round's denominations up to fees of at most 0.3 % of that sum
    (coordinator or maker fees) plus 20k sat of mining. Only the largest sum <= the rest can fit."""
    hits = []
    for x, v in [(-1, 0)] + uniq:
        r = entry - v
        k = bisect.bisect_right(sums, r)
        if v < entry and k > 0 and r - sums[k - 1] <= sums[k - 1] * 3 // 1000 + 20_000:
            hits.append((x, sums[k - 1]))
    return hits


def calibrate(ins: list[int], outs: list[int], values, uniq: list[tuple[int, int]], sums: list[int],
              parts: dict[int, int], coordinator_fee: int, mixed: int) -> RoundFees | None:
    """The round's fee model, if the round's own unambiguous participants confirm it; else None.

    ``ins``/``outs`` are the round's spent and created outputs, ``values`` their values by output id,
    ``mixed`` the sats in its equal outputs."""
    vin = sum(int(values[o]) for o in ins)
    vout = sum(int(values[x]) for x in outs)
    if mixed == 0 or vin <= vout:
        return None
    model = RoundFees(coordinator_fee / mixed, (vin - vout) / (VB_IN * len(ins) + VB_OUT * len(outs)))
    checked = agreed = 0
    value_of = dict(uniq)
    for o in ins:
        hits = decompositions(int(values[o]), uniq, sums)
        if len(hits) != 1 or hits[0][0] < 0:
            continue
        x, s = hits[0]
        checked += 1
        agreed += model.fits(int(values[o]), value_of[x], s, parts[s])
    return model if checked >= MIN_CALIBRATION and agreed >= AGREEMENT * checked else None


def change_outputs(entries: list[int], ins: list[int], outs: list[int], values, coordinator: int | None) -> list[int]:
    """The change outputs of the participant entries ``entries`` (among the round's spent outputs
    ``ins``; ``outs`` the round's outputs, ``values`` values by output id, ``coordinator`` the
    coordinator's fee output or None).

    An entry's change is the one unique-valued output that leaves a sum of denominations (each at most
    once) up to fees; "no change" counts as a candidate. Where the round's fee model holds, only
    candidates that leave exactly the round's fees count, and an output that is another participant's
    only fit is theirs. One participant per input: one that registered several is not decomposed."""
    counts: dict[int, int] = {}
    for x in outs:
        counts[int(values[x])] = counts.get(int(values[x]), 0) + 1
    dens = sorted(v for v, n in counts.items() if n > 1)
    if not dens:
        return []
    sums, parts = subset_sums(dens)
    uniq = [(x, int(values[x])) for x in outs if counts[int(values[x])] == 1 and x != coordinator]
    mixed = sum(v * n for v, n in counts.items() if n > 1)
    model = None if coordinator is None else calibrate(ins, outs, values, uniq, sums, parts, int(values[coordinator]),
                                                       mixed)
    value_of = dict(uniq)

    def fits(o: int) -> list[tuple[int, int]]:
        v_in = int(values[o])
        hits = decompositions(v_in, uniq, sums)
        return hits if model is None else [(x, s) for x, s in hits
                                           if model.fits(v_in, value_of.get(x, 0), s, parts[s])]
    mine = set(entries)
    theirs = {h[0][0] for o in ins if model is not None and o not in mine
              for h in (fits(o),) if len(h) == 1 and h[0][0] >= 0}
    found: list[int] = []
    for o in entries:
        hits = [h for h in fits(o) if h[0] not in theirs]
        if len(hits) == 1 and hits[0][0] >= 0 and hits[0][0] not in found:
            found.append(hits[0][0])
    return found

"""The Ethereum scenario's crime cases, one kind per module; ``make_crimes`` starts the ones a kind names.

Each case is a ``Crime`` (``base.py``): ``Kind(world, senders, rng, ledger, start_block, horizon=...)``, then
``step(n)`` before mining each block ``n`` of chain A until ``done``; chain B's sender (for the bridge) is
mined by the caller too. The orchestrator calls the cases' ``step`` before filling a block with background
transactions (a case waits a block when less than ``RESERVE_GAS`` is left).
"""

from __future__ import annotations

import numpy as np

from chaintrail.scenario.eth.case_ledger import CaseLedger
from chaintrail.scenario.eth.crimes.base import Crime
from chaintrail.scenario.eth.crimes.approval_phishing import ApprovalPhishing
from chaintrail.scenario.eth.crimes.defi_exploit import DefiExploit
from chaintrail.scenario.eth.crimes.pig_butchering import PigButchering
from chaintrail.scenario.eth.crimes.sanctions_evasion import SanctionsEvasion

CRIME_KINDS: dict[str, type[Crime]] = {"defi_exploit": DefiExploit, "approval_phishing": ApprovalPhishing,
                                       "pig_butchering": PigButchering, "sanctions_evasion": SanctionsEvasion}


def make_crimes(kind: str, world, senders, rng: np.random.Generator, ledger: CaseLedger, start_block: int, *,
                horizon: int = 7_200) -> list[Crime]:
    """The cases of ``kind`` (``all``: one of each kind, in a fixed order; ``none``: no case)."""
    if kind == "none":
        return []
    names = list(CRIME_KINDS) if kind == "all" else [kind]
    unknown = [n for n in names if n not in CRIME_KINDS]
    if unknown:
        raise ValueError(f"unknown Ethereum crime kind {unknown[0]!r} (known: {', '.join(CRIME_KINDS)}, all)")
    return [CRIME_KINDS[n](world, senders, rng, ledger, start_block, horizon=horizon) for n in names]


__all__ = ["CRIME_KINDS", "Crime", "make_crimes"]

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


DEFAULT_HORIZON = 300   # blocks (an hour of 12 s blocks) when the context names none


def build_cases(kind: str, ctx) -> list[Crime]:
    """generate.py's hook: the cases of ``kind`` on its world, senders, relay and economy (``CaseContext``).

    One ``CaseLedger`` is shared by the cases and handed to the economy (``economy.case_ledger``), which records
    its Tornado deposits and withdrawals there, so the haircut replay sees each pool's whole history. The
    bridge's shared relayer (``ctx.relay``) mints every lock, the cases' included; the cases' own randomness is
    drawn from the seed apart from the economy's.
    """
    ledger = CaseLedger(ctx.world.chain_id, ctx.world.chain_id_b)
    ctx.economy.case_ledger = ledger
    rng = np.random.Generator(np.random.PCG64([int(ctx.seed), 0xC0FFEE]))
    horizon = int(getattr(ctx, "horizon", None) or DEFAULT_HORIZON)
    crimes = make_crimes(kind, ctx.world, (ctx.sender_a, ctx.sender_b), rng, ledger, ctx.sender_a.number + 1,
                         horizon=horizon)
    for crime in crimes:
        crime.relay = ctx.relay
        crime.economy = ctx.economy
    return crimes


__all__ = ["CRIME_KINDS", "DEFAULT_HORIZON", "Crime", "build_cases", "make_crimes"]

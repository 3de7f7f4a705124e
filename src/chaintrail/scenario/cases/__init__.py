"""Planted crime cases: ransomware, exchange hack, darknet market, investment scam."""

from __future__ import annotations

from chaintrail.scenario.cases.base import Case
from chaintrail.scenario.cases.darknet import DarknetMarket
from chaintrail.scenario.cases.exchange_hack import ExchangeHack
from chaintrail.scenario.cases.ransomware import Ransomware
from chaintrail.scenario.cases.scam import InvestmentScam
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.population import Pop

CASE_TYPES = {"ransomware": Ransomware, "exchange_hack": ExchangeHack, "darknet": DarknetMarket,
              "scam": InvestmentScam}


def make_cases(ch: Chain, pop: Pop, services: dict, kind: str, n_tx: int) -> list[Case]:
    """The cases to plant: one of each kind for ``all`` (two each on large chains), else three."""
    if kind == "none":
        return []
    kinds = list(CASE_TYPES) if kind == "all" else [kind]
    per_kind = (1 if n_tx < 50_000 else 2) if kind == "all" else 3
    size = 1.0 if n_tx < 50_000 else 2.0
    cases: list[Case] = []
    for k in kinds:
        for i in range(per_kind):
            cases.append(CASE_TYPES[k](ch, pop, services, i + 1, size))
    return cases

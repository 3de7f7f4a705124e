"""Perpetrator behaviour profiles: the fixed reference profile and profiles drawn per seed.

The crime cases were written (and the analysis rules tuned) against one way of
laundering: consolidate, peel, sweep chips and post-mix coins whole into
deposit addresses of two or three exchanges.  A figure measured only on that
is an upper bound.  ``draw(seed)`` picks a profile per seed from the documented
ranges in ``RANGES`` and switches on behaviour *families* the rules were not
written against (``FAMILIES``); docs/scenario-behaviour.md gives the sources.

``REFERENCE`` is today's fixed profile: with it every case consumes exactly
the random numbers it did before profiles existed, so a seed's chain is
byte-identical.  The profile is written into the answer key (under
``generator.behaviour``, random profiles only); the analysis never reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from chaintrail.errors import UsageError

MODES = ("reference", "random")

# Families the rules were not written against (each on with probability FAMILY_P in a drawn profile).
FAMILIES = (
    "grouped_spend_with_change",   # post-mix coins / chips spent 2-3 at a time, part paid, change kept
    "intermediate_hops",           # 1-3 self-transfers between mixer/CoinJoin and the exchange deposit
    "long_wait",                   # tens to ~150 blocks of dormancy before cashing out
    "fresh_address_type",          # cash-out addresses (and change) of a type the actor never used before
    "many_exchanges",              # deposits spread over 4-6 exchanges instead of 2-3
    "address_reuse",               # change back to an input address; darknet vendors' static addresses
)
FAMILY_P = 0.5
FEE_STYLES = ("market", "scaled", "fixed")
CASHOUT_ATYPES = ("p2tr", "p2pkh", "p2sh-p2wpkh")

# name: (low, high) inclusive for numbers, a tuple of choices for strings; probability for booleans.
RANGES: dict[str, tuple] = {
    "start_delay_max": (0, 30),
    "consolidate": ("bool", 0.5),
    "peel_hops_min": (2, 8),
    "peel_hops_max": (2, 14),            # drawn >= peel_hops_min
    "peel_fraction_min": (0.03, 0.15),
    "peel_fraction_max": (0.05, 0.45),   # drawn >= peel_fraction_min + 0.02
    "peel_wait_max": (0, 6),
    "peel_to_exchange_p": (0.0, 0.7),
    "round_amount_p": (0.0, 0.9),
    "hack_split_min": (2, 6),
    "hack_split_max": (2, 12),           # drawn >= hack_split_min
    "whirlpool_mixes_min": (1, 3),
    "whirlpool_mixes_max": (1, 5),       # drawn >= whirlpool_mixes_min
    "chip_group_max": (1, 6),
    "postmix_group_max": (1, 5),
    "chip_pause_p": (0.0, 1.0),
    "postmix_pause_p": (0.0, 1.0),
    "keep_one_chip": ("bool", 0.5),
    "fee_style": FEE_STYLES,
    "fee_factor": (0.5, 60.0),           # scaled: 0.5-3.0 x the market rate; fixed: 1-60 sat/vB
    # family parameters (their reference / "off" value lies outside the family's range)
    "change_pay_fraction": (0.4, 0.9),   # grouped_spend_with_change: share of a group paid out
    "extra_hops_max": (1, 3),            # intermediate_hops
    "long_wait_blocks": (12, 150),       # long_wait
    "cashout_atype": CASHOUT_ATYPES,     # fresh_address_type
    "n_exchanges": (4, 6),               # many_exchanges
    "addr_reuse_p": (0.3, 0.9),          # address_reuse
}
FAMILY_PARAMS = {"grouped_spend_with_change": "change_pay_fraction", "intermediate_hops": "extra_hops_max",
                 "long_wait": "long_wait_blocks", "fresh_address_type": "cashout_atype",
                 "many_exchanges": "n_exchanges", "address_reuse": "addr_reuse_p"}


@dataclass(frozen=True)
class Behaviour:
    """How the planted cases' perpetrators act; ``REFERENCE`` is the profile the rules were written on."""

    mode: str = "reference"
    start_delay_max: int = 5
    consolidate: bool = True
    peel_hops_min: int = 6
    peel_hops_max: int = 10
    peel_fraction_min: float = 0.08
    peel_fraction_max: float = 0.22
    peel_wait_max: int = 1
    peel_to_exchange_p: float = 0.35
    round_amount_p: float = 0.35
    hack_split_min: int = 5
    hack_split_max: int = 9
    whirlpool_mixes_min: int = 2
    whirlpool_mixes_max: int = 3
    chip_group_max: int = 4
    postmix_group_max: int = 3
    chip_pause_p: float = 0.5
    postmix_pause_p: float = 0.4
    keep_one_chip: bool = True
    fee_style: str = "market"
    fee_factor: float = 1.0
    families: tuple[str, ...] = ()
    change_pay_fraction: float = 0.0
    extra_hops_max: int = 0
    long_wait_blocks: int = 0
    cashout_atype: str = ""
    n_exchanges: int = 0
    addr_reuse_p: float = 0.0

    def has(self, family: str) -> bool:
        return family in self.families

    def feerate(self, market: float) -> float | None:
        """The perpetrators' fee rate at market rate ``market`` (None: the market rate, reference path)."""
        if self.fee_style == "market":
            return None
        if self.fee_style == "scaled":
            return max(1.0, market * self.fee_factor)
        return self.fee_factor

    def to_json(self) -> dict:
        d = asdict(self)
        d["families"] = list(self.families)
        return d


REFERENCE = Behaviour()


def draw(seed: int, families: tuple[str, ...] | None = None) -> Behaviour:
    """A random profile for ``seed``, from its own random stream (the chain's stream is untouched).

    ``families`` overrides which families are on (tests force them); every other value is as drawn.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0xBE4A7105])))

    def i(name: str, lo: int | None = None) -> int:
        a, b = RANGES[name]
        return int(rng.integers(max(a, lo if lo is not None else a), b + 1))

    def f(name: str, lo: float | None = None) -> float:
        a, b = RANGES[name]
        return round(float(rng.uniform(max(a, lo if lo is not None else a), b)), 4)

    def flag(name: str) -> bool:
        return bool(rng.random() < RANGES[name][1])

    hops_min = i("peel_hops_min")
    frac_min = f("peel_fraction_min")
    split_min = i("hack_split_min")
    wmix_min = i("whirlpool_mixes_min")
    style = FEE_STYLES[int(rng.integers(0, len(FEE_STYLES)))]
    factor = {"market": 1.0, "scaled": round(float(rng.uniform(0.5, 3.0)), 4),
              "fixed": float(rng.integers(1, 61))}[style]
    drawn = tuple(fam for fam in FAMILIES if rng.random() < FAMILY_P)
    if families is None:
        families = drawn
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise UsageError(f"unknown behaviour families {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
    families = tuple(f for f in FAMILIES if f in families)
    fam = {
        "change_pay_fraction": f("change_pay_fraction"),
        "extra_hops_max": i("extra_hops_max"),
        "long_wait_blocks": i("long_wait_blocks"),
        "cashout_atype": CASHOUT_ATYPES[int(rng.integers(0, len(CASHOUT_ATYPES)))],
        "n_exchanges": i("n_exchanges"),
        "addr_reuse_p": f("addr_reuse_p"),
    }
    off = Behaviour()
    for family, param in FAMILY_PARAMS.items():    # parameters of families not drawn keep their "off" value
        if family not in families:
            fam[param] = getattr(off, param)
    return Behaviour(
        mode="random",
        start_delay_max=i("start_delay_max"),
        consolidate=flag("consolidate"),
        peel_hops_min=hops_min,
        peel_hops_max=i("peel_hops_max", hops_min),
        peel_fraction_min=frac_min,
        peel_fraction_max=f("peel_fraction_max", frac_min + 0.02),
        peel_wait_max=i("peel_wait_max"),
        peel_to_exchange_p=f("peel_to_exchange_p"),
        round_amount_p=f("round_amount_p"),
        hack_split_min=split_min,
        hack_split_max=i("hack_split_max", split_min),
        whirlpool_mixes_min=wmix_min,
        whirlpool_mixes_max=i("whirlpool_mixes_max", wmix_min),
        chip_group_max=i("chip_group_max"),
        postmix_group_max=i("postmix_group_max"),
        chip_pause_p=f("chip_pause_p"),
        postmix_pause_p=f("postmix_pause_p"),
        keep_one_chip=flag("keep_one_chip"),
        fee_style=style,
        fee_factor=factor,
        families=families,
        **fam,
    )


def resolve(behaviour: str | Behaviour | None, seed: int) -> Behaviour:
    """The profile a generation uses: ``None`` picks random for evaluation seeds, reference otherwise.

    ``reference`` on an evaluation seed is refused: those seeds exist to be measured out of sample.
    """
    from chaintrail.scenario.evaluation import EVAL_SEEDS, is_eval_seed

    if isinstance(behaviour, Behaviour):
        return behaviour
    if behaviour is None:
        behaviour = "random" if is_eval_seed(seed) else "reference"
    if behaviour not in MODES:
        raise UsageError(f"unknown behaviour {behaviour!r}; choose from {', '.join(MODES)}")
    if behaviour == "reference":
        if is_eval_seed(seed):
            raise UsageError(f"seed {seed} is an evaluation seed ({EVAL_SEEDS.start}-{EVAL_SEEDS.stop - 1}); "
                             "they are generated with --behaviour random only")
        return REFERENCE
    return draw(seed)

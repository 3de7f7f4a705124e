"""How the Ethereum scenarios' background users behave: the reference profile and profiles drawn per seed.

As for Bitcoin (``scenario/behaviour.py``), a figure measured only on the behaviour the rules were written
against is an upper bound. ``draw(seed)`` picks every knob from the documented ranges in ``RANGES``
(docs/eth-scenario-behaviour.md gives what each one models); ``resolve(None, seed)`` draws for the reserved
evaluation seeds 9000-9999 (``scenario.evaluation.EVAL_SEEDS``) and takes ``REFERENCE`` for every other seed.
The profile goes into the answer key; analysis never reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from chaintrail.errors import UsageError
from chaintrail.scenario.evaluation import is_eval_seed

ACTIONS = ("pay_eth", "pay_token", "swap", "add_liquidity", "remove_liquidity", "exchange_deposit",
           "exchange_withdraw", "otc", "p2p", "bridge", "tornado_deposit")
REFERENCE_WEIGHTS = (30, 22, 14, 2, 1, 10, 8, 2, 2, 3, 3)

# name: (low, high) drawn uniformly (integers where both ends are ints)
RANGES: dict[str, tuple] = {
    "txs_per_block": (120, 400),         # background transactions per block, before the gas limit
    "legacy_share": (0.0, 0.6),          # users who send legacy (gasPrice) transactions, the rest EIP-1559
    "legacy_gwei": (1.0, 30.0),          # a legacy user's gas price, drawn per user within [1, this]
    "tip_gwei": (0.01, 5.0),             # an EIP-1559 user's priority fee, drawn per user within [0.01, this]
    "max_fee_gwei": (20, 200),           # EIP-1559 users' max fee per gas
    "activity_sigma": (0.5, 2.0),        # log-normal spread of how often each user acts
    "amount_sigma": (0.5, 2.0),          # log-normal spread of amounts around each asset's median
    "round_amount_p": (0.0, 0.8),        # amounts rounded to two significant digits
    "fresh_address_p": (0.0, 0.5),       # a user receives (withdrawal, payment to self) at a new address
    "relayer_1_p": (0.3, 1.0),           # Tornado relayer choice: the first relayer's share
    "relayer_fee_bps": (10, 100),        # Tornado relayer fee, basis points of the denomination (upper bound)
    "tornado_wait_min": (1, 20),         # blocks a note rests in the pool before its withdrawal
    "tornado_wait_max": (20, 400),
    # Tornado users' slips, the footprints the published linking heuristics look for
    "tornado_reuse_p": (0.0, 0.15),      # a note withdrawn to the depositor's own address
    "tornado_known_p": (0.0, 0.2),       # ... to another address the depositor's entity already used
    "tornado_self_relay_p": (0.0, 0.1),  # the depositor sends its own withdrawal (no relayer, no fee)
    "tornado_linked_p": (0.0, 0.15),     # the recipient later pays the depositor directly, three times
    "tornado_batch_p": (0.0, 0.3),       # a user deposits 2-3 denominations at once and withdraws them together
    "gas_habit_p": (0.2, 0.9),           # a user's new address keeps its gas settings (same wallet software)
    "sweep_every": (3, 50),              # blocks between an exchange's sweeps of its deposit addresses
    "forwarder_share": (0.2, 0.9),       # exchange customers whose deposit address is a forwarder contract
    "bridge_back_p": (0.1, 0.7),         # per block on chain B, a holder's chance to burn back to chain A
    # the airdrop (scenario/eth/airdrop.py) and the Sybil farms that hunt it
    "airdrop_share": (0.2, 0.8),         # users who receive the airdrop (besides the farms' addresses)
    "airdrop_farm_p": (0.02, 0.15),      # users who run a farm of addresses
    "airdrop_farm_max": (3, 12),         # most addresses in one farm (each farm has 2 to this many)
    "airdrop_sweep_p": (0.5, 1.0),       # a farm address sweeps its airdrop to the farm's owner
    "airdrop_pay_p": (0.0, 0.4),         # an ordinary recipient passes the token to another user
    "airdrop_sell_p": (0.0, 0.4),        # ... sells it to the P2P desk
    "airdrop_wait_max": (2, 30),         # blocks after the airdrop before a recipient acts, drawn in [1, this]
    "weight_factor": (0.5, 2.0),         # each action's reference weight scaled by a factor in this range
}


@dataclass(frozen=True)
class EthBehaviour:
    """The background economy's knobs; ``REFERENCE`` is the profile the rules are written against."""

    mode: str = "reference"
    txs_per_block: int = 250
    legacy_share: float = 0.2
    legacy_gwei: float = 5.0
    tip_gwei: float = 2.0
    max_fee_gwei: int = 100
    activity_sigma: float = 1.0
    amount_sigma: float = 1.0
    round_amount_p: float = 0.3
    fresh_address_p: float = 0.1
    relayer_1_p: float = 0.7
    relayer_fee_bps: int = 50
    tornado_wait_min: int = 5
    tornado_wait_max: int = 100
    tornado_reuse_p: float = 0.05
    tornado_known_p: float = 0.05
    tornado_self_relay_p: float = 0.03
    tornado_linked_p: float = 0.05
    tornado_batch_p: float = 0.1
    gas_habit_p: float = 0.5
    sweep_every: int = 10
    forwarder_share: float = 0.5
    bridge_back_p: float = 0.3
    airdrop_share: float = 0.5
    airdrop_farm_p: float = 0.06
    airdrop_farm_max: int = 8
    airdrop_sweep_p: float = 0.9
    airdrop_pay_p: float = 0.2
    airdrop_sell_p: float = 0.2
    airdrop_wait_max: int = 10
    weights: tuple[int | float, ...] = field(default=REFERENCE_WEIGHTS)

    def action_p(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    def to_json(self) -> dict:
        d = asdict(self)
        d["weights"] = dict(zip(ACTIONS, self.weights))
        return d


REFERENCE = EthBehaviour()


def draw(seed: int) -> EthBehaviour:
    """A random profile for ``seed`` from its own random stream (the chain's stream is untouched)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0xE7B4A105])))
    values: dict[str, object] = {"mode": "random"}
    for f in fields(EthBehaviour):
        if f.name in RANGES:
            lo, hi = RANGES[f.name]
            values[f.name] = int(rng.integers(lo, hi + 1)) if isinstance(lo, int) and isinstance(hi, int) \
                else round(float(rng.uniform(lo, hi)), 4)
    lo, hi = RANGES["weight_factor"]
    values["weights"] = tuple(round(w * float(rng.uniform(lo, hi)), 3) for w in REFERENCE_WEIGHTS)
    return EthBehaviour(**values)  # type: ignore[arg-type]


def resolve(behaviour: str | EthBehaviour | None, seed: int) -> EthBehaviour:
    """The profile a generation uses: None picks random for evaluation seeds, reference otherwise."""
    if isinstance(behaviour, EthBehaviour):
        return behaviour
    if behaviour is None:
        behaviour = "random" if is_eval_seed(seed) else "reference"
    if behaviour == "reference":
        return REFERENCE
    if behaviour == "random":
        return draw(seed)
    raise UsageError(f"unknown behaviour {behaviour!r} (choose reference or random)")


__all__ = ["ACTIONS", "RANGES", "REFERENCE", "EthBehaviour", "draw", "resolve"]

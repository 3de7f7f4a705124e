"""Exercise kinds, difficulty levels and the techniques grading feedback names.

An exercise kind is a laundering pattern to practise; it is played on one of
the scenario generator's planted cases (``scenario.cases``), whose script
contains that pattern:

* ``straight_to_exchange``: darknet vendors withdraw from the market and deposit
  straight at exchanges (and P2P traders);
* ``peel_chain``: the ransomware case's consolidation and peel chain;
* ``consolidation_clustering``: the investment scam's reused address,
  consolidation and money mules;
* ``custodial_mixer``: the ransomware case's chip-mixer hand-over;
* ``coinjoin``: the exchange hack's Wasabi, Whirlpool and JoinMarket rounds;
* ``eth_swap_tornado_bridge`` (Ethereum, ``scenario.eth``): the DeFi exploit's
  swaps, Tornado pools and bridge legs to chain B;
* ``eth_stablecoin_scam`` (Ethereum): the pig-butchering case's stablecoin
  payments consolidated and cashed out per token at exchanges and the OTC desk.

``peel_chain`` and ``custodial_mixer`` play the same case of a set's chain:
the brief and the lessons differ, the questions and the key do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaintrail.errors import UsageError
from chaintrail.i18n import N_


@dataclass(frozen=True)
class ExerciseKind:
    name: str
    case_kind: str           # scenario case kind that plants the pattern
    title: str               # N_-marked: translated where shown
    focus: str               # what the brief asks the trainee to practise
    techniques: tuple[str, ...]
    lessons: tuple[str, ...]
    chain: str = "btc"       # btc: scenario.cases; eth: scenario.eth.crimes


@dataclass(frozen=True)
class Difficulty:
    name: str
    scale: float             # background economy, thousands of transactions
    behaviour: str           # reference | random (scenario.behaviour)
    tolerance: float         # relative tolerance on amounts for full credit
    hints: bool              # technique hints in the brief (never in exam mode)


KINDS: dict[str, ExerciseKind] = {k.name: k for k in (
    ExerciseKind("straight_to_exchange", "darknet", N_("Payments straight to an exchange"),
                 N_("Follow the market's payouts to the vendors and their deposits at exchanges."),
                 ("batch_payout", "direct_deposit", "clustering"), ("blockchain-basics", "exchange-records")),
    ExerciseKind("peel_chain", "ransomware", N_("A peel chain"),
                 N_("Follow the consolidated ransom down the peel chain to the exchanges."),
                 ("clustering", "peel_chain", "change_heuristic", "direct_deposit"),
                 ("utxo-vs-accounts", "clustering", "taint-models")),
    ExerciseKind("consolidation_clustering", "scam", N_("A consolidation and clustering"),
                 N_("Group the platform's addresses into one entity and follow its money mules."),
                 ("clustering", "mule", "direct_deposit"), ("clustering", "aml-red-flags", "exchange-records")),
    ExerciseKind("custodial_mixer", "ransomware", N_("A custodial mixer"),
                 N_("Find where the ransom entered a custodial mixer and what came back out of it."),
                 ("peel_chain", "demix", "direct_deposit"), ("mixers", "taint-models", "exchange-records")),
    ExerciseKind("coinjoin", "exchange_hack", N_("CoinJoin"),
                 N_("Follow the stolen coins through the CoinJoin rounds to where they were cashed out."),
                 ("coinjoin", "clustering", "direct_deposit"), ("mixers", "defi", "aml-red-flags")),
    ExerciseKind("eth_swap_tornado_bridge", "defi_exploit", N_("An Ethereum swap, Tornado and bridge case"),
                 N_("Follow the stolen tokens through the swap, the Tornado pools and the bridge to the exchanges, "
                    "per asset."),
                 ("swap_conversion", "tornado_lead", "bridge_nonce", "eth_deposit", "gas_funding"),
                 ("utxo-vs-accounts", "defi", "mixers", "taint-models"), "eth"),
    ExerciseKind("eth_stablecoin_scam", "pig_butchering", N_("Stablecoins to an exchange and an OTC desk"),
                 N_("Follow the victims' stablecoins, token by token, to the exchanges and the OTC desk."),
                 ("token_transfer", "eth_deposit", "gas_funding"),
                 ("utxo-vs-accounts", "exchange-records", "aml-red-flags"), "eth"),
)}

DIFFICULTIES: dict[str, Difficulty] = {d.name: d for d in (
    Difficulty("easy", 0.5, "reference", 0.05, True),
    Difficulty("medium", 1.0, "reference", 0.02, True),
    Difficulty("hard", 2.0, "random", 0.01, False),
)}
# Ethereum chains, per difficulty: thousands of transactions and whether the generator's behaviour is the fast
# reference one (short Tornado waits, small blocks), so a small chain holds every kind of activity
ETH_SCALE = {"easy": (0.1, True), "medium": (0.2, True), "hard": (0.4, False)}

TECHNIQUES: dict[str, tuple[str, str]] = {
    "direct_deposit": (N_("direct deposit"), N_(
        "The funds land on an exchange deposit address: its tag, or a sweep into the exchange's tagged hot "
        "wallet, names the exchange to serve.")),
    "peel_chain": (N_("peel chain"), N_(
        "At each hop a small output is peeled off and the larger change goes on: follow the change output hop "
        "by hop until the peels land at services.")),
    "change_heuristic": (N_("change heuristic"), N_(
        "The change output is the perpetrator's own: a fresh address of the inputs' script type with a "
        "non-round amount.")),
    "clustering": (N_("common-input clustering"), N_(
        "Addresses spent together in one transaction belong to one wallet: a consolidation joins them into "
        "one entity.")),
    "demix": (N_("demix evidence"), N_(
        "A custodial mixer pays back chips from its own wallet: match the chips' amounts and timing to the "
        "deposits (trace with Mixers set to demix).")),
    "coinjoin": (N_("CoinJoin analysis"), N_(
        "Equal outputs hide the link: follow the unmixed change and the postmix coins the owner later "
        "merges in one spend.")),
    "batch_payout": (N_("batched payouts"), N_(
        "A service pays many customers in one transaction: follow the outputs that go to the case's "
        "recipients.")),
    "mule": (N_("money mules"), N_(
        "The collection wallet pays a few intermediaries who deposit in chunks below reporting thresholds.")),
    "layering": (N_("intermediate hops"), N_(
        "Self-transfers to fresh addresses before the deposit: keep following single-payee spends.")),
    "swap_conversion": (N_("swap as conversion"), N_(
        "A DEX swap converts one asset into another: taint crosses assets only through the swap, at its executed "
        "rate (the trace's conversion node), so follow the output asset from the swap on.")),
    "tornado_lead": (N_("Tornado lead"), N_(
        "A Tornado pool breaks the on-chain link: a withdrawal is tied to a deposit only by a lead, a heuristic "
        "with its measured precision (the note's own address, gas price, linked addresses, denominations, "
        "relayer, timing). Weigh the lead, and confirm it before you follow it (trace --link).")),
    "bridge_nonce": (N_("bridge leg matched by nonce"), N_(
        "A lock on one chain and the mint on the other carry the same nonce, asset and amount: match the legs and "
        "follow the minted tokens on the far chain (trace with the other chain's store).")),
    "eth_deposit": (N_("exchange deposit address"), N_(
        "An exchange gives each customer a deposit address (a forwarder contract or an account) that forwards or "
        "sweeps to its tagged hot wallet: the forward or the sweep names the exchange to serve.")),
    "token_transfer": (N_("token transfers"), N_(
        "A token moves by its contract's Transfer events, not by ETH value: trace the token itself (the asset is "
        "its contract) and report each asset apart.")),
    "gas_funding": (N_("gas funding"), N_(
        "A fresh account needs ETH for gas: whoever funds it is usually its owner. Follow the gas money and the "
        "case's own transfers to group the perpetrators' addresses.")),
    "haircut": (N_("haircut model"), N_(
        "The question asks for the tainted share under the haircut model (what the trace reports), not everything "
        "the perpetrators paid in: clean money mixed in (gas, pools) dilutes it.")),
}

# laundering roles of the answer key (scenario.cases) -> the technique that follows them
ROLE_TECHNIQUE = {
    "peel_step": "peel_chain", "chip_merge": "demix", "chip_spend": "demix", "mixer_deposit": "demix",
    "coinjoin": "coinjoin", "whirlpool_tx0": "coinjoin", "split": "coinjoin", "consolidation": "clustering",
    "market_sweep": "batch_payout", "vendor_withdrawal": "batch_payout", "operator_withdrawal": "batch_payout",
    "mule_transfer": "mule", "layering_hop": "layering",
}
# the path a plain cash-out (no other role) was reached by, per case kind
CASE_PATH = {"ransomware": "peel_chain", "exchange_hack": "coinjoin", "darknet": "batch_payout", "scam": "mule"}

# free-text reasoning: words that show a technique was used (any one counts)
TECHNIQUE_WORDS = {
    "direct_deposit": ("deposit", "exchange"),
    "peel_chain": ("peel",),
    "change_heuristic": ("change",),
    "clustering": ("cluster", "common input", "common-input", "co-spen", "consolidat"),
    "demix": ("demix", "chip", "mixer"),
    "coinjoin": ("coinjoin", "wasabi", "whirlpool", "joinmarket", "postmix"),
    "batch_payout": ("batch", "payout", "withdrawal"),
    "mule": ("mule",),
    "layering": ("hop",),
    "swap_conversion": ("swap", "uniswap", "conversion", "dex"),
    "tornado_lead": ("tornado", "lead", "pool"),
    "bridge_nonce": ("bridge", "nonce"),
    "eth_deposit": ("deposit", "exchange", "forwarder", "sweep"),
    "token_transfer": ("token", "usdx", "usdy", "stablecoin", "transfer"),
    "gas_funding": ("gas", "funder", "funded"),
}


def exercise_kind(name: str) -> ExerciseKind:
    if name not in KINDS:
        raise UsageError(f"unknown exercise kind {name!r}; choose from {', '.join(KINDS)}")
    return KINDS[name]


def difficulty(name: str) -> Difficulty:
    if name not in DIFFICULTIES:
        raise UsageError(f"unknown difficulty {name!r}; choose from {', '.join(DIFFICULTIES)}")
    return DIFFICULTIES[name]

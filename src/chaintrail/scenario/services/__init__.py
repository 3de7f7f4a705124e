"""Structured services of the background economy: CoinJoin coordinators and the chip mixer.

Rates are per block, scaled to the chain's transactions per block so that at
mainnet-like block sizes (about 2,500 txs) CoinJoin-family transactions are
roughly half a percent of all transactions, as on mainnet in 2021-2023 (dozens
of Wasabi rounds, hundreds to thousands of Whirlpool mixes and some hundred
JoinMarket joins per day); small chains keep a floor so every protocol appears.
"""

from __future__ import annotations

import numpy as np

from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import AT_P2SH_P2WPKH, AT_P2TR, AT_P2WPKH, E_ATYPE
from chaintrail.scenario.population import Pop
from chaintrail.scenario.services.chipmixer import ChipMixer
from chaintrail.scenario.services.coinjoin import JoinMarket, Wasabi1, Wasabi2
from chaintrail.scenario.services.whirlpool import Whirlpool

MAX_PRIVACY_FUNDED = 3000


def make_services(ch: Chain, pop: Pop, alloc: list, n_tx: int, tx_per_block: float) -> dict:
    """Create the mixing services (and their initial funds); returns them by name."""
    rng = ch.rng
    L = ch.L
    f = tx_per_block / 2500.0
    users = pop.users
    cand = [int(u) for u in users if int(L.ent[int(u), E_ATYPE]) in (AT_P2WPKH, AT_P2TR, AT_P2SH_P2WPKH)]
    n_priv = min(len(cand), max(40, len(users) // 30))
    privacy = [cand[i] for i in rng.permutation(len(cand))[:n_priv]]
    for u in privacy[:MAX_PRIVACY_FUNDED]:
        for _ in range(2):
            alloc.append((ch.address(u), float(rng.uniform(0.3, 2.0)), "service"))
    return {
        "wasabi1.0": Wasabi1(ch, privacy, "1.0", rate=max(0.04, 0.05 * f)),
        "wasabi1.1": Wasabi1(ch, privacy, "1.1", rate=max(0.05, 0.1 * f)),
        "wasabi2": Wasabi2(ch, privacy, rate=max(0.06, 0.4 * f)),
        "whirlpool": Whirlpool(ch, privacy, rate_tx0=max(0.15, 3.0 * f), rate_mix=max(0.3, 6.0 * f)),
        "joinmarket": JoinMarket(ch, privacy, n_makers=max(8, len(privacy) // 5), rate=max(0.1, 1.0 * f),
                                 alloc=alloc),
        "chipmixer": ChipMixer(ch, np.asarray(users), alloc, rate=max(0.1, 1.0 * f), big=n_tx > 50_000),
    }

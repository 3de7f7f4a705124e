"""Calibration of the background economy, with the published measurements it follows.

Figures are approximate readings of public measurements of mainnet, 2021-2024;
the generator's own figures are printed by ``chaintrail.scenario.stats`` and
compared in docs/scenario.md.

Sources
-------
* Address (output script) types.  transactionfee.info "Output types" and
  Bitcoin Optech's segwit/taproot adoption reports (2023-24): P2WPKH about half
  of new outputs, P2TR 10-30 % (inflated in 2023-24 by inscriptions), P2PKH
  and P2SH about 10-15 % each, P2WSH a few percent (mostly exchange multisig).
* Inputs and outputs per transaction.  Kalodner et al., "BlockSci: Design and
  applications of a blockchain analysis platform", USENIX Security 2020, and
  transactionfee.info / mainnet.observer "input/output distribution": about 60 %
  of transactions are 1-input-2-output payments, 1-in-1-out self transfers about
  10-15 %, many-in-1-out consolidations a few percent, 1-in-many-out batches
  (exchanges, pools) a few percent carrying a large share of outputs.
* Change.  Meiklejohn et al., "A Fistful of Bitcoins", IMC 2013 (one-time change
  addresses); Nick, "Data-Driven De-Anonymization in Bitcoin", ETH 2015 (change
  heuristics measured on BitcoinJ wallet ground truth: change usually fresh, of
  the input's address type, and payments often round); Ermilov, Panov, Yanovich,
  "Automatic Bitcoin Address Clustering", ICMLA 2017.  Address reuse for change
  fell from over half of transactions (2012) to roughly 10-20 % (transactionfee.info
  "address reuse", 2023).
* Round amounts.  Möser & Böhme, "Anonymous Alone? Measuring Bitcoin's
  Second-Generation Anonymization Techniques", EuroS&P Workshops 2017, and Nick 2015:
  a sizeable minority of payments are round in BTC; many more are round in fiat.
* Fee rates.  mempool.space / transactionfee.info (2023-24): median fee rate of
  confirmed transactions mostly 5-40 sat/vB with multi-day spikes; floor 1 sat/vB.
* Block interval.  Exponential with mean 600 s (Nakamoto 2008; Decker &
  Wattenhofer, "Information Propagation in the Bitcoin Network", P2P 2013).
* Client fingerprints.  Bitcoin Core: anti-fee-sniping nLockTime (10 % of the time
  up to 100 blocks back), BIP125 signalling, low-R signatures (PR #13666);
  Electrum and Samourai: BIP69 ordering; JoinMarket: nLockTime + 0xfffffffe;
  about 80-90 % of transactions were version 2 and 20-30 % signalled RBF in 2023
  (transactionfee.info "transaction version", "RBF").
* Batching.  Bitcoin Optech, "Payment batching" (2019): exchanges batch
  withdrawals, one transaction paying tens to hundreds of customers.
* Mining-pool shares.  Hashrate distribution of 2024 (mempool.space "mining pools"):
  a few large pools mine most blocks.
"""

from __future__ import annotations

import numpy as np

from chaintrail.scenario.ledger import (
    AT_P2PKH,
    AT_P2SH_P2WPKH,
    AT_P2TR,
    AT_P2WPKH,
    AT_P2WSH,
)

# --- published targets the generator is compared against (stats.py prints both) ---
PUBLISHED = {
    "output_type_share": {"p2wpkh": 0.50, "p2tr": 0.18, "p2pkh": 0.12, "p2sh": 0.13, "p2wsh": 0.04},
    "tx_1in_2out_share": 0.60,
    "tx_1in_1out_share": 0.12,
    "tx_many_in_1out_share": 0.04,
    "change_to_input_address_share": 0.15,
    "tx_version2_share": 0.85,
    "rbf_signalling_share": 0.25,
    "median_feerate_sat_vb": (5, 40),
    "mean_block_interval_s": 600,
}

# --- users: address type, client, change habits ---
USER_ATYPES = np.array([AT_P2WPKH, AT_P2TR, AT_P2SH_P2WPKH, AT_P2PKH])
USER_ATYPE_P = np.array([0.53, 0.22, 0.15, 0.10])
# client per address type (rows follow USER_ATYPES; columns SW_CORE..SW_SAMOURAI of wallet_ops)
#                   core  electrum mobile legacy exch1 exch2 samourai
USER_SW_P = np.array([
    [0.18, 0.20, 0.50, 0.00, 0.0, 0.0, 0.12],   # P2WPKH
    [0.40, 0.15, 0.35, 0.00, 0.0, 0.0, 0.10],   # P2TR
    [0.10, 0.15, 0.65, 0.00, 0.0, 0.0, 0.10],   # P2SH-P2WPKH
    [0.05, 0.10, 0.35, 0.50, 0.0, 0.0, 0.00],   # P2PKH
])
# probability that change goes back to an input address, by client
SW_CHANGE_REUSE = np.array([0.0, 0.0, 0.10, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
# probability a receiving address is reused, by client
SW_RECV_REUSE = np.array([0.03, 0.05, 0.25, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
# Core (since 23.0) may pick change of the payment's type; share of change of another type
CORE_CHANGE_MATCHES_PAYMENT_P = 0.3

# --- events of the background kernel: share of transactions ---
EVENTS = (
    ("pay", 0.560),
    ("exchange_withdrawal", 0.140),
    ("exchange_sweep", 0.095),
    ("exchange_cold", 0.004),
    ("processor_settlement", 0.020),
    ("pool_payout", 0.004),
    ("consolidation", 0.030),
    ("gambling_payout", 0.050),
    ("trader_sell", 0.045),
    ("merchant_out", 0.022),
    ("multi_pay", 0.030),
    ("service_rebalance", 0.020),
)
EVENT_NAMES = tuple(n for n, _ in EVENTS)
EVENT_P = np.array([p for _, p in EVENTS]) / sum(p for _, p in EVENTS)

# recipients of a user's payment: user, processor invoice, direct merchant, own exchange
# deposit, gambling, p2p trader
PAY_TO = ("user", "invoice", "merchant", "exchange", "gambling", "trader")
PAY_TO_P = np.array([0.30, 0.16, 0.07, 0.27, 0.10, 0.10])

# amounts: lognormal in USD (median, sigma)
USD_PER_BTC = 40_000.0
AMOUNT_USD = {
    "user": (60.0, 1.5), "invoice": (40.0, 1.2), "merchant": (90.0, 1.3), "exchange": (300.0, 1.5),
    "gambling": (15.0, 1.3), "trader": (400.0, 1.0), "withdrawal": (250.0, 1.6),
    "pool_payout": (150.0, 1.2), "trader_sell": (350.0, 1.1),
}
ROUND_BTC_P = 0.22     # payment rounded to 1-2 significant digits in BTC
ROUND_FIAT_P = 0.35    # payment of a round USD amount at the current price

# fee rates: per-block median lognormal around this (sat/vB), per-tx spread
FEERATE_MEDIAN = 12.0
FEERATE_BLOCK_SIGMA = 0.6
FEERATE_TX_SIGMA = 0.45

# exchange withdrawal batching: share of withdrawals sent in batches, batch size lognormal
BATCH_SIZE_MEDIAN = 8
BATCH_SIZE_SIGMA = 0.9
BATCH_SIZE_MAX = 250

# mining pools (hashrate share)
POOLS = (("Foundry-like Pool", 0.30), ("AntPool-like Pool", 0.25), ("ViaBTC-like Pool", 0.14),
         ("F2Pool-like Pool", 0.12), ("Mara-like Pool", 0.10), ("Small Pool", 0.09))

EXCHANGES = (
    # name, market share, batches withdrawals (p), sweeps deposits in batches, reuses hot address,
    # deposit address type, hot type, client
    ("Exchange Alpha", 0.30, 0.85, True, True, AT_P2WPKH, AT_P2WPKH, 5),
    ("Exchange Bravo", 0.22, 0.60, True, False, AT_P2WPKH, AT_P2SH_P2WPKH, 4),
    ("Exchange Charlie", 0.16, 0.0, False, True, AT_P2WPKH, AT_P2WPKH, 4),
    ("Exchange Delta", 0.14, 0.4, False, False, AT_P2SH_P2WPKH, AT_P2WSH, 5),
    ("Exchange Echo", 0.10, 0.0, False, False, AT_P2WPKH, AT_P2TR, 5),
    ("Exchange Foxtrot", 0.08, 0.7, True, True, AT_P2PKH, AT_P2PKH, 4),
)

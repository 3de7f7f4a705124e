"""Deposit addresses found on chain: addresses an exchange sweeps into its tagged hot or cold wallet.

An investigator's tags name an exchange's hot wallet and some of its customers'
deposit addresses, never all of them. The others show themselves on chain: an
exchange sweeps each deposit address, whole, into its own wallet. So an address
is taken as a deposit address of the exchange when every spend of its coins is a
*sweep* (a tx of one output, not a mixing tx) into an address whose tags say it is
that exchange's hot or cold wallet (GraphSense concepts ``hot_wallet`` /
``cold_wallet``, beside the ``exchange`` category; through the cluster where the
tag is a cluster definer).

A tagged *deposit* address is not a wallet: a customer's one-output payment into
one (chips swept into an exchange, say) is the customer's cash-out, and leaves the
customer's coins the customer's. A P2P trader's or casino's public address is
paid whole by its customers too, so only wallets count.

The rule reads only the chain and the tags. A user who empties a wallet into an
exchange's hot-wallet address in one tx is taken as a deposit of that exchange
(the money does reach it, one hop later); endpoints found this way carry an
``inferred:`` tag naming the wallet they were swept into, for the records request
to confirm.
"""

from __future__ import annotations

import numba as nb
import numpy as np

NONE = 0xFFFFFFFF
CATEGORIES = ("exchange",)
WALLETS = ("hot_wallet", "cold_wallet")
EVIDENCE = "deposit address swept into tagged hot wallet"


@nb.njit(cache=True)
def _swept(tx_first_in, tx_first_out, in_prev, out_addr, service, wallet, mixing):
    """Per address: the wallet address its coins were swept into (-1: none, or spent otherwise too)."""
    n_addr = service.shape[0]
    into = np.full(n_addr, -1, np.int64)
    other = np.zeros(n_addr, np.bool_)
    for t in range(tx_first_in.shape[0] - 1):
        dest = -1
        if not mixing[t] and tx_first_out[t + 1] - tx_first_out[t] == 1:
            d = out_addr[tx_first_out[t]]
            if d != NONE and wallet[d]:
                dest = d
        for i in range(tx_first_in[t], tx_first_in[t + 1]):
            p = in_prev[i]
            if p == NONE:
                continue
            a = out_addr[p]
            if a == NONE or service[a]:
                continue
            if dest < 0:
                other[a] = True
            elif into[a] < 0:
                into[a] = dest
    into[other] = -1
    return into


def swept_deposits(tx_first_in, tx_first_out, in_prev, out_addr, service: np.ndarray, wallet: np.ndarray,
                   mixing: np.ndarray) -> np.ndarray:
    """Per address (addr_num), the tagged wallet address it was swept into, or -1 (see the module text).
    ``service``: addresses already tagged as the service; ``wallet``: its hot/cold wallet addresses."""
    if not (wallet & service).any():
        return np.full(len(service), -1, np.int64)
    return _swept(tx_first_in, tx_first_out, in_prev, out_addr, service, wallet & service, mixing)

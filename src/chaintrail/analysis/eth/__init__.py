"""Ethereum investigation: analyses over the eth_* tables and the value-flow index.

- ``conversions``: swaps from Uniswap V2/V3 events netted per tx, WETH wraps/unwraps (``swap_events`` decodes);
- ``deposits``: exchange deposit addresses recognised by their forwarding pattern, untagged.
- ``tornado``: Tornado-style pools, deposits, withdrawals, anonymity sets; ``tornado_links``: linking leads.
"""

"""Ethereum: JSON-RPC answers decoded into flat rows (traces, token transfers, contracts, token metadata)."""

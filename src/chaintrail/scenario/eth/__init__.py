"""Ethereum scenarios: the DeFi world's contracts and their wrappers, the economy and the crime cases (issue 20)."""

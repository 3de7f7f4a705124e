"""One spelling per address: bech32 and 0x-hex addresses are case-insensitive, Base58 ones are not."""

from __future__ import annotations

CASE_FREE_PREFIXES = ("bc1", "tb1", "bcrt1", "ltc1", "0x")


def normalize_address(address: str) -> str:
    """The address stripped, and lower-cased where its encoding ignores case."""
    a = address.strip()
    low = a.lower()
    return low if low.startswith(CASE_FREE_PREFIXES) else a

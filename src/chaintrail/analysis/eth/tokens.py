"""Token metadata for display and sharing: each token contract's name, symbol and decimals.

``eth_tokens`` holds what the node answered when the token was first seen. A proxied token read before its
``initialize(name, symbol, ...)`` call has no name or symbol yet; they are then taken from that call's calldata
(the first successful one sent to the token), as ``analysis/eth/screen.py`` does for its exposure lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaintrail.chains.ethereum.hexutil import selector
from chaintrail.store.chainstore import ChainStore

INITIALIZE = ("initialize(string,string,address)", "initialize(string,string,uint8)", "initialize(string,string)")


@dataclass(frozen=True)
class Token:
    address: str            # 0x hex
    name: str | None
    symbol: str | None
    decimals: int | None


def _abi_string(args: bytes, k: int) -> str | None:
    """The k-th argument of ABI-encoded calldata read as a dynamic string (None if it is not one)."""
    try:
        off = int.from_bytes(args[32 * k:32 * k + 32], "big")
        n = int.from_bytes(args[off:off + 32], "big")
        raw = args[off + 32:off + 32 + n]
        return raw.decode("utf-8") if len(raw) == n and 0 < n <= 64 else None
    except (ValueError, UnicodeDecodeError):
        return None


def token_metadata(store: ChainStore) -> dict[bytes, Token]:
    """Every token of the store by its 20-byte address (first row per token), names filled from initialize()."""
    rows = store.read_table("eth_tokens", ["address", "name", "symbol", "decimals"]).to_pylist()
    got: dict[bytes, dict] = {}
    for r in rows:
        got.setdefault(bytes(r["address"]), {"name": r["name"] or None, "symbol": r["symbol"] or None,
                                             "decimals": r["decimals"]})
    missing = {a for a, r in got.items() if r["symbol"] is None or r["name"] is None}
    if missing:
        sels = {selector(s).to_bytes(4, "big") for s in INITIALIZE}
        txs = store.read_table("eth_transactions", ["to_address", "input", "receipt_status"]).to_pylist()
        for t in txs:
            to, data = t["to_address"], t["input"] or b""
            if to is None or bytes(to) not in missing or data[:4] not in sels or t["receipt_status"] == 0:
                continue
            r = got[bytes(to)]
            r["name"] = r["name"] or _abi_string(data[4:], 0)
            r["symbol"] = r["symbol"] or _abi_string(data[4:], 1)
            if r["name"] is not None and r["symbol"] is not None:
                missing.discard(bytes(to))
    return {a: Token("0x" + a.hex(), r["name"], r["symbol"], r["decimals"]) for a, r in got.items()}


def symbol_of(tokens: dict[bytes, Token], asset: str) -> str | None:
    """ETH, or the symbol of a 0x token (``0xTOKEN#ID`` items take their contract's); None where unknown."""
    if asset.upper() == "ETH":
        return "ETH"
    base = asset.split("#")[0].lower()
    try:
        t = tokens.get(bytes.fromhex(base[2:]))
    except ValueError:
        return None
    return t.symbol if t is not None else None


__all__ = ["Token", "symbol_of", "token_metadata"]

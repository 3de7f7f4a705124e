"""Which price series values an Ethereum asset: by the issuers' contract addresses on mainnet, by symbol elsewhere.

A token's symbol is whatever its deployer chose: anyone can deploy a contract calling itself USDT. On Ethereum
mainnet (chain id 1) a token is therefore valued at a stablecoin's series only at the contract address its
issuer publishes; a token there that merely calls itself USDT is not valued, and says why. On other chains
(the generated chains of scenarios and the demo, which have no issuers) the token's symbol picks the series, as a
stated fallback, and only where no other token of the store claims the same symbol.

The table below is small on purpose and every row names where its address is published:

* USDT: Tether's list of supported protocols, "Ethereum: 0xdAC17F958D2ee523a2206206994597C13D831ec7"
  (https://tether.to/en/supported-protocols);
* USDC: Circle's "USDC contract addresses", Ethereum mainnet 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48
  (https://developers.circle.com/stablecoins/usdc-contract-addresses);
* WETH: the canonical WETH9 contract 0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2, as Uniswap's deployment docs
  name it (https://docs.uniswap.org/contracts/v2/reference/smart-contracts/v2-deployments); a 1:1 wrap of ETH,
  valued at ETH's series.
"""

from __future__ import annotations

from chaintrail.store.prices import PriceBook

MAINNET = 1
# chain id -> contract (lower-case 0x hex) -> (price series, issuer, where the issuer publishes the address)
CANONICAL: dict[int, dict[str, tuple[str, str, str]]] = {
    MAINNET: {
        "0xdac17f958d2ee523a2206206994597c13d831ec7": ("USDT", "Tether", "https://tether.to/en/supported-protocols"),
        "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48": (
            "USDC", "Circle", "https://developers.circle.com/stablecoins/usdc-contract-addresses"),
        "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2": (
            "ETH", "WETH9 (1:1 wrap of ETH)",
            "https://docs.uniswap.org/contracts/v2/reference/smart-contracts/v2-deployments"),
    },
}
WRAPPED = {"WETH": "ETH"}          # a 1:1 wrap is valued at what it wraps


def price_series(book: PriceBook, tokens: dict, asset: str, chain_id: int | None = None) -> tuple[str | None, str]:
    """(the series ``asset`` is valued at, or None; why, in words a report can quote)."""
    if asset == "ETH":
        return ("ETH", "ETH/USD") if book.get("ETH") else (None, "no ETH price series in the store")
    known = CANONICAL.get(chain_id or 0, {}).get(asset.lower())
    if known is not None:
        series, issuer, source = known
        if not book.get(series):
            return None, f"no {series} price series in the store (chaintrail prices import FILE --asset {series})"
        return series, (f"{asset} is {issuer}'s contract on chain {chain_id} ({source}): valued at the "
                        f"{series}/USD series")
    t = tokens.get(bytes.fromhex(asset[2:]))
    sym = (t.symbol or "").upper() if t is not None else ""
    if chain_id in CANONICAL:
        return None, (f"token {asset}{f' ({sym})' if sym else ''} is not an issuer's published contract on chain "
                      f"{chain_id}: not valued (a symbol is not proof of what a token is)")
    if not sym:
        return None, f"token {asset} has no symbol: no price series can be matched to it"
    same = [x for x in tokens.values() if (x.symbol or "").upper() == sym]
    if len(same) > 1:
        return None, (f"{len(same)} tokens in the store call themselves {sym}: none is priced by that symbol's "
                      "series (symbols are not unique)")
    series = WRAPPED.get(sym, sym)
    if not book.get(series):
        return None, f"no {series} price series in the store (chaintrail prices import FILE --asset {series})"
    return series, (f"{sym} ({asset}) at the {series}/USD series by its symbol" +
                    (" (a 1:1 wrap)" if series != sym else "") +
                    f": chain {chain_id} has no issuers' published contracts (a generated chain), so the symbol, "
                    "unique in this store, is the fallback")


def chain_id_of(store) -> int | None:
    """The chain id the store's manifest records for its Ethereum data."""
    return (store.manifest.get("eth") or {}).get("chain_id")

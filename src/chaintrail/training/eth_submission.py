"""A trainee's answers to an Ethereum exercise, read strictly against the exercise's assets.

``{"exchanges": [{"exchange", "asset", "amount"}], "perpetrator_addresses", "mixers", "bridges",
"unspent": [{"asset", "amount"}], "reasoning"}``: an asset is ``ETH``, a token's symbol (``USDX``,
``bETH``) or its contract address; an amount is a decimal in the asset's own units (``1.5`` ETH, ``250``
USDX), read exactly into base units.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from chaintrail.errors import DecodeError
from chaintrail.training.submission import MAX_REASONING, _strings

FIELDS = {"exchanges", "perpetrator_addresses", "mixers", "bridges", "unspent", "reasoning"}
MAX_ROWS = 200


def resolve_asset(value, assets: dict[str, dict], where: str) -> str:
    """``ETH``, a symbol or a contract address -> the asset's key (``"ETH"`` or the lower-case contract)."""
    if not isinstance(value, str) or not value.strip():
        raise DecodeError(f"{where}: needs an asset (ETH, a token symbol or contract address)")
    v = value.strip()
    if v.lower() in assets:
        return v.lower()
    if v.upper() == "ETH":
        return "ETH"
    by_symbol = {a["symbol"].lower(): k for k, a in assets.items()}
    if v.lower() in by_symbol:
        return by_symbol[v.lower()]
    names = ", ".join(a["symbol"] for a in assets.values())
    raise DecodeError(f"{where}: {v[:60]!r} is not an asset of this exercise ({names}, or a token contract)")


def to_units(value, decimals: int, where: str) -> int:
    """A decimal amount in whole units (at most ``decimals`` places) as integer base units."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DecodeError(f"{where}: an amount is a number or a decimal string")
    text = value.strip().replace(",", ".").replace(" ", "") if isinstance(value, str) else repr(value)
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise DecodeError(f"{where}: {str(value)[:40]!r} is not an amount") from None
    if not d.is_finite() or d < 0 or d > Decimal(10) ** 15:
        raise DecodeError(f"{where}: an amount is between 0 and 10^15")
    units = d * (Decimal(10) ** decimals)
    if units != units.to_integral_value():
        raise DecodeError(f"{where}: more than {decimals} decimals")
    return int(units)


def _rows(raw, where: str, need_exchange: bool, assets: dict) -> list[tuple[str, str, int]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ROWS:
        raise DecodeError(f"{where}: a list of at most {MAX_ROWS} rows")
    out, seen = [], set()
    for i, row in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(row, dict):
            raise DecodeError(f"{w}: an object")
        name = ""
        if need_exchange:
            if not isinstance(row.get("exchange"), str) or not row["exchange"].strip():
                raise DecodeError(f"{w}: needs an exchange name")
            name = " ".join(row["exchange"].split())
        asset = resolve_asset(row.get("asset"), assets, f"{w}.asset")
        amount = to_units(row.get("amount", 0), assets[asset]["decimals"], f"{w}.amount")
        k = (name.lower(), asset)
        if k in seen:
            raise DecodeError(f"{w}: {name + ' ' if name else ''}{assets[asset]['symbol']} named twice")
        seen.add(k)
        out.append((name, asset, amount))
    return out


def parse_eth_answers(raw: dict, assets: dict[str, dict]) -> dict:
    """The answers as the grader reads them: amounts in base units, assets by key, addresses lower-cased."""
    if not isinstance(raw, dict):
        raise DecodeError("answers: a JSON object")
    unknown = set(raw) - FIELDS
    if unknown:
        raise DecodeError(f"answers: unknown field {sorted(unknown)[0]!r} (an Ethereum exercise takes "
                          f"{', '.join(sorted(FIELDS))})")
    exchanges: dict[str, dict[str, int]] = {}
    names: dict[str, str] = {}
    for name, asset, amount in _rows(raw.get("exchanges"), "exchanges", True, assets):
        names.setdefault(name.lower(), name)
        exchanges.setdefault(names[name.lower()], {})[asset] = amount
    unspent = {asset: amount for _n, asset, amount in _rows(raw.get("unspent"), "unspent", False, assets)}
    reasoning = raw.get("reasoning") or ""
    if not isinstance(reasoning, str) or len(reasoning) > MAX_REASONING:
        raise DecodeError(f"reasoning: text of at most {MAX_REASONING} characters")

    def named(field: str) -> list[str]:
        return [v.lower() if v.lower().startswith("0x") else v
                for v in _strings(raw.get(field), field) if v.lower() != "none"]

    return {
        "exchanges": exchanges,
        "perpetrator_addresses": [a.lower() for a in _strings(raw.get("perpetrator_addresses"),
                                                              "perpetrator_addresses")],
        "mixers": named("mixers"),
        "bridges": named("bridges"),
        "unspent": unspent if raw.get("unspent") is not None else None,
        "reasoning": reasoning,
    }

"""A trainee's answers, read strictly: one clear error naming the field, nothing half-read."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from chaintrail.errors import DecodeError

SAT = 100_000_000
MAX_BTC = Decimal(21_000_000)
MAX_ADDRESSES = 5_000
MAX_REASONING = 20_000


def btc_to_sat(value, where: str) -> int:
    """An amount in BTC (a decimal string or number, at most 8 decimals) as integer satoshis."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DecodeError(f"{where}: an amount in BTC is a number or a decimal string")
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else repr(value)
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise DecodeError(f"{where}: {str(value)[:40]!r} is not an amount in BTC") from None
    if not d.is_finite() or d < 0 or d > MAX_BTC:
        raise DecodeError(f"{where}: an amount in BTC is between 0 and 21,000,000")
    sat = d * SAT
    if sat != sat.to_integral_value():
        raise DecodeError(f"{where}: more than 8 decimals (1 satoshi is 0.00000001 BTC)")
    return int(sat)


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DecodeError(f"{where}: a list of strings")
    out = [v.strip() for v in value if v.strip()]
    if len(out) > MAX_ADDRESSES:
        raise DecodeError(f"{where}: at most {MAX_ADDRESSES} entries")
    if any(len(v) > 200 for v in out):
        raise DecodeError(f"{where}: an entry longer than 200 characters")
    return out


def parse_answers(raw: dict) -> dict:
    """``{"exchanges": [{"exchange", "amount_btc"}], "perpetrator_addresses", "mixers", "unspent_btc",
    "reasoning"}`` as the grader reads it (amounts in satoshis)."""
    if not isinstance(raw, dict):
        raise DecodeError("answers: a JSON object")
    unknown = set(raw) - {"exchanges", "perpetrator_addresses", "mixers", "unspent_btc", "reasoning"}
    if unknown:
        raise DecodeError(f"answers: unknown field {sorted(unknown)[0]!r}")
    exchanges: dict[str, int] = {}
    rows = raw.get("exchanges") or []
    if not isinstance(rows, list):
        raise DecodeError("exchanges: a list of {exchange, amount_btc}")
    for i, row in enumerate(rows):
        where = f"exchanges[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("exchange"), str) or not row["exchange"].strip():
            raise DecodeError(f"{where}: needs an exchange name")
        name = " ".join(row["exchange"].split())
        if name.lower() in {k.lower() for k in exchanges}:
            raise DecodeError(f"{where}: {name!r} named twice")
        exchanges[name] = btc_to_sat(row.get("amount_btc", 0), f"{where}.amount_btc")
    mixers = [m for m in _strings(raw.get("mixers"), "mixers") if m.lower() != "none"]
    unspent = raw.get("unspent_btc")
    reasoning = raw.get("reasoning") or ""
    if not isinstance(reasoning, str) or len(reasoning) > MAX_REASONING:
        raise DecodeError(f"reasoning: text of at most {MAX_REASONING} characters")
    return {
        "exchanges": exchanges,
        "perpetrator_addresses": _strings(raw.get("perpetrator_addresses"), "perpetrator_addresses"),
        "mixers": mixers,
        "unspent_sat": None if unspent in (None, "") else btc_to_sat(unspent, "unspent_btc"),
        "reasoning": reasoning,
    }

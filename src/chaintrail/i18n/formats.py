"""Numbers, amounts and dates written the way a reader of the current language expects (Babel, CLDR data).

Amounts stay exact: BTC and token amounts are cut from integers, never through a float, and only the
digit grouping and decimal sign follow the locale (en ``1,234.50000000``; uk ``1 234,50000000`` with a
no-break space). Dates are UTC, as block times are.
"""

from __future__ import annotations

import datetime as dt
import functools

from chaintrail.i18n.catalogs import DEFAULT_LANGUAGE, current_language

COIN = 100_000_000
# The CLDR locale each language's formats are taken from (English dates as an English court writes them).
LOCALES = {"en": "en_GB", "uk": "uk_UA", "de": "de_DE", "es": "es_ES"}


def _locale(lang: str | None) -> str:
    lang = lang or current_language()
    return LOCALES.get(lang, lang)


@functools.lru_cache(maxsize=16)
def _symbols(locale: str) -> tuple[str, str]:
    from babel.numbers import get_decimal_symbol, get_group_symbol

    return get_group_symbol(locale), get_decimal_symbol(locale)


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    return sep.join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


def fmt_number(n: int, lang: str | None = None) -> str:
    """An integer with the locale's digit grouping: en 1,234,567; uk 1 234 567."""
    group, _dec = _symbols(_locale(lang))
    return ("-" if n < 0 else "") + _group(str(abs(int(n))), group)


def fmt_decimal(x: float, digits: int = 2, lang: str | None = None) -> str:
    """A fraction with ``digits`` places: en 12.50; uk 12,50."""
    group, dec = _symbols(_locale(lang))
    s = f"{abs(x):.{digits}f}"
    whole, _, frac = s.partition(".")
    return ("-" if x < 0 and float(s) else "") + _group(whole, group) + (dec + frac if frac else "")


def fmt_percent(x: str | float, lang: str | None = None) -> str:
    """A share already rounded as text (``"12.3%"`` or 12.3) in the locale: en 12.3%; uk 12,3%."""
    _group_sym, dec = _symbols(_locale(lang))
    s = x if isinstance(x, str) else f"{x:.1f}%"
    return s.replace(".", dec)


def fmt_units(amount: int, decimals: int, symbol: str = "", lang: str | None = None) -> str:
    """An exact amount from integer base units: ``fmt_units(150000000, 8, "BTC")`` -> en ``1.50000000 BTC``."""
    group, dec = _symbols(_locale(lang))
    v = abs(int(amount))
    whole, frac = divmod(v, 10 ** decimals) if decimals else (v, 0)
    text = ("-" if amount < 0 else "") + _group(str(whole), group)
    if decimals:
        text += dec + str(frac).rjust(decimals, "0")
    return f"{text} {symbol}" if symbol else text


def fmt_btc(sat: int, lang: str | None = None, unit: bool = True) -> str:
    """Satoshis as exact BTC with 8 places: en ``1,234.50000000 BTC``; uk ``1 234,50000000 BTC``."""
    return fmt_units(sat, 8, "BTC" if unit else "", lang)


def _when(ts: int | float | dt.datetime | str) -> dt.datetime:
    if isinstance(ts, dt.datetime):
        return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
    if isinstance(ts, str):
        return _when(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")))
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc)


def fmt_date(ts: int | float | dt.datetime | str, lang: str | None = None) -> str:
    """A UTC day in words: en ``7 December 2026``; uk ``7 грудня 2026 р.``."""
    from babel.dates import format_date

    return format_date(_when(ts).date(), "long", locale=_locale(lang))


def fmt_datetime(ts: int | float | dt.datetime | str, lang: str | None = None) -> str:
    """A UTC moment: en ``7 Dec 2026, 12:03:04 UTC``; uk ``7 груд. 2026 р., 12:03:04 UTC``."""
    from babel.dates import format_datetime

    when = _when(ts).astimezone(dt.timezone.utc)
    return format_datetime(when, "medium", tzinfo=dt.timezone.utc, locale=_locale(lang)) + " UTC"


__all__ = ["DEFAULT_LANGUAGE", "fmt_btc", "fmt_date", "fmt_datetime", "fmt_decimal", "fmt_number", "fmt_percent",
           "fmt_units"]


def localise_number(text: str, lang: str | None = None) -> str:
    """A number already written the English way (``1,234.5``) with the locale's group and decimal signs."""
    group, dec = _symbols(_locale(lang))
    return text if (group, dec) == (",", ".") else text.translate({ord(","): group, ord("."): dec})

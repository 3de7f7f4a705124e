"""Locale formats: exact amounts from integers, grouped and pointed per language; the language of a context."""

from __future__ import annotations

import os

import pytest

from chaintrail.errors import UsageError
from chaintrail.i18n import _, current_language, fmt_btc, fmt_date, fmt_number, fmt_units, ngettext, use_language

NBSP = "\u00a0"


def test_btc_is_exact_and_grouped_per_locale():
    sat = 123_456_789_012_345     # 1,234,567.89012345 BTC: a float would lose the last digits
    assert fmt_btc(sat, "en") == "1,234,567.89012345 BTC"
    assert fmt_btc(sat, "uk") == f"1{NBSP}234{NBSP}567,89012345 BTC"
    assert fmt_btc(-5, "uk") == "-0,00000005 BTC"
    assert fmt_units(1_500_000, 6, "USDC", "uk") == "1,500000 USDC"
    assert fmt_number(1234567, "uk") == f"1{NBSP}234{NBSP}567"


def test_dates_in_words_per_locale():
    ts = 1231731025       # 2009-01-12 03:30:25 UTC, block 170
    assert fmt_date(ts, "en") == "12 January 2009"
    assert fmt_date(ts, "uk") == "12 січня 2009\u202fр."


def test_language_of_a_context_and_plural_forms(monkeypatch):
    monkeypatch.delenv("CHAINTRAIL_LANG", raising=False)
    assert current_language() == "en"
    with use_language("uk"):
        assert _("Summary for the prosecutor") == "Резюме для прокурора"
        assert fmt_btc(100_000_000_000) == f"1{NBSP}000,00000000 BTC"
    assert _("Summary for the prosecutor") == "Summary for the prosecutor"
    monkeypatch.setenv("CHAINTRAIL_LANG", "uk_UA.UTF-8")
    assert current_language() == "uk"
    assert ngettext("{n} item", "{n} items", 5) == "{n} items"       # no catalog entry: English forms


def test_unknown_language_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown language 'xx'"):
        with use_language("xx"):
            pass
    assert os.environ.get("CHAINTRAIL_LANG") != "xx"

"""Cells for CSV files a person may open in a spreadsheet: no text may start a formula.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return, which some spreadsheets skip before reading the next character) is run
as a formula by Excel, LibreOffice and Google Sheets: ``=HYPERLINK(...)`` in a
tag label becomes a live link, ``=cmd|...`` a DDE call. Such text is written
with a leading apostrophe, as OWASP advises, which spreadsheets show as plain
text. Numbers are left alone, so negative amounts stay numbers. Every CSV
chaintrail writes goes through :func:`safe_row`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FORMULA_START", "safe_cell", "safe_dict", "safe_row"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading apostrophe if it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """:func:`safe_cell` over one row."""
    return [safe_cell(v) for v in values]


def safe_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`safe_cell` over the values of a ``csv.DictWriter`` row."""
    return {k: safe_cell(v) for k, v in row.items()}

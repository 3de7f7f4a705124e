"""Generic CSV tag files: a header row naming the columns, one tag per row.

Column names follow the TagPack fields (``address``, ``label``, ``category``,
``abuse``, ``concepts``, ``actor``, ``source``, ``confidence``,
``is_cluster_definer``, ``currency``, ``network``, ``lastmod``, ``context``,
``tx_hash``), case-insensitively, with a few common aliases. ``category`` may
hold a GraphSense concept or a screening category ("ransomware", "darknet
market"); abuse concepts are filed under ``abuse``. Delimiter: comma,
semicolon or tab, whichever the header uses most.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow as pa

from chaintrail.i18n import _
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.errors import TagFileError
from chaintrail.tags.model import finish_tags

_ALIASES = {
    "addr": "address", "wallet": "address", "identifier": "address", "name": "label", "entity": "label",
    "type": "category", "definer": "is_cluster_definer", "cluster_definer": "is_cluster_definer",
    "asset": "currency", "chain": "network", "date": "lastmod", "url": "source", "reference": "source",
}
FIELDS = ("address", "label", "category", "abuse", "concepts", "actor", "source", "confidence",
          "is_cluster_definer", "currency", "network", "lastmod", "context", "tx_hash")
_REPEATING = frozenset(("label", "category", "abuse", "actor", "source", "confidence", "currency", "network",
                        "context"))
_MEMO_MAX = 200_000      # distinct strings kept for sharing (a file of unique contexts must not grow it forever)
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}


def read_csv(text: str, path: str) -> tuple[pa.Table, list[str], list[TagFileError]]:
    """Tags from one CSV file, its warnings, and an error for every bad row (good rows still load).

    A file that cannot be read as CSV at all (no header, no address column, a
    broken quote) raises ``TagFileError`` naming the line.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0]
    delim = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(text_lines(text), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration:
        raise TagFileError(_("empty CSV file (a header row is needed)"), path, 1) from None
    except csv.Error as exc:
        raise TagFileError(_("bad CSV: {error}").format(error=exc), path, 1) from None
    names = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    if "address" not in names:
        raise TagFileError(_("no 'address' column in the header row"), path, 1)
    unknown = sorted({n for n in names if n not in FIELDS and n})
    warnings = [f"columns ignored: {', '.join(unknown)}"] if unknown else []
    pos = {n: i for i, n in enumerate(names) if n in FIELDS}
    cols: dict[str, list] = {f: [] for f in FIELDS}
    lines: list[int] = []
    bad: list[TagFileError] = []
    memo: dict[str, str] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            try:
                vals = _row(row, header, pos, path, line)
            except TagFileError as exc:
                bad.append(exc)
                continue
            for f in FIELDS:
                v = vals.get(f)
                if f in _REPEATING and v is not None:
                    # One string object per distinct value: a tag file repeats its labels, categories and
                    # sources on every row, and each row's copies were kept apart.
                    v = memo.setdefault(v, v)
                cols[f].append(v)
            lines.append(line)
            if len(memo) > _MEMO_MAX:
                memo.clear()
    except csv.Error as exc:
        raise TagFileError(_("bad CSV: {error}").format(error=exc), path, reader.line_num) from None
    n = len(lines)
    cols["origin_file"] = [path] * n
    cols["origin_line"] = lines
    cols["tagpack"] = [None] * n
    return finish_tags(cols), warnings, bad


def text_lines(text: str):
    """The lines of ``text`` with their line ends, as ``open(newline="")`` gives them to ``csv.reader``: slices
    of ``text`` (1 byte a character for ASCII), not a StringIO, which keeps its own copy at 4 bytes a character
    (270 MB for a 300k-row, 70 MB tag file). A file with lone CR line ends is read through StringIO."""
    if text.count("\r") != text.count("\r\n"):
        return io.StringIO(text, newline="")
    return _lf_lines(text)


def _lf_lines(text: str):
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        end = n if end < 0 else end + 1
        yield text[start:end]
        start = end


def _row(row: list[str], header: list[str], pos: dict[str, int], path: str, line: int) -> dict:
    """One row's fields, typed; raises ``TagFileError`` for this line."""
    if len(row) > len(header):
        raise TagFileError(_("{n} fields in a row but {m} in the header").format(n=len(row), m=len(header)), path, line)
    vals = {f: (row[i].strip() if i < len(row) and row[i].strip() else None) for f, i in pos.items()}
    if not vals.get("address") and not vals.get("tx_hash"):
        raise TagFileError(_("row has no address"), path, line)
    _file_category(vals, path, line)
    vals["concepts"] = [c.strip() for c in vals["concepts"].replace("|", ";").split(";") if c.strip()] \
        if vals.get("concepts") else None
    vals["is_cluster_definer"] = _bool(vals.get("is_cluster_definer"), path, line)
    vals["lastmod"] = _date(vals.get("lastmod"), path, line)
    return vals


def _file_category(vals: dict, path: str, line: int) -> None:
    """Put a category given as a screening name or an abuse concept where a TagPack would have it."""
    cat = vals.get("category")
    if not cat:
        return
    concept = cat if cat in tx.CONCEPTS else tx.CANONICAL_CONCEPT.get(tx.normalize_category(cat) or "")
    if concept is None:
        raise TagFileError(_("unknown category {category} (use a GraphSense concept or one of {valid})").format(
            category=repr(cat), valid=", ".join(tx.CATEGORIES)), path, line)
    vals["category"] = None
    if tx.is_abuse(concept):
        vals["abuse"] = vals.get("abuse") or concept
        if vals["abuse"] != concept:
            vals["concepts"] = ";".join(filter(None, [vals.get("concepts"), concept]))
    else:
        vals["category"] = concept


def _bool(v: str | None, path: str, line: int) -> bool | None:
    if v is None:
        return None
    low = v.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise TagFileError(_("is_cluster_definer must be true or false, not {value}").format(value=repr(v)), path, line)


def _date(v: str | None, path: str, line: int) -> dt.date | None:
    if v is None:
        return None
    try:
        return dt.date.fromisoformat(v[:10])
    except ValueError:
        raise TagFileError(_("lastmod is not a date (YYYY-MM-DD): {value}").format(value=repr(v)), path, line) from None

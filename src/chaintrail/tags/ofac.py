"""OFAC SDN digital-currency address lists: ``sanctioned_addresses_<ASSET>.txt`` and ``.json``.

The lists (as published by 0xB10C/ofac-sanctioned-digital-currency-addresses,
generated from the SDN XML) carry addresses only: one per line in the .txt,
a JSON array of strings in the .json. Every address becomes a tag with the
GraphSense abuse concept ``sanction``, confidence ``authority_data``, and the
file and line it was read from. The list's date (``sanction_dates.list_date``) is kept as ``lastmod``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa

from chaintrail.i18n import _
from chaintrail.tags.errors import TagFileError
from chaintrail.tags.model import finish_tags

NAME = re.compile(r"^sanctioned_addresses_(?P<asset>[A-Za-z0-9]+)\.(?P<ext>txt|json)$")
SDN_SOURCE = "https://www.treasury.gov/ofac/downloads/sanctions/1.0/sdn_advanced.xml"


def asset_of(path: str | Path) -> str | None:
    """The asset code in an OFAC list's file name (``XBT`` for Bitcoin), or None."""
    m = NAME.match(Path(path).name)
    return m.group("asset").upper() if m else None


def read_ofac(text: str, path: str, asset: str | None = None, fmt: str | None = None) -> pa.Table:
    """Tags for every address in one list; ``fmt`` is txt or json (default: from the name)."""
    asset = (asset or asset_of(path) or "").upper()
    if not asset:
        raise TagFileError(_("cannot tell the asset of this OFAC list; name it sanctioned_addresses_<ASSET>.txt "
                             "or pass the asset"), path, None)
    fmt = fmt or Path(path).suffix.lstrip(".").lower()
    if fmt == "json":
        addresses, lines = _json_list(text, path)
    elif fmt == "txt":
        addresses, lines = _txt_list(text, path)
    else:
        raise TagFileError(_("an OFAC list is .txt or .json, not {fmt}").format(fmt=repr(fmt)), path, None)
    n = len(addresses)
    from chaintrail.tags.sanction_dates import list_date
    dated = list_date(path)     # the snapshot's date: screening says which list, as of when, it used
    cols = {
        "lastmod": [dated] * n,
        "context": [f"OFAC SDN list snapshot of {dated.isoformat()}"] * n,
        "address": addresses,
        "currency": [asset] * n,
        "label": [f"OFAC SDN list ({asset})"] * n,
        "source": [SDN_SOURCE] * n,
        "abuse": ["sanction"] * n,
        "confidence": ["authority_data"] * n,
        "is_cluster_definer": [False] * n,
        "tagpack": [f"OFAC SDN digital currency addresses ({asset})"] * n,
        "creator": ["US Treasury OFAC"] * n,
        "origin_file": [path] * n,
        "origin_line": lines,
    }
    return finish_tags(cols)


def _txt_list(text: str, path: str) -> tuple[list[str], list[int]]:
    addresses, lines = [], []
    for no, raw in enumerate(text.splitlines(), 1):
        a = raw.strip()
        if not a or a.startswith("#"):
            continue
        addresses.append(a)     # a line that is no address is left out, by line, when tags are checked
        lines.append(no)
    return addresses, lines


def _json_list(text: str, path: str) -> tuple[list[str], list[int]]:
    """The array's strings and the line each one starts on (the array is walked element by element)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TagFileError(_("invalid JSON: {error}").format(error=exc.msg), path, exc.lineno) from None
    if not isinstance(data, list):
        raise TagFileError(_("an OFAC .json list must be a JSON array of address strings"), path, 1)
    dec = json.JSONDecoder()
    ws = re.compile(r"[\s,]*")
    pos = ws.match(text, text.index("[") + 1).end()
    line = 1 + text.count("\n", 0, pos)
    addresses, lines = [], []
    for i in range(len(data)):
        a, end = dec.raw_decode(text, pos)
        if not isinstance(a, str) or not a.strip():
            raise TagFileError(_("element {i} is not an address string: {value}").format(
                i=i, value=repr(a)), path, line)
        addresses.append(a.strip())
        lines.append(line)
        nxt = ws.match(text, end).end()
        line += text.count("\n", pos, nxt)
        pos = nxt
    return addresses, lines

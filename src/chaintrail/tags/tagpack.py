"""GraphSense TagPacks and ActorPacks (YAML) -> tag and actor tables.

A TagPack is a header plus a ``tags:`` list. Header keys other than the pack's
own (title, creator, description, owner, is_public) are defaults every tag
inherits unless it sets the key itself. An ActorPack is a header plus an
``actors:`` list of actor records (id, label, uri, categories,
jurisdictions, context). Errors name the file and the line; anything the
schema calls mandatory but the public packs leave out (a confidence, a
source) is a warning, so the public packs load.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from chaintrail.i18n import _
from chaintrail.tags import fastyaml
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.errors import TagFileError
from chaintrail.tags.model import ACTORS_SCHEMA, finish_tags

PACK_KEYS = {"title", "creator", "description", "owner", "is_public", "tags"}
TEXT_FIELDS = ("label", "source", "currency", "network", "category", "abuse", "actor", "confidence", "tx_hash",
               "tag_type")
TAG_KEYS = set(TEXT_FIELDS) | {"address", "concepts", "is_cluster_definer", "lastmod", "context"}


def read_yaml(text: str, path: str) -> tuple[str, pa.Table, list[str]]:
    """Parse one YAML file: ('tagpack', tags, warnings) or ('actorpack', actors, warnings)."""
    try:
        data, lines = fastyaml.load(text)
    except fastyaml.YamlError as exc:
        raise TagFileError(_("invalid YAML: {error}").format(error=exc), path, exc.line) from None
    if not isinstance(data, dict):
        raise TagFileError(_("not a TagPack or ActorPack: the top level must be a mapping"), path, 1)
    if "actors" in data and "tags" not in data:
        return "actorpack", read_actorpack(data, lines.get("actors", []), path), []
    if "tags" not in data:
        raise TagFileError(_("not a TagPack (no 'tags:' list) nor an ActorPack (no 'actors:' list)"), path, 1)
    table, warnings = read_tagpack(data, lines.get("tags", []), path)
    return "tagpack", table, warnings


def read_tagpack(pack: dict, item_lines: list[int], path: str) -> tuple[pa.Table, list[str]]:
    items = pack["tags"]
    if not isinstance(items, list):
        raise TagFileError(_("'tags' must be a list of tags"), path, None)
    n = len(items)
    line_of = (lambda i: item_lines[i]) if len(item_lines) == n else (lambda i: None)
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            raise TagFileError(_("a tag must be a mapping of fields"), path, line_of(i))
    header = {k: v for k, v in pack.items() if k not in PACK_KEYS}
    warnings: list[str] = []
    unknown = sorted((set(header) | (set().union(*items) if items else set())) - TAG_KEYS)
    if unknown:
        warnings.append(_("fields not in the TagPack schema ignored: {fields}").format(
            fields=", ".join(map(str, unknown))))
    used = set().union(*items) if items else set()

    def column(key: str) -> list:
        default = header.get(key)
        if key in used:
            return [it.get(key, default) for it in items]
        return [default] * n

    cols: dict[str, list] = {}
    cols["address"] = column("address")
    for key in TEXT_FIELDS:
        cols[key] = _text(column(key), key, path, line_of)
    if not (set(map(type, cols["address"])) <= {str} and all(cols["address"])):
        for i, (a, h) in enumerate(zip(cols["address"], cols["tx_hash"])):
            if a is None and h is None:
                raise TagFileError(_("tag has neither an address nor a tx_hash"), path, line_of(i))
            if a is not None and (type(a) is not str or not a.strip()):
                raise TagFileError(_("tag address must be a non-empty string, not {value}").format(
                    value=repr(a)), path, line_of(i))
    cols["concepts"] = _concepts(column("concepts"), path, line_of)
    cols["is_cluster_definer"] = _bools(column("is_cluster_definer"), path, line_of)
    cols["lastmod"] = _dates(column("lastmod"), path, line_of)
    ctx = column("context")
    cols["context"] = ctx if set(map(type, ctx)) <= _TEXT_OK else \
        [c if c is None or type(c) is str else json.dumps(c, sort_keys=True, default=str) for c in ctx]
    cols["tagpack"] = [_scalar_text(pack.get("title"))] * n
    cols["creator"] = [_scalar_text(pack.get("creator"))] * n
    cols["origin_file"] = [path] * n
    cols["origin_line"] = [line_of(i) for i in range(n)]
    warnings += _soft_checks(cols, n, line_of)
    return finish_tags(cols), warnings


def read_actorpack(pack: dict, item_lines: list[int], path: str) -> pa.Table:
    actors = pack["actors"]
    if not isinstance(actors, list):
        raise TagFileError(_("'actors' must be a list"), path, None)
    lastmod = _dates([pack.get("lastmod")], path, lambda i: None)[0]
    rows = []
    for i, a in enumerate(actors):
        line = item_lines[i] if i < len(item_lines) else None
        if not isinstance(a, dict) or not isinstance(a.get("id"), (str, int)):
            raise TagFileError(_("an actor must be a mapping with an 'id'"), path, line)
        ctx = a.get("context")
        rows.append({
            "actor_id": str(a["id"]), "label": _scalar_text(a.get("label")), "uri": _scalar_text(a.get("uri")),
            "categories": _str_list(a.get("categories"), "categories", path, line),
            "jurisdictions": [j.upper() for j in _str_list(a.get("jurisdictions"), "jurisdictions", path, line)],
            "aliases": _str_list(a.get("aliases"), "aliases", path, line),
            "context": None if ctx is None else (ctx if isinstance(ctx, str) else json.dumps(ctx, sort_keys=True, default=str)),
            "lastmod": lastmod, "origin_file": path, "origin_line": line,
        })
    return pa.Table.from_pylist(rows, schema=ACTORS_SCHEMA)


# -- column checks -----------------------------------------------------------------

_NONE = {type(None)}
_TEXT_OK = {str, type(None)}
_BOOL_OK = {bool, type(None)}
_DATE_OK = {dt.date, type(None)}

def _scalar_text(v):
    if v is None or type(v) is str:
        return v
    if isinstance(v, (bool, int, float, dt.date)):
        return str(v)
    return None


def _text(col: list, key: str, path: str, line_of) -> list:
    """Text fields: strings as they are, numbers written as text, anything nested is an error."""
    if set(map(type, col)) <= _TEXT_OK:
        return col
    out = []
    for i, v in enumerate(col):
        if v is None or type(v) is str:
            out.append(v)
        elif isinstance(v, (bool, int, float, dt.date)):
            out.append(str(v))
        else:
            raise TagFileError(_("'{key}' must be text, not {type}").format(
                key=key, type=type(v).__name__), path, line_of(i))
    return out


def _concepts(col: list, path: str, line_of) -> list:
    if set(map(type, col)) <= _NONE:
        return col
    out = []
    for i, v in enumerate(col):
        if v is None:
            out.append(None)
        elif isinstance(v, str):
            out.append([v])
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            out.append(v)
        else:
            raise TagFileError(_("'concepts' must be a list of concept ids"), path, line_of(i))
    return out


def _bools(col: list, path: str, line_of) -> list:
    if set(map(type, col)) <= _BOOL_OK:
        return col
    for i, v in enumerate(col):
        if not (v is None or v is True or v is False):
            raise TagFileError(_("'is_cluster_definer' must be true or false, not {value}").format(
                value=repr(v)), path, line_of(i))
    return col


def _dates(col: list, path: str, line_of) -> list:
    if set(map(type, col)) <= _DATE_OK:
        return col
    out = []
    for i, v in enumerate(col):
        if v is None or type(v) is dt.date:
            out.append(v)
        elif isinstance(v, dt.datetime):
            out.append(v.date())
        elif isinstance(v, str):
            try:
                out.append(dt.date.fromisoformat(v.strip()[:10]))
            except ValueError:
                raise TagFileError(_("'lastmod' is not a date: {value}").format(
                    value=repr(v)), path, line_of(i)) from None
        else:
            raise TagFileError(_("'lastmod' is not a date: {value}").format(value=repr(v)), path, line_of(i))
    return out


def _str_list(v, key: str, path: str, line) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, (str, int)) for x in v):
        return [str(x) for x in v]
    raise TagFileError(_("'{key}' must be a list of text").format(key=key), path, line)


def _soft_checks(cols: dict[str, list], n: int, line_of) -> list[str]:
    """What the schema asks for but the public packs do not always give: warnings, never errors."""
    out = []
    for key in ("label", "source", "confidence"):
        if None not in cols[key]:
            continue
        missing = [i for i, v in enumerate(cols[key]) if v is None]
        if missing:
            out.append(f"{len(missing)} tag(s) without {key} (first at line {line_of(missing[0])})")
    if n and set(cols["currency"]) == {None} and set(cols["network"]) == {None}:
        out.append("no currency or network given")
    bad_conf = sorted({c for c in set(cols["confidence"]) if c is not None and c not in tx.CONFIDENCE})
    if bad_conf:
        out.append(f"confidence not on the GraphSense scale: {', '.join(bad_conf)}")
    seen = set(cols["category"]) | set(cols["abuse"])
    for cs in cols["concepts"]:
        if cs:
            seen.update(cs)
    unknown = sorted(c for c in seen if c is not None and c not in tx.CONCEPTS)
    if unknown:
        out.append(f"concepts not in the GraphSense taxonomy: {', '.join(unknown)}")
    return out

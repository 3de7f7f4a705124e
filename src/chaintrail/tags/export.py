"""Tags out as a GraphSense TagPack, so partners using GraphSense read them with the same meaning.

Fields that every exported tag shares go into the pack header (GraphSense
inheritance), the rest stay on the tags. Provenance that has no TagPack field
(user, case, original file and line) goes into each tag's ``context`` JSON,
which the TagPack schema reserves for such extra information.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from chaintrail.errors import UsageError
from chaintrail.i18n import _
from chaintrail.tags.model import Tag

_FIELDS = ("label", "source", "currency", "network", "category", "abuse", "concepts", "actor", "confidence",
           "is_cluster_definer", "lastmod", "tx_hash", "tag_type")


def select_tags(tags: pa.Table, *, case: str | None = None, user: str | None = None,
                origin_file: str | None = None) -> list[Tag]:
    """Tags of one case, one user, or one imported file (all given filters apply)."""
    mask = pa.array([True] * tags.num_rows)
    for col, value in (("origin_case", case), ("origin_user", user), ("origin_file", origin_file)):
        if value is not None:
            mask = pc.and_(mask, pc.fill_null(pc.equal(tags[col], value), False))
    return [Tag.from_row(r) for r in tags.filter(mask).to_pylist()]


def tagpack_dict(tags: list[Tag], title: str, creator: str, description: str | None = None) -> dict:
    """A TagPack (as a mapping) holding ``tags``; shared values are lifted into the header."""
    if not tags:
        raise UsageError(_("no tags to export"))
    rows = [_tag_fields(t) for t in tags]
    header: dict = {"title": title, "creator": creator}
    if description:
        header["description"] = description
    for f in _FIELDS:
        values = [r.get(f) for r in rows]
        if all(f in r for r in rows) and all(v == values[0] for v in values):
            header[f] = values[0]
            for r in rows:
                del r[f]
    header["tags"] = rows
    return header


def write_tagpack(tags: list[Tag], path: str | Path, title: str, creator: str,
                  description: str | None = None) -> int:
    """Write ``tags`` as a TagPack YAML file; returns how many were written."""
    pack = tagpack_dict(tags, title, creator, description)
    text = yaml.safe_dump(pack, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    Path(path).write_text(text, encoding="utf-8")
    return len(pack["tags"])


def _tag_fields(t: Tag) -> dict:
    out: dict = {"address": t.address} if t.address else {}
    for f in _FIELDS:
        v = getattr(t, f)
        if f == "concepts":
            v = list(v) or None
        elif f == "is_cluster_definer":
            v = bool(v)
        elif f == "lastmod" and isinstance(v, dt.date):
            v = v.isoformat()
        if v is not None:
            out[f] = v
    context = json.loads(t.context) if t.context and t.context.strip().startswith("{") else {}
    prov = {k: v for k, v in (("user", t.origin_user), ("case", t.origin_case), ("file", t.origin_file),
                              ("line", t.origin_line)) if v is not None}
    if prov:
        context["chaintrail_provenance"] = prov
    if context:
        out["context"] = json.dumps(context, sort_keys=True)
    elif t.context:
        out["context"] = t.context
    return out

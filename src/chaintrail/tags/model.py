"""The tag model: one attribution tag and one actor, and how a batch of them becomes an Arrow table.

Fields follow the GraphSense TagPack schema (label, source, currency, network,
category / abuse / concepts, actor, confidence, is_cluster_definer, lastmod,
context, tx_hash) plus provenance: a tag came from a file and line, or was
added by a user, optionally for a case. Column names live in
``store.schema.ANALYSIS_TABLES`` (``tags``, ``tag_actors``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.chains.address_case import CASE_FREE_PREFIXES, normalize_address  # noqa: F401 - re-exported
from chaintrail.store.schema import ANALYSIS_TABLES
from chaintrail.tags import taxonomy as tx

TAGS_SCHEMA = ANALYSIS_TABLES["tags"]
ACTORS_SCHEMA = ANALYSIS_TABLES["tag_actors"]
TAG_FIELDS = tuple(TAGS_SCHEMA.names)

# Asset codes that name the same chain differently (OFAC writes XBT for Bitcoin).
_CURRENCY_ALIASES = {"XBT": "BTC"}


def normalize_addresses(arr: pa.Array) -> pa.Array:
    """``normalize_address`` over a whole string column."""
    arr = pc.utf8_trim_whitespace(arr)
    low = pc.utf8_lower(arr)
    mask = pc.starts_with(low, CASE_FREE_PREFIXES[0])
    for p in CASE_FREE_PREFIXES[1:]:
        mask = pc.or_(mask, pc.starts_with(low, p))
    return pc.if_else(mask, low, arr)


def normalize_currency(c) -> str | None:
    if c is None:
        return None
    s = str(c).strip().upper()
    return _CURRENCY_ALIASES.get(s, s) or None


@dataclass(frozen=True)
class Tag:
    """One attribution tag with its provenance."""

    address: str | None
    label: str | None
    category: str | None = None
    abuse: str | None = None
    concepts: tuple[str, ...] = ()
    actor: str | None = None
    confidence: str | None = None
    confidence_level: int | None = None
    is_cluster_definer: bool = False
    currency: str | None = None
    network: str | None = None
    source: str | None = None
    lastmod: dt.date | None = None
    context: str | None = None
    tx_hash: str | None = None
    tag_type: str | None = None
    risk_categories: tuple[str, ...] = ()
    tagpack: str | None = None
    creator: str | None = None
    origin_file: str | None = None
    origin_line: int | None = None
    origin_user: str | None = None
    origin_case: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> "Tag":
        r = dict(row)
        r["concepts"] = tuple(r.get("concepts") or ())
        r["risk_categories"] = tuple(r.get("risk_categories") or ())
        r["is_cluster_definer"] = bool(r.get("is_cluster_definer"))
        return cls(**{k: r.get(k) for k in TAG_FIELDS})

    @property
    def provenance(self) -> str:
        """Where the tag came from, in words: 'file packs/x.yaml line 12', 'added by alice (case C-7)'."""
        parts = []
        if self.origin_file:
            parts.append(f"file {self.origin_file}" + (f" line {self.origin_line}" if self.origin_line else ""))
        if self.origin_user:
            parts.append(f"added by {self.origin_user}")
        if self.origin_case:
            parts.append(f"case {self.origin_case}")
        return ", ".join(parts) or "unknown origin"

    @property
    def kind(self) -> str:
        """The concept that says what the tag is: abuse first, then category, then concepts."""
        return self.abuse or self.category or (self.concepts[0] if self.concepts else "") or "tag"

    def describe(self) -> str:
        """'Hydra Market' [market; darknet market] (source ..., confidence authority_data, file ... line 3)."""
        cats = "; ".join(tx.TITLE[c] for c in self.risk_categories)
        what = self.kind + (f"; {cats}" if cats else "")
        bits = []
        if self.source:
            bits.append(f"source {self.source}")
        if self.confidence:
            bits.append(f"confidence {self.confidence}")
        bits.append(self.provenance)
        return f"'{self.label or '?'}' [{what}] ({', '.join(bits)})"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in TAG_FIELDS}
        d["concepts"] = list(self.concepts)
        d["risk_categories"] = list(self.risk_categories)
        d["lastmod"] = self.lastmod.isoformat() if self.lastmod else None
        return d


@dataclass(frozen=True)
class Actor:
    """A real-world actor (ActorPack): who is behind a tag, and where they are."""

    actor_id: str
    label: str | None = None
    uri: str | None = None
    categories: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    context: str | None = None
    lastmod: dt.date | None = None
    origin_file: str | None = None
    origin_line: int | None = None

    @classmethod
    def from_row(cls, row: dict) -> "Actor":
        r = dict(row)
        for k in ("categories", "jurisdictions", "aliases"):
            r[k] = tuple(r.get(k) or ())
        return cls(**{k: r.get(k) for k in ACTORS_SCHEMA.names})

    def describe(self) -> str:
        where = f", jurisdictions {', '.join(self.jurisdictions)}" if self.jurisdictions else ""
        return f"{self.label or self.actor_id} (actor {self.actor_id}{where})"


def _risk_column(cols: dict[str, list], n: int) -> pa.Array:
    """Screening categories per tag, computed once per distinct (category, abuse, concepts, source)."""
    none = [None] * n
    cat, ab, src = (cols.get(k) or none for k in ("category", "abuse", "source"))
    con = cols.get("concepts") or none
    flag = {s: tx.sanction_source(s) for s in set(src)}
    if len(set(cat)) == 1 and len(set(ab)) == 1 and len(set(flag.values())) == 1 and not any(con):
        # Header-level categorisation (most packs): one answer for every tag.
        return pa.array([_risk_of(cat[0], ab[0], (), flag[src[0]] if n else False)] * n, pa.list_(pa.string()))
    keys = list(zip(cat, ab, [tuple(c) if c else () for c in con], map(flag.__getitem__, src)))
    table = {k: _risk_of(*k) for k in set(keys)}
    return pa.array(list(map(table.__getitem__, keys)), pa.list_(pa.string()))


def _risk_of(category, abuse, concepts: tuple, sanction_src: bool) -> list[str]:
    found = tx.categories_of(category, abuse, concepts, None)
    if sanction_src and "sanctioned" not in found:
        found = [c for c in tx.CATEGORIES if c in found or c == "sanctioned"]
    return found


def _mapped(values: list, fn) -> list:
    """``fn`` over a column, computed once per distinct value (columns repeat a handful of values)."""
    table = {v: (None if v is None else fn(v)) for v in set(values)}
    return list(map(table.__getitem__, values))


def finish_tags(cols: dict[str, list]) -> pa.Table:
    """Columns of raw values (as imported) -> the ``tags`` table with derived fields filled in.

    Normalises addresses and currencies, defaults ``network`` to the currency,
    maps confidence ids to their level and computes each tag's screening categories.
    """
    n = len(cols["address"])
    out: dict[str, pa.Array] = {}
    addr = pa.array(cols["address"], pa.string())
    out["address"] = normalize_addresses(addr)
    none = [None] * n
    cur = _mapped(cols.get("currency") or none, normalize_currency)
    net = [w if w is not None else c for w, c in zip(_mapped(cols.get("network") or none, normalize_currency), cur)]
    out["currency"] = pa.array(cur, pa.string())
    out["network"] = pa.array(net, pa.string())
    out["confidence_level"] = pa.array(_mapped(cols.get("confidence") or none, tx.CONFIDENCE.get), pa.int16())
    out["risk_categories"] = _risk_column(cols, n)
    for f in TAGS_SCHEMA:
        if f.name in out:
            continue
        vals = cols.get(f.name)
        out[f.name] = pa.nulls(n, f.type) if vals is None else pa.array(vals, f.type)
    return pa.table([out[f.name] for f in TAGS_SCHEMA], schema=TAGS_SCHEMA)


@dataclass
class FileResult:
    """What reading one file produced: tags or actors, warnings, or the error that stopped it."""

    path: str
    kind: str
    tags: pa.Table | None = None
    actors: pa.Table | None = None
    sha256: str = ""
    warnings: list[str] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)   # "file:line: why" for each row left out
    error: str | None = None
    unchanged: bool = False

    @property
    def n_tags(self) -> int:
        return 0 if self.tags is None else self.tags.num_rows

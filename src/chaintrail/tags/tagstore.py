"""The tag store: every imported or hand-added tag, kept beside the chain store as Parquet.

Files under ``<store>/analysis/``: ``tags.parquet``, ``tag_actors.parquet``
and ``tag_sources.parquet`` (one row per imported file with its SHA-256).
Tags are kept for any address, whether or not the chain store has seen it.

Re-importing a file replaces the rows that came from that file (and skips the
file outright if its SHA-256 is unchanged), so imports are idempotent; rows
are kept sorted by provenance, so the files do not depend on import order.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.errors import UsageError
from chaintrail.i18n import _
from chaintrail.store.schema import ANALYSIS_TABLES
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.importer import discover, read_all, sha256_of
from chaintrail.tags.index import TagIndex
from chaintrail.tags.model import ACTORS_SCHEMA, TAGS_SCHEMA, Actor, FileResult, Tag, finish_tags
from chaintrail.tags.validate import address_problem

SOURCES_SCHEMA = ANALYSIS_TABLES["tag_sources"]
_SORT = [("origin_file", "ascending"), ("origin_line", "ascending"), ("origin_user", "ascending"),
         ("origin_case", "ascending"), ("address", "ascending"), ("label", "ascending")]


@dataclass
class ImportReport:
    """What an import did, file by file."""

    files: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)       # files that did not load at all
    bad_lines: list[str] = field(default_factory=list)    # rows left out of files that did load (file:line: why)
    tags_added: int = 0
    tags_removed: int = 0
    actors: int = 0
    total_tags: int = 0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Every file loaded whole: no file error and no row left out."""
        return not self.errors and not self.bad_lines

    def as_dict(self) -> dict:
        return {"ok": self.ok, "files": self.files, "errors": self.errors, "bad_lines": self.bad_lines,
                "skipped": len(self.skipped),
                "tags_added": self.tags_added, "tags_removed": self.tags_removed, "actors": self.actors,
                "total_tags": self.total_tags, "elapsed_s": round(self.elapsed_s, 3)}


class TagStore:
    """Tags and actors of one chain-store folder (``root``); the folder need not hold chain data yet."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.dir = self.root / "analysis"
        self._tags: pa.Table | None = None
        self._actors: pa.Table | None = None
        self._sources: pa.Table | None = None
        self._index: TagIndex | None = None
        self._actor_rows: dict[str, Actor] | None = None
        self._row_cache: dict[int, Tag] = {}

    # -- tables --------------------------------------------------------------------
    def _read(self, name: str, schema: pa.Schema) -> pa.Table:
        f = self.dir / f"{name}.parquet"
        # One chunk per column: row lookups (take) on a many-chunk table cost a concatenation each time.
        return pq.read_table(f).cast(schema).combine_chunks() if f.exists() else schema.empty_table()

    @property
    def tags(self) -> pa.Table:
        if self._tags is None:
            self._tags = self._read("tags", TAGS_SCHEMA)
        return self._tags

    @property
    def actors(self) -> pa.Table:
        if self._actors is None:
            self._actors = self._read("tag_actors", ACTORS_SCHEMA)
        return self._actors

    @property
    def sources(self) -> pa.Table:
        if self._sources is None:
            self._sources = self._read("tag_sources", SOURCES_SCHEMA)
        return self._sources

    @property
    def index(self) -> TagIndex:
        """Address -> tag rows, built once per load (constant-time lookups)."""
        if self._index is None:
            self._index = TagIndex(self.tags)
        return self._index

    def __len__(self) -> int:
        if self._tags is None:      # the row count from the file's footer: no need to decode 1M tags to ask
            f = self.dir / "tags.parquet"
            return pq.ParquetFile(f).metadata.num_rows if f.exists() else 0
        return self._tags.num_rows

    # -- lookups -------------------------------------------------------------------
    def lookup(self, address: str) -> list[Tag]:
        """Every tag on one address (any spelling of a bech32/hex address), in provenance order."""
        rows = self.index.rows(address)
        return self.tags_at(rows) if len(rows) else []

    def tags_at(self, rows) -> list[Tag]:
        """Tag objects for row ids (cached: screens ask for the same counterparties over and over)."""
        rows = [int(r) for r in rows]
        cache = self._row_cache
        missing = sorted({r for r in rows if r not in cache})
        if missing:
            got = self.tags.take(pa.array(missing, pa.int64())).to_pylist()
            for r, d in zip(missing, got):
                cache[r] = Tag.from_row(d)
        return [cache[r] for r in rows]

    def actor(self, actor_id: str | None) -> Actor | None:
        """The ActorPack record for an actor id (None if no pack describes it)."""
        if not actor_id:
            return None
        if self._actor_rows is None:
            self._actor_rows = {r["actor_id"]: Actor.from_row(r) for r in self.actors.to_pylist()}
        return self._actor_rows.get(actor_id)

    def counts_by_file(self) -> dict[str, int]:
        t = self.tags.group_by("origin_file").aggregate([("origin_file", "count")])
        return dict(zip(t["origin_file"].to_pylist(), t["origin_file_count"].to_pylist()))

    # -- writing -------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / "tags.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Another process may have written since we loaded: start from what is on disk.
            self._tags = self._actors = self._sources = None
            self._index = None
            self._row_cache = {}
            self._actor_rows = None
            yield
        finally:
            os.close(fd)

    def _write(self, name: str, table: pa.Table) -> None:
        out = self.dir / f"{name}.parquet"
        tmp = out.with_name(out.name + ".tmp")
        # One row group: the table is read whole, and one chunk per column keeps row lookups cheap.
        pq.write_table(table, tmp, compression="zstd", compression_level=1,
                       row_group_size=max(table.num_rows, 1))
        os.replace(tmp, out)

    def import_paths(self, paths, *, fmt: str = "auto", asset: str | None = None, workers: int = 1,
                     progress=None) -> ImportReport:
        """Import TagPacks, ActorPacks, OFAC lists and CSV files (files or folders)."""
        t0 = time.perf_counter()
        found = discover(paths, fmt, asset)
        report = ImportReport(skipped=found.skipped, errors=list(found.missing))
        with self._locked():
            known = dict(zip(self.sources["origin_file"].to_pylist(), self.sources["sha256"].to_pylist()))
            todo, same = [], []
            for f in found.files:
                digest = sha256_of(f.path) if str(f.path) in known and f.path.is_file() else None
                (same if digest is not None and digest == known[str(f.path)] else todo).append(f)
            results = read_all(todo, fmt, workers, progress)
            results += [FileResult(path=str(f.path), kind=f.kind, sha256=known[str(f.path)], unchanged=True)
                        for f in same]
            good = [r for r in results if r.error is None]
            for r in results:
                if r.error is not None:
                    report.errors.append(r.error)
                report.bad_lines += r.bad_lines
                report.files.append({"path": r.path, "kind": r.kind, "tags": r.n_tags,
                                     "actors": 0 if r.actors is None else r.actors.num_rows,
                                     "warnings": r.warnings, "bad_lines": r.bad_lines, "error": r.error,
                                     "unchanged": r.unchanged})
            changed = [r for r in good if not r.unchanged]
            if changed:
                self._merge(changed, report)
            report.actors = self.actors.num_rows
            report.total_tags = self.tags.num_rows
        report.elapsed_s = time.perf_counter() - t0
        return report

    def _merge(self, results: list[FileResult], report: ImportReport) -> None:
        replaced = {r.path for r in results}
        tags, actors, sources = self.tags, self.actors, self.sources
        # Rows stay grouped by file in path order (each file's rows in line order), manual tags last:
        # rebuilding is a concatenation of slices, never a sort of the whole table.
        parts = {path: t for path, t in _file_runs(tags) if path not in replaced}
        report.tags_removed = tags.num_rows - sum(t.num_rows for t in parts.values())
        for r in results:
            if r.tags is not None:
                parts[r.path] = r.tags
                report.tags_added += r.tags.num_rows
        manual = parts.pop(None, None)
        ordered = [parts[p] for p in sorted(parts)]
        if manual is not None:
            ordered.append(manual.take(pc.sort_indices(manual, sort_keys=_SORT)))
        tags = pa.concat_tables(ordered) if ordered else TAGS_SCHEMA.empty_table()
        replaced = pa.array(sorted(replaced), pa.string())
        keep_a = pc.invert(pc.fill_null(pc.is_in(actors["origin_file"], value_set=replaced), False))
        actors = pa.concat_tables([actors.filter(keep_a), *(r.actors for r in results if r.actors is not None)])
        actors = _unique_actors(actors)
        keep_s = pc.invert(pc.is_in(sources["origin_file"], value_set=replaced))
        now = int(time.time())
        fresh = pa.Table.from_pylist([{"origin_file": r.path, "kind": r.kind, "sha256": r.sha256,
                                       "tags": r.n_tags if r.actors is None else r.actors.num_rows,
                                       "imported_at": now} for r in results], schema=SOURCES_SCHEMA)
        sources = pa.concat_tables([sources.filter(keep_s), fresh]).sort_by("origin_file")
        self._write("tags", tags)
        self._write("tag_actors", actors)
        self._write("tag_sources", sources)
        self._tags, self._actors, self._sources = tags.combine_chunks(), actors, sources
        self._index = self._actor_rows = None
        self._row_cache = {}

    def add_tag(self, address: str, label: str, *, category: str | None = None, abuse: str | None = None,
                concepts=(), actor: str | None = None, source: str | None = None, confidence: str | None = None,
                is_cluster_definer: bool = False, currency: str = "BTC", network: str | None = None,
                context: str | None = None, user: str | None = None, case: str | None = None) -> Tag:
        """Add one tag by hand; adding the same tag again (same fields, user and case) changes nothing."""
        if not address or not address.strip():
            raise UsageError(_("a tag needs an address"))
        if not label or not label.strip():
            raise UsageError(_("a tag needs a label"))
        category, abuse, concepts = _resolve_concepts(category, abuse, list(concepts))
        if confidence is not None and confidence not in tx.CONFIDENCE:
            raise UsageError(_("confidence must be one of {valid}, not {value}").format(
                valid=", ".join(tx.CONFIDENCE), value=repr(confidence)))
        user = user or _current_user()
        cols = {"address": [address], "label": [label.strip()], "category": [category], "abuse": [abuse],
                "concepts": [concepts or None], "actor": [actor], "source": [source], "confidence": [confidence],
                "is_cluster_definer": [bool(is_cluster_definer)], "currency": [currency], "network": [network],
                "context": [context], "lastmod": [dt.date.today()], "tagpack": [None],
                "origin_user": [user], "origin_case": [case]}
        row = finish_tags(cols)
        new = Tag.from_row(row.to_pylist()[0])
        why = address_problem(new.address or "", new.currency or new.network)
        if why is not None:
            raise UsageError(why)
        with self._locked():
            for old in self.lookup(new.address):
                if _same_manual(old, new):
                    return old
            runs = _file_runs(self.tags)
            files = [t for f, t in runs if f is not None]
            manual = pa.concat_tables([t for f, t in runs if f is None] + [row])
            tags = pa.concat_tables(files + [manual.take(pc.sort_indices(manual, sort_keys=_SORT))])
            self._write("tags", tags)
            self._tags, self._index, self._row_cache = tags.combine_chunks(), None, {}
        return new


def _file_runs(tags: pa.Table):
    """(origin_file, slice) for each run of rows from one file; manual tags have origin_file None."""
    if tags.num_rows == 0:
        return []
    files = tags.column("origin_file").to_pylist()
    out, start = [], 0
    for i in range(1, len(files) + 1):
        if i == len(files) or files[i] != files[start]:
            out.append((files[start], tags.slice(start, i - start)))
            start = i
    return out


def _same_manual(a: Tag, b: Tag) -> bool:
    keys = ("address", "label", "category", "abuse", "concepts", "actor", "source", "confidence",
            "is_cluster_definer", "currency", "origin_user", "origin_case")
    return a.origin_file is None and all(getattr(a, k) == getattr(b, k) for k in keys)


def _resolve_concepts(category, abuse, concepts: list[str]):
    """Accept GraphSense concepts or screening names ('ransomware', 'darknet market'); file abuses under abuse."""
    def concept(name: str) -> str:
        if name in tx.CONCEPTS:
            return name
        cat = tx.normalize_category(name)
        if cat is None:
            raise UsageError(_("unknown category {category}: use a GraphSense concept or one of {valid}").format(
                category=repr(name), valid=", ".join(tx.CATEGORIES)))
        return tx.CANONICAL_CONCEPT[cat]

    if category:
        c = concept(category)
        if tx.is_abuse(c):
            if abuse and abuse != c:
                concepts.append(c)
            else:
                abuse = c
            category = None
        else:
            category = c
    if abuse:
        abuse = concept(abuse)
    concepts = [concept(c) for c in concepts]
    return category, abuse, concepts


def _unique_actors(actors: pa.Table) -> pa.Table:
    """One row per actor id (the first by file order), so joins on actor never duplicate tags."""
    if actors.num_rows == 0:
        return actors
    actors = actors.sort_by([("origin_file", "ascending"), ("origin_line", "ascending")])
    ids = actors["actor_id"].to_pylist()
    seen: set[str] = set()
    keep = [not (a in seen or seen.add(a)) for a in ids]  # type: ignore[func-returns-value]
    return actors.filter(pa.array(keep))


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"

"""Read-only DuckDB over the chain store: raw tables in schema ``raw``, contract views in ``main``.

Each query runs in a fresh in-memory DuckDB that can read only the store's
Parquet folders and write nowhere, under a memory limit and (optionally) a
time limit. DuckDB spills what does not fit to its temp directory, and always
lets a query read that directory, so each query gets a new, empty, private
one under the store's scratch area (``<store>/scratch/``, or the system's temp
folder for a store on read-only media), removed afterwards: all a query can
find there is its own spill.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import threading
from pathlib import Path

import duckdb

from chaintrail.errors import UsageError
from chaintrail.i18n import _
from chaintrail.store.chainstore import SCHEMAS, ChainStore
from chaintrail.store.eth_schema import ETH_ANALYSIS_TABLES, ETH_SQL_VIEWS
from chaintrail.store.schema import ANALYSIS_TABLES, SQL_VIEWS

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s+(\([^)]*\)\s*)?(analy[sz]e\b\s*)?", re.IGNORECASE)
MEMORY_LIMIT = "2GB"            # default DuckDB memory_limit per query
SCRATCH = "scratch"             # the store's scratch area


CHAINS = ("btc", "eth")


def connect(store: ChainStore, chain: str = "btc") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose views read the store's Parquet parts. Every chain's views are there (Ethereum's
    prefixed ``eth_``); with ``chain="eth"`` the unprefixed names are Ethereum's (``blocks`` is ``eth_blocks``)."""
    if chain not in CHAINS:
        raise UsageError(_("--chain must be one of {valid}, not {chain}").format(valid=", ".join(CHAINS), chain=repr(chain)))
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA raw")
    sources = {name: [str(p) for p in store.part_paths(name)] for name in SCHEMAS}
    analysis = ANALYSIS_TABLES | ETH_ANALYSIS_TABLES
    for name in analysis:
        f = store.path / "analysis" / f"{name}.parquet"
        sources[name] = [str(f)] if f.exists() else []
    for name, schema in (SCHEMAS | analysis).items():
        parts = sources[name]
        if parts:
            # Views cannot take parameters, so the paths are quoted as SQL string literals.
            listing = ", ".join("'" + p.replace("'", "''") + "'" for p in parts)
            missing = _missing_columns(parts[0], schema) if name in analysis else ""
            con.execute(f"CREATE VIEW raw.{name} AS SELECT *{missing} FROM read_parquet([{listing}])")
        else:
            empty = ", ".join(f"NULL::{_duck_type(f.type)} AS {f.name}" for f in schema)
            con.execute(f"CREATE VIEW raw.{name} AS SELECT {empty} WHERE false")
    views = SQL_VIEWS | ETH_SQL_VIEWS
    if chain == "eth":
        views = {k: v for k, v in views.items() if k not in SQL_VIEWS or f"eth_{k}" not in ETH_SQL_VIEWS}
        views |= {k[4:]: v for k, v in ETH_SQL_VIEWS.items()}
    for name, sql in views.items():
        con.execute(f"CREATE VIEW main.{name} AS {sql}")
    return con


def _missing_columns(path: str, schema) -> str:
    """Null columns for what an analysis file written by an older version lacks (so views still bind)."""
    import pyarrow.parquet as pq

    have = set(pq.read_schema(path).names)
    return "".join(f", NULL::{_duck_type(f.type)} AS {f.name}" for f in schema if f.name not in have)


def _duck_type(t) -> str:
    import pyarrow as pa
    if pa.types.is_list(t):
        return _duck_type(t.value_type) + "[]"
    if pa.types.is_date32(t):
        return "DATE"
    if pa.types.is_fixed_size_binary(t) or pa.types.is_binary(t):
        return "BLOB"
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[t.bit_width] if pa.types.is_signed_integer(t) \
            else {8: "UTINYINT", 16: "USMALLINT", 32: "UINTEGER", 64: "UBIGINT"}[t.bit_width]
    return "VARCHAR"


def check_read_only(sql: str) -> None:
    """Refuse anything but SELECT/EXPLAIN statements (no COPY, ATTACH, SET, CREATE...)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(_("SQL does not parse: {error}").format(error=str(exc).splitlines()[0])) from None
    if not statements:
        raise UsageError(_("no SQL statement given"))
    for st in statements:
        if st.type not in _ALLOWED:
            raise UsageError(_("only read-only queries are allowed; got a {kind} statement").format(kind=st.type.name))
        if st.type == duckdb.StatementType.EXPLAIN:
            # EXPLAIN ANALYZE runs what it explains, and the store's table folder is writable
            # to DuckDB (it must read the parts), so the explained statement is checked too.
            inner = _EXPLAIN_PREFIX.sub("", st.query, count=1)
            if inner == st.query:
                raise UsageError(_("only EXPLAIN [ANALYZE] of a SELECT is allowed"))
            check_read_only(inner)


def query(store: ChainStore, sql: str, params: list | dict | None = None, *, memory_limit: str = MEMORY_LIMIT,
          timeout_s: float | None = None, chain: str = "btc"):
    """Run one read-only query; returns a pyarrow Table.

    ``memory_limit`` is a DuckDB size ("512MB", "2GB"); ``timeout_s`` stops the
    query after that many seconds (None: no limit). Past either, a one-line
    ``UsageError`` says which limit was hit.
    """
    check_read_only(sql)
    if timeout_s is not None and not timeout_s > 0:
        raise UsageError(_("the SQL time limit must be a positive number of seconds, not {value}").format(value=timeout_s))
    with _spill_dir(store) as spill:
        con = connect(store, chain)
        timer = None
        try:
            try:
                con.execute("SET memory_limit = $m", {"m": str(memory_limit)})
            except duckdb.Error:
                raise UsageError(_("the SQL memory limit must be a size such as 512MB or 2GB, not {value}").format(
                    value=repr(memory_limit))) from None
            con.execute("SET temp_directory = $t", {"t": str(spill)})
            # Only the store's own table folders stay readable; nothing can be written anywhere.
            con.execute("SET allowed_directories = $dirs",
                        {"dirs": [str(store.path / "tables") + "/", str(store.path / "analysis") + "/"]})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            if timeout_s is not None:
                timer = threading.Timer(timeout_s, _interrupt, (con,))
                timer.daemon = True
                timer.start()
            return con.sql(sql, params=params or None).to_arrow_table()
        except duckdb.InterruptException:
            raise UsageError(_("SQL stopped after {seconds} s, its time limit (chaintrail sql --timeout); narrow the "
                               "query or raise the limit").format(seconds=f"{timeout_s:g}")) from None
        except duckdb.OutOfMemoryException:
            raise UsageError(_("SQL needs more than its memory limit of {limit} (chaintrail sql --memory-limit); "
                               "narrow the query or raise the limit").format(limit=memory_limit)) from None
        except duckdb.Error as exc:
            raise UsageError(_("SQL error: {error}").format(error=str(exc).splitlines()[0])) from None
        finally:
            if timer is not None:
                timer.cancel()
            con.close()


def _interrupt(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):        # the query may have just finished and closed it
        con.interrupt()


@contextlib.contextmanager
def _spill_dir(store: ChainStore):
    """A new private, empty directory for one query's spill files, removed afterwards."""
    scratch = store.path / SCRATCH
    in_store = True
    try:
        scratch.mkdir(exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="sql-", dir=scratch))
    except OSError:                         # a store on read-only media
        in_store = False
        path = Path(tempfile.mkdtemp(prefix="chaintrail-sql-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if in_store:
            with contextlib.suppress(OSError):
                scratch.rmdir()             # only when no other query is using it

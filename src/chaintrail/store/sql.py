"""Read-only DuckDB over the chain store: raw tables in schema ``raw``, contract views in ``main``."""

from __future__ import annotations

import re

import duckdb

from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.schema import ANALYSIS_TABLES, SQL_VIEWS, TABLES

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s+(\([^)]*\)\s*)?(analy[sz]e\b\s*)?", re.IGNORECASE)


def connect(store: ChainStore) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose views read the store's Parquet parts."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA raw")
    sources = {name: [str(p) for p in store.part_paths(name)] for name in TABLES}
    for name in ANALYSIS_TABLES:
        f = store.path / "analysis" / f"{name}.parquet"
        sources[name] = [str(f)] if f.exists() else []
    for name, schema in (TABLES | ANALYSIS_TABLES).items():
        parts = sources[name]
        if parts:
            # Views cannot take parameters, so the paths are quoted as SQL string literals.
            listing = ", ".join("'" + p.replace("'", "''") + "'" for p in parts)
            missing = _missing_columns(parts[0], schema) if name in ANALYSIS_TABLES else ""
            con.execute(f"CREATE VIEW raw.{name} AS SELECT *{missing} FROM read_parquet([{listing}])")
        else:
            empty = ", ".join(f"NULL::{_duck_type(f.type)} AS {f.name}" for f in schema)
            con.execute(f"CREATE VIEW raw.{name} AS SELECT {empty} WHERE false")
    for name, sql in SQL_VIEWS.items():
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
        raise UsageError(f"SQL does not parse: {str(exc).splitlines()[0]}") from None
    if not statements:
        raise UsageError("no SQL statement given")
    for st in statements:
        if st.type not in _ALLOWED:
            raise UsageError(f"only read-only queries are allowed; got a {st.type.name} statement")
        if st.type == duckdb.StatementType.EXPLAIN:
            # EXPLAIN ANALYZE runs what it explains, and the store's table folder is writable
            # to DuckDB (it must read the parts), so the explained statement is checked too.
            inner = _EXPLAIN_PREFIX.sub("", st.query, count=1)
            if inner == st.query:
                raise UsageError("only EXPLAIN [ANALYZE] of a SELECT is allowed")
            check_read_only(inner)


def query(store: ChainStore, sql: str, params: list | dict | None = None):
    """Run one read-only query; returns a pyarrow Table."""
    check_read_only(sql)
    con = connect(store)
    # Only the store's own table folder stays readable; nothing can be written anywhere.
    con.execute("SET allowed_directories = $dirs",
                {"dirs": [str(store.path / "tables") + "/", str(store.path / "analysis") + "/"]})
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    try:
        return con.sql(sql, params=params or None).to_arrow_table()
    except duckdb.Error as exc:
        raise UsageError(f"SQL error: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()

"""Table schemas of the chain store: the only place column names are spelled.

Raw tables (Parquet, dense ids, hashes as 32 raw bytes in display order) live
under ``tables/<name>/part-NNNNNN.parquet``. The SQL contract of DESIGN.md is a
set of views over them (``SQL_VIEWS``), which turn ids into hex and addresses.
"""

from __future__ import annotations

import pyarrow as pa

from chaintrail.chains.bitcoin.script_types import SCRIPT_TYPE_NAMES

HASH = pa.binary(32)

# How an input's value became known.
VALUE_UNKNOWN, VALUE_FROM_STORE, VALUE_FROM_UNDO = 0, 1, 2
# How an input's address became known (spend: read off its own scriptSig/witness).
ADDR_UNKNOWN, ADDR_FROM_STORE, ADDR_FROM_UNDO, ADDR_FROM_SPEND = 0, 1, 2, 3

TABLES: dict[str, pa.Schema] = {
    "blocks": pa.schema([
        ("block_seq", pa.int32()),          # dense, ingest order
        ("height", pa.int32()),             # null when unknowable (pre-BIP34, no parent)
        ("hash", HASH),
        ("prev_hash", HASH),
        ("merkle_root", HASH),
        ("version", pa.int64()),
        ("time", pa.int64()),
        ("bits", pa.int64()),
        ("nonce", pa.int64()),
        ("tx_count", pa.int32()),
        ("size", pa.int32()),
        ("weight", pa.int32()),
        ("first_tx_num", pa.int64()),
        ("source", pa.string()),            # file it was read from, or rpc:<host>
        ("source_offset", pa.int64()),
    ]),
    "txs": pa.schema([
        ("tx_num", pa.int64()),
        ("txid", HASH),
        ("block_seq", pa.int32()),
        ("tx_index", pa.int32()),
        ("is_coinbase", pa.bool_()),
        ("version", pa.int64()),
        ("locktime", pa.int64()),
        ("size", pa.int32()),
        ("vsize", pa.int32()),
        ("weight", pa.int32()),
        ("n_in", pa.int32()),
        ("n_out", pa.int32()),
        ("fee_sat", pa.int64()),            # null for coinbase or when an input value is unknown
    ]),
    "inputs": pa.schema([
        ("in_num", pa.int64()),
        ("tx_num", pa.int64()),
        ("vin", pa.int32()),
        ("prev_txid", HASH),
        ("prev_vout", pa.int64()),
        ("prev_out_num", pa.int64()),       # null when the spent output is not in the store
        ("value_sat", pa.int64()),          # null when unknown
        ("addr_num", pa.int64()),
        ("value_source", pa.int8()),        # VALUE_* above
        ("addr_source", pa.int8()),         # ADDR_* above
        ("sequence", pa.int64()),
    ]),
    "outputs": pa.schema([
        ("out_num", pa.int64()),
        ("tx_num", pa.int64()),
        ("vout", pa.int32()),
        ("value_sat", pa.int64()),
        ("script_type", pa.uint8()),        # chains.bitcoin.script_types.ScriptType
        ("addr_num", pa.int64()),           # null for OP_RETURN and non-standard
        ("script", pa.binary()),
    ]),
    "addresses": pa.schema([
        ("addr_num", pa.int64()),
        ("address", pa.string()),
        ("script_type", pa.uint8()),        # type of the first output seen paying it
    ]),
    "stale_blocks": pa.schema([
        ("hash", HASH),
        ("prev_hash", HASH),
        ("height", pa.int32()),
        ("source", pa.string()),
        ("source_offset", pa.int64()),
    ]),
    "bad_blocks": pa.schema([
        ("hash", HASH),                     # null if the header itself was unreadable
        ("source", pa.string()),
        ("source_offset", pa.int64()),
        ("error", pa.string()),
    ]),
}

# Results of analysis, one Parquet file each under ``analysis/<name>.parquet``, replaced whole.
ANALYSIS_TABLES: dict[str, pa.Schema] = {
    "clusters": pa.schema([("addr_num", pa.int64()), ("cluster_id", pa.int64())]),
}

_TYPE_LIST = "[" + ", ".join(f"'{n}'" for n in SCRIPT_TYPE_NAMES) + "]"


def _hex(col: str) -> str:
    return f"lower(hex({col}))"


# The public SQL contract (DESIGN.md). {T} is replaced by each raw table's scan.
SQL_VIEWS: dict[str, str] = {
    "blocks": f"""
        SELECT height, {_hex('hash')} AS hash, {_hex('prev_hash')} AS prev_hash, time, tx_count
        FROM raw.blocks""",
    "txs": f"""
        SELECT {_hex('t.txid')} AS txid, {_hex('b.hash')} AS block_hash, b.height AS block_height,
               t.tx_index, t.is_coinbase, t.version, t.locktime, t.size, t.vsize, t.fee_sat
        FROM raw.txs t JOIN raw.blocks b USING (block_seq)""",
    "outputs": f"""
        SELECT {_hex('t.txid')} AS txid, o.vout, o.value_sat,
               {_TYPE_LIST}[o.script_type + 1] AS script_type, a.address,
               {_hex('st.txid')} AS spent_by_txid, i.vin AS spent_by_vin
        FROM raw.outputs o
        JOIN raw.txs t ON t.tx_num = o.tx_num
        LEFT JOIN raw.addresses a ON a.addr_num = o.addr_num
        LEFT JOIN raw.inputs i ON i.prev_out_num = o.out_num
        LEFT JOIN raw.txs st ON st.tx_num = i.tx_num""",
    "inputs": f"""
        SELECT {_hex('t.txid')} AS txid, i.vin, {_hex('i.prev_txid')} AS prev_txid, i.prev_vout,
               i.value_sat, a.address, i.sequence
        FROM raw.inputs i
        JOIN raw.txs t ON t.tx_num = i.tx_num
        LEFT JOIN raw.addresses a ON a.addr_num = i.addr_num""",
    "addresses": f"""
        WITH recv AS (
            SELECT o.addr_num, min(b.height) AS first_height, sum(o.value_sat)::BIGINT AS received_sat,
                   list(DISTINCT o.tx_num) AS txs
            FROM raw.outputs o JOIN raw.txs t USING (tx_num) JOIN raw.blocks b USING (block_seq)
            WHERE o.addr_num IS NOT NULL GROUP BY o.addr_num),
        sent AS (
            SELECT addr_num, sum(value_sat)::BIGINT AS sent_sat, list(DISTINCT tx_num) AS txs
            FROM raw.inputs WHERE addr_num IS NOT NULL GROUP BY addr_num)
        SELECT a.address, {_TYPE_LIST}[a.script_type + 1] AS script_type, r.first_height,
               len(list_distinct(list_concat(coalesce(r.txs, []), coalesce(s.txs, [])))) AS tx_count,
               coalesce(r.received_sat, 0) AS received_sat, coalesce(s.sent_sat, 0) AS sent_sat
        FROM raw.addresses a LEFT JOIN recv r USING (addr_num) LEFT JOIN sent s USING (addr_num)""",
    "clusters": """
        SELECT a.address, c.cluster_id AS cluster, count(*) OVER (PARTITION BY c.cluster_id) AS cluster_size
        FROM raw.clusters c JOIN raw.addresses a USING (addr_num)""",
}

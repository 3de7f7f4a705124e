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
    # Attribution tags (GraphSense TagPack fields + provenance); addresses need not be in the store.
    "tags": pa.schema([
        ("address", pa.string()),           # normalised: bech32 and 0x hex lower-cased
        ("currency", pa.string()),
        ("network", pa.string()),
        ("label", pa.string()),
        ("source", pa.string()),
        ("category", pa.string()),          # GraphSense concept ids
        ("abuse", pa.string()),
        ("concepts", pa.list_(pa.string())),
        ("actor", pa.string()),
        ("confidence", pa.string()),        # GraphSense confidence id
        ("confidence_level", pa.int16()),   # 0-100, null if the id is unknown
        ("is_cluster_definer", pa.bool_()),
        ("lastmod", pa.date32()),
        ("context", pa.string()),
        ("tx_hash", pa.string()),
        ("tag_type", pa.string()),
        ("risk_categories", pa.list_(pa.string())),  # screening categories (tags.taxonomy), most severe first
        ("tagpack", pa.string()),           # pack title
        ("creator", pa.string()),
        ("origin_file", pa.string()),       # provenance: file and line, or user, or case
        ("origin_line", pa.int32()),
        ("origin_user", pa.string()),
        ("origin_case", pa.string()),
    ]),
    "tag_actors": pa.schema([
        ("actor_id", pa.string()),
        ("label", pa.string()),
        ("uri", pa.string()),
        ("categories", pa.list_(pa.string())),
        ("jurisdictions", pa.list_(pa.string())),  # ISO 3166 country codes
        ("aliases", pa.list_(pa.string())),
        ("context", pa.string()),           # JSON
        ("lastmod", pa.date32()),
        ("origin_file", pa.string()),
        ("origin_line", pa.int32()),
    ]),
    # One row per tx, written by ``chaintrail cluster`` (analysis.tx_labels); older files lack later columns.
    "tx_labels": pa.schema([
        ("tx_num", pa.int64()),
        ("label", pa.string()),             # analysis.mixers.LABELS; 'none' when no pattern fits
        ("is_mixing", pa.bool_()),          # a CoinJoin: inputs of several owners
        ("mixer_related", pa.bool_()),      # chip split/merge, Whirlpool Tx0
        ("values_known", pa.bool_()),       # every input's value was known when it was labelled
        ("protocol", pa.string()),          # whirlpool, wasabi1, wasabi2, joinmarket, chipmixer; null if unknown
        ("confidence", pa.int16()),         # 0-100; lower when input values were unknown
        ("evidence", pa.string()),          # the rule the label rests on, in words
        ("peel_chain", pa.int64()),
        ("peel_pos", pa.int32()),
    ]),
    # Daily prices (store.prices, ingest.prices): one row per asset, quote currency and UTC day; never interpolated.
    "prices": pa.schema([
        ("asset", pa.string()),             # BTC, ETH, USDT, EUR (a currency is an asset quoted in another)
        ("currency", pa.string()),          # the quote: USD
        ("day", pa.date32()),               # UTC day the close belongs to
        ("close", pa.float64()),            # units of ``currency`` per unit of ``asset`` at the day's close
        ("source_sha256", pa.string()),     # the imported file (price_sources)
    ]),
    "price_sources": pa.schema([
        ("sha256", pa.string()),
        ("asset", pa.string()),
        ("currency", pa.string()),
        ("file", pa.string()),              # file name as imported (no folders: the same file names the same words)
        ("source", pa.string()),            # who published the series
        ("licence", pa.string()),
        ("rows", pa.int64()),
        ("first_day", pa.date32()),
        ("last_day", pa.date32()),
        ("missing_days", pa.int64()),       # calendar days inside the range without a row
        ("imported_at", pa.int64()),        # unix seconds
    ]),
    "tag_sources": pa.schema([
        ("origin_file", pa.string()),       # absolute path, or manual:<user>
        ("kind", pa.string()),              # tagpack | actorpack | ofac | csv | manual
        ("sha256", pa.string()),
        ("tags", pa.int64()),
        ("imported_at", pa.int64()),        # unix seconds
    ]),
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
    "tx_labels": f"""
        SELECT {_hex('t.txid')} AS txid, b.height AS block_height, l.label, l.protocol, l.confidence, l.evidence,
               l.values_known AS input_values_known, l.is_mixing, l.mixer_related, l.peel_chain, l.peel_pos
        FROM raw.tx_labels l JOIN raw.txs t USING (tx_num) JOIN raw.blocks b USING (block_seq)
        WHERE l.label <> 'none' OR l.peel_chain IS NOT NULL""",
    "prices": """
        SELECT p.asset, p.currency, p.day, p.close, s.source, s.licence, s.file, p.source_sha256
        FROM raw.prices p LEFT JOIN raw.price_sources s ON s.sha256 = p.source_sha256""",
    "tags": """
        SELECT t.address, t.label, t.category, t.abuse, t.concepts, t.risk_categories, t.actor,
               ac.label AS actor_label, ac.jurisdictions, t.confidence, t.confidence_level, t.is_cluster_definer,
               t.currency, t.network, t.source, t.lastmod, t.tagpack, t.origin_file, t.origin_line,
               t.origin_user, t.origin_case, c.cluster_id AS cluster
        FROM raw.tags t
        LEFT JOIN raw.tag_actors ac ON ac.actor_id = t.actor
        LEFT JOIN raw.addresses a ON a.address = t.address
        LEFT JOIN raw.clusters c ON c.addr_num = a.addr_num""",
}

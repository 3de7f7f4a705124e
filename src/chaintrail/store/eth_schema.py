"""Ethereum table schemas of the chain store: column names after ethereum-etl's where they exist.

Raw tables live beside Bitcoin's under ``tables/eth_<name>/`` and share the manifest and commit protocol.
Hashes are raw bytes (32), addresses raw bytes (20), both turned into 0x-hex by the ``eth_*`` SQL views.
Amounts are exact decimal strings of base units (uint256 does not fit any Parquet integer); the views keep
them as strings, and ``value::BIGNUM`` in SQL sums them exactly. Every address also gets a dense id
(``addr_num``) in ``eth_addresses``, which the fixed-width value-flow index uses.
"""

from __future__ import annotations

import pyarrow as pa

HASH = pa.binary(32)
ADDR = pa.binary(20)
AMOUNT = pa.string()

# value_flows.kind: what moved the value. Ids are part of the index format: append, never renumber.
FLOW_KINDS = ("tx_value", "internal", "create", "selfdestruct", "fee_tip", "fee_burnt", "blob_fee_burnt",
              "erc20", "erc721", "erc1155", "wrap", "unwrap", "block_reward", "withdrawal")
FLOW_KIND = {name: i for i, name in enumerate(FLOW_KINDS)}
# Index bit set on kind when the amount is >= 2**128 (the index keeps 128 bits; Parquet has it exactly).
AMOUNT_OVERFLOW = 0x80

# The columns a Tornado-style pool's deposit and withdrawal events share.
_POOL_EVENT = [
    ("pool", ADDR),
    ("asset", ADDR),                     # null: ETH
    ("denomination", AMOUNT),
    ("log_num", pa.int64()),             # the event: its id here
    ("tx_num", pa.int64()),
    ("log_index", pa.int32()),
    ("block_number", pa.int64()),
    ("timestamp", pa.int64()),
    ("sender", ADDR),                    # the tx's sender: the depositor; a withdrawal's relayer (or recipient)
    ("gas_price", AMOUNT),               # effective
    ("gas_fingerprint", pa.string()),    # gas_price=N (legacy) or max_fee=N,tip=M (EIP-1559), as chosen
]

ETH_TABLES: dict[str, pa.Schema] = {
    "eth_blocks": pa.schema([
        ("block_seq", pa.int32()),           # dense, chain order
        ("number", pa.int64()),
        ("hash", HASH),
        ("parent_hash", HASH),
        ("nonce", pa.binary()),
        ("sha3_uncles", HASH),
        ("logs_bloom", pa.binary()),
        ("transactions_root", HASH),
        ("state_root", HASH),
        ("receipts_root", HASH),
        ("miner", ADDR),
        ("difficulty", AMOUNT),
        ("total_difficulty", AMOUNT),
        ("size", pa.int64()),
        ("extra_data", pa.binary()),
        ("gas_limit", pa.int64()),
        ("gas_used", pa.int64()),
        ("timestamp", pa.int64()),
        ("transaction_count", pa.int32()),
        ("base_fee_per_gas", AMOUNT),
        ("withdrawals_root", HASH),
        ("withdrawals", pa.list_(pa.struct([("index", pa.int64()), ("validator_index", pa.int64()),
                                            ("address", ADDR), ("amount", AMOUNT)]))),  # amount in gwei
        ("blob_gas_used", pa.int64()),
        ("excess_blob_gas", pa.int64()),
        ("parent_beacon_block_root", HASH),
        # Where each table's rows of this block start: what a rollback cuts back to.
        ("first_tx_num", pa.int64()),
        ("first_log_num", pa.int64()),
        ("first_trace_num", pa.int64()),
        ("first_transfer_num", pa.int64()),
        ("first_flow_num", pa.int64()),
        ("first_addr_num", pa.int64()),
        ("first_contract_num", pa.int64()),
        ("first_token_num", pa.int64()),
        ("source", pa.string()),             # rpc:<host>:<port>
    ]),
    "eth_transactions": pa.schema([
        ("tx_num", pa.int64()),
        ("hash", HASH),
        ("block_seq", pa.int32()),
        ("block_number", pa.int64()),
        ("transaction_index", pa.int32()),
        ("nonce", pa.int64()),
        ("from_address", ADDR),
        ("to_address", ADDR),                # null for a contract creation
        ("value", AMOUNT),
        ("gas", pa.int64()),
        ("gas_price", AMOUNT),
        ("input", pa.binary()),
        ("transaction_type", pa.int32()),
        ("max_fee_per_gas", AMOUNT),
        ("max_priority_fee_per_gas", AMOUNT),
        ("max_fee_per_blob_gas", AMOUNT),
        ("blob_versioned_hashes", pa.list_(HASH)),
        ("chain_id", pa.int64()),
        ("v", pa.string()), ("r", pa.string()), ("s", pa.string()),
        # receipt fields
        ("receipt_status", pa.int8()),       # 1 ok, 0 reverted, null before Byzantium
        ("receipt_gas_used", pa.int64()),
        ("receipt_cumulative_gas_used", pa.int64()),
        ("receipt_effective_gas_price", AMOUNT),
        ("receipt_contract_address", ADDR),
        ("receipt_root", HASH),
        ("receipt_blob_gas_used", pa.int64()),
        ("receipt_blob_gas_price", AMOUNT),
        ("receipt_logs_count", pa.int32()),
    ]),
    "eth_logs": pa.schema([
        ("log_num", pa.int64()),
        ("tx_num", pa.int64()),
        ("block_number", pa.int64()),
        ("transaction_index", pa.int32()),
        ("log_index", pa.int32()),
        ("address", ADDR),
        ("topic0", HASH), ("topic1", HASH), ("topic2", HASH), ("topic3", HASH),
        ("n_topics", pa.int8()),
        ("data", pa.binary()),
    ]),
    "eth_traces": pa.schema([
        ("trace_num", pa.int64()),
        ("tx_num", pa.int64()),              # null for block rewards
        ("block_number", pa.int64()),
        ("transaction_index", pa.int32()),
        ("trace_index", pa.int32()),         # order within the block
        ("trace_address", pa.list_(pa.int32())),
        ("subtraces", pa.int32()),
        ("trace_type", pa.string()),         # call | create | suicide | reward
        ("call_type", pa.string()),          # call | delegatecall | staticcall | callcode
        ("reward_type", pa.string()),
        ("from_address", ADDR),
        ("to_address", ADDR),
        ("value", AMOUNT),
        ("input", pa.binary()),
        ("output", pa.binary()),
        ("gas", pa.int64()),
        ("gas_used", pa.int64()),
        ("error", pa.string()),
        ("status", pa.int8()),               # 0 when this call or any caller above it failed
        ("trace_id", pa.string()),
    ]),
    "eth_token_transfers": pa.schema([
        ("transfer_num", pa.int64()),
        ("tx_num", pa.int64()),
        ("block_number", pa.int64()),
        ("transaction_index", pa.int32()),
        ("log_index", pa.int32()),
        ("batch_index", pa.int32()),
        ("standard", pa.string()),           # erc20 | erc721 | erc1155 | wrap | unwrap
        ("token_address", ADDR),
        ("from_address", ADDR),
        ("to_address", ADDR),
        ("value", AMOUNT),                   # 1 for ERC-721
        ("token_id", AMOUNT),                # ERC-721 / ERC-1155 id
    ]),
    "eth_value_flows": pa.schema([
        ("flow_num", pa.int64()),
        ("block_number", pa.int64()),
        ("tx_num", pa.int64()),              # null for block rewards and withdrawals
        ("flow_index", pa.int32()),          # order within the block
        ("kind", pa.string()),               # FLOW_KINDS
        ("from_address", ADDR),              # null: minted (rewards, withdrawals)
        ("to_address", ADDR),                # null: burnt
        ("asset", ADDR),                     # null: ETH; else the token contract
        ("amount", AMOUNT),
        ("token_id", AMOUNT),
        ("trace_num", pa.int64()),           # the trace or transfer that gives it, when one does
        ("transfer_num", pa.int64()),
    ]),
    "eth_addresses": pa.schema([
        ("addr_num", pa.int64()),
        ("address", ADDR),
        ("first_block", pa.int64()),
    ]),
    "eth_contracts": pa.schema([
        ("contract_num", pa.int64()),
        ("address", ADDR),
        ("block_number", pa.int64()),
        ("tx_num", pa.int64()),
        ("creator", ADDR),                   # the account or contract whose call created it
        ("by_internal_call", pa.bool_()),
        ("bytecode", pa.binary()),
        ("bytecode_hash", HASH),             # keccak256, as EXTCODEHASH
        ("function_sighashes", pa.list_(pa.uint32())),
        ("is_erc20", pa.bool_()),
        ("is_erc721", pa.bool_()),
        ("is_erc1155", pa.bool_()),
        ("proxy_implementation", ADDR),      # EIP-1967 implementation slot at creation, when set
    ]),
    "eth_tokens": pa.schema([
        ("token_num", pa.int64()),
        ("address", ADDR),
        ("block_number", pa.int64()),        # read as of this block
        ("name", pa.string()),
        ("symbol", pa.string()),
        ("decimals", pa.int16()),
        ("total_supply", AMOUNT),
    ]),
}

# Ethereum analysis results, written whole under ``<store>/analysis/<name>.parquet``.
ETH_ANALYSIS_TABLES: dict[str, pa.Schema] = {
    # Swaps netted per transaction (analysis/eth/conversions.py) and WETH wraps/unwraps: asset null = ETH.
    "eth_conversions": pa.schema([
        ("tx_num", pa.int64()),
        ("block_number", pa.int64()),
        ("conv_index", pa.int32()),          # order within the tx
        ("kind", pa.string()),               # swap | wrap | unwrap
        ("trader", ADDR),                    # whose assets went in
        ("recipient", ADDR),                 # who got the output (the trader, or whom the router paid)
        ("asset_in", ADDR),
        ("amount_in", AMOUNT),
        ("asset_out", ADDR),
        ("amount_out", AMOUNT),
        ("venue", ADDR),                     # pair/pool of a one-hop swap, else the tx's router; WETH contract
        ("n_hops", pa.int32()),
        ("rate", pa.float64()),              # amount_out / amount_in in base units, display only
        ("evidence", pa.string()),
    ]),
    # Exchange deposit addresses recognised by their forwarding pattern (analysis/eth/deposits.py).
    "eth_deposit_addresses": pa.schema([
        ("address", ADDR),
        ("hot_wallet", ADDR),                # where it forwards or sweeps to
        ("kind", pa.string()),               # forwarder | eoa_sweep
        ("first_block", pa.int64()),
        ("n_customers", pa.int32()),         # distinct senders into it (the hot wallet's gas top-ups aside)
        ("evidence", pa.string()),
    ]),
    # Tornado-style pools (analysis/eth/tornado.py): deposits, withdrawals, and linking leads (tornado_links.py).
    "eth_tornado_deposits": pa.schema(_POOL_EVENT + [
        ("commitment", HASH),
        ("leaf_index", pa.int64()),
        ("anonymity_set", pa.int64()),       # notes open in the pool just after it
        ("candidates", pa.int64()),          # the pool's withdrawals after it
    ]),
    "eth_tornado_withdrawals": pa.schema(_POOL_EVENT + [
        ("recipient", ADDR),
        ("relayer", ADDR),
        ("fee", AMOUNT),
        ("nullifier_hash", HASH),
        ("anonymity_set", pa.int64()),       # notes open in the pool just before it
    ]),
    "eth_tornado_leads": pa.schema([
        ("deposit_log_num", pa.int64()),
        ("deposit_tx_num", pa.int64()),
        ("withdrawal_log_num", pa.int64()),
        ("withdrawal_tx_num", pa.int64()),
        ("pool", ADDR),
        ("depositor", ADDR),
        ("recipient", ADDR),
        ("heuristic", pa.string()),
        ("score", pa.float64()),             # 1 / the heuristic's leads for this deposit (fifo: 1 / anonymity set)
        ("evidence", pa.string()),
        ("precision", pa.float64()),         # measured (analysis/eth_tornado_rates.json); null: not measured
        ("chance_match_rate", pa.float64()),  # placebo: share of non-linked same-pool pairs passing the test
        ("expected_chance_matches", pa.float64()),  # that rate x the deposit's candidate withdrawals
    ]),
}

# Rows of each table are numbered densely in chain order by this column.
ETH_ROW_ID = {"eth_blocks": "block_seq", "eth_transactions": "tx_num", "eth_logs": "log_num",
              "eth_traces": "trace_num", "eth_token_transfers": "transfer_num", "eth_value_flows": "flow_num",
              "eth_addresses": "addr_num", "eth_contracts": "contract_num", "eth_tokens": "token_num"}
# eth_blocks column holding where each table's rows of a block start.
ETH_FIRST_COLUMN = {"eth_transactions": "first_tx_num", "eth_logs": "first_log_num",
                    "eth_traces": "first_trace_num", "eth_token_transfers": "first_transfer_num",
                    "eth_value_flows": "first_flow_num", "eth_addresses": "first_addr_num",
                    "eth_contracts": "first_contract_num", "eth_tokens": "first_token_num"}


def _h(col: str) -> str:
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE '0x' || lower(hex({col})) END"


# The public SQL views over the raw tables: hex at the edges, amounts as exact decimal strings.
ETH_SQL_VIEWS: dict[str, str] = {
    "eth_blocks": f"""
        SELECT number, {_h('hash')} AS hash, {_h('parent_hash')} AS parent_hash, {_h('miner')} AS miner,
               timestamp, transaction_count, gas_limit, gas_used, base_fee_per_gas, difficulty, size,
               {_h('state_root')} AS state_root, blob_gas_used, excess_blob_gas, len(withdrawals) AS withdrawal_count
        FROM raw.eth_blocks""",
    "eth_transactions": f"""
        SELECT {_h('hash')} AS hash, block_number, transaction_index, nonce, {_h('from_address')} AS from_address,
               {_h('to_address')} AS to_address, value, gas, gas_price, {_h('input')} AS input, transaction_type,
               max_fee_per_gas, max_priority_fee_per_gas, receipt_status, receipt_gas_used,
               receipt_effective_gas_price, {_h('receipt_contract_address')} AS receipt_contract_address,
               receipt_logs_count
        FROM raw.eth_transactions""",
    "eth_logs": f"""
        SELECT {_h('t.hash')} AS transaction_hash, l.block_number, l.transaction_index, l.log_index,
               {_h('l.address')} AS address,
               list_filter([{_h('l.topic0')}, {_h('l.topic1')}, {_h('l.topic2')}, {_h('l.topic3')}],
                           lambda x: x IS NOT NULL) AS topics,
               {_h('l.data')} AS data
        FROM raw.eth_logs l JOIN raw.eth_transactions t USING (tx_num)""",
    "eth_traces": f"""
        SELECT {_h('t.hash')} AS transaction_hash, r.block_number, r.transaction_index, r.trace_index,
               r.trace_address, r.subtraces, r.trace_type, r.call_type, r.reward_type,
               {_h('r.from_address')} AS from_address, {_h('r.to_address')} AS to_address, r.value,
               r.gas, r.gas_used, r.error, r.status, r.trace_id
        FROM raw.eth_traces r LEFT JOIN raw.eth_transactions t USING (tx_num)""",
    "eth_token_transfers": f"""
        SELECT {_h('t.hash')} AS transaction_hash, x.block_number, x.log_index, x.batch_index, x.standard,
               {_h('x.token_address')} AS token_address, {_h('x.from_address')} AS from_address,
               {_h('x.to_address')} AS to_address, x.value, x.token_id
        FROM raw.eth_token_transfers x JOIN raw.eth_transactions t USING (tx_num)""",
    "eth_value_flows": f"""
        SELECT f.block_number, {_h('t.hash')} AS transaction_hash, f.flow_index, f.kind,
               {_h('f.from_address')} AS from_address, {_h('f.to_address')} AS to_address,
               coalesce({_h('f.asset')}, 'ETH') AS asset, f.amount, f.token_id
        FROM raw.eth_value_flows f LEFT JOIN raw.eth_transactions t USING (tx_num)""",
    "eth_addresses": f"""
        WITH seen AS (
            SELECT a, max(block_number) AS last_block FROM (
                SELECT from_address AS a, block_number FROM raw.eth_value_flows
                UNION ALL SELECT to_address, block_number FROM raw.eth_value_flows
                UNION ALL SELECT from_address, block_number FROM raw.eth_transactions
                UNION ALL SELECT to_address, block_number FROM raw.eth_transactions)
            WHERE a IS NOT NULL GROUP BY a)
        SELECT {_h('x.address')} AS address, x.addr_num, x.first_block, s.last_block,
               c.address IS NOT NULL AS is_contract
        FROM raw.eth_addresses x LEFT JOIN seen s ON s.a = x.address
        LEFT JOIN raw.eth_contracts c ON c.address = x.address""",
    # Net change of each address's holding of each asset over the blocks in the store (its balance, when the
    # store starts at genesis). Token ids of ERC-721/1155 are summed per contract.
    "eth_balance_changes": f"""
        WITH f AS (
            SELECT from_address AS a, asset, -(amount::BIGNUM) AS v, block_number FROM raw.eth_value_flows
            WHERE from_address IS NOT NULL
            UNION ALL SELECT to_address, asset, amount::BIGNUM, block_number FROM raw.eth_value_flows
            WHERE to_address IS NOT NULL)
        SELECT {_h('a')} AS address, coalesce({_h('asset')}, 'ETH') AS asset, sum(v)::VARCHAR AS net_change,
               count(*) AS flows, min(block_number) AS first_block, max(block_number) AS last_block
        FROM f GROUP BY a, asset""",
    "eth_contracts": f"""
        SELECT {_h('address')} AS address, block_number, {_h('creator')} AS creator, by_internal_call,
               {_h('bytecode_hash')} AS bytecode_hash, octet_length(bytecode) AS code_size,
               list_transform(function_sighashes, lambda x: '0x' || lower(printf('%08x', x))) AS function_sighashes,
               is_erc20, is_erc721, is_erc1155, {_h('proxy_implementation')} AS proxy_implementation
        FROM raw.eth_contracts""",
    "eth_tokens": f"""
        SELECT {_h('address')} AS address, name, symbol, decimals, total_supply, block_number
        FROM raw.eth_tokens""",
    "eth_conversions": f"""
        SELECT {_h('t.hash')} AS transaction_hash, c.block_number, c.conv_index, c.kind, {_h('c.trader')} AS trader,
               {_h('c.recipient')} AS recipient, coalesce({_h('c.asset_in')}, 'ETH') AS asset_in, c.amount_in,
               coalesce({_h('c.asset_out')}, 'ETH') AS asset_out, c.amount_out, {_h('c.venue')} AS venue,
               c.n_hops, c.rate, c.evidence
        FROM raw.eth_conversions c LEFT JOIN raw.eth_transactions t USING (tx_num)""",
    "eth_deposit_addresses": f"""
        SELECT {_h('address')} AS address, {_h('hot_wallet')} AS hot_wallet, kind, first_block, n_customers,
               evidence
        FROM raw.eth_deposit_addresses""",
    "eth_tornado_deposits": f"""
        SELECT {_h('d.pool')} AS pool, coalesce({_h('d.asset')}, 'ETH') AS asset, d.denomination,
               {_h('t.hash')} AS transaction_hash, d.log_index, d.block_number, d.timestamp,
               {_h('d.sender')} AS depositor, {_h('d.commitment')} AS commitment, d.leaf_index, d.gas_price,
               d.gas_fingerprint, d.anonymity_set, d.candidates
        FROM raw.eth_tornado_deposits d LEFT JOIN raw.eth_transactions t USING (tx_num)""",
    "eth_tornado_withdrawals": f"""
        SELECT {_h('w.pool')} AS pool, coalesce({_h('w.asset')}, 'ETH') AS asset, w.denomination,
               {_h('t.hash')} AS transaction_hash, w.log_index, w.block_number, w.timestamp,
               {_h('w.recipient')} AS recipient, {_h('w.relayer')} AS relayer, w.fee, {_h('w.sender')} AS sender,
               {_h('w.nullifier_hash')} AS nullifier_hash, w.gas_price, w.gas_fingerprint, w.anonymity_set
        FROM raw.eth_tornado_withdrawals w LEFT JOIN raw.eth_transactions t USING (tx_num)""",
    "eth_tornado_leads": f"""
        SELECT {_h('d.hash')} AS deposit_tx, {_h('w.hash')} AS withdrawal_tx, {_h('l.pool')} AS pool,
               {_h('l.depositor')} AS depositor, {_h('l.recipient')} AS recipient, l.heuristic, l.score,
               l.precision, l.chance_match_rate, l.expected_chance_matches, l.evidence
        FROM raw.eth_tornado_leads l LEFT JOIN raw.eth_transactions d ON d.tx_num = l.deposit_tx_num
        LEFT JOIN raw.eth_transactions w ON w.tx_num = l.withdrawal_tx_num""",
}

"""Exchange deposit addresses recognised by their forwarding pattern, with no tag needed.

Exchanges give each customer a deposit address and move what arrives there on to their hot wallet. Two
patterns show on chain (the scenario's exchanges play both, as BitGo-style and sweeping exchanges do):

- **forwarder**: a contract created by a factory (an internal CREATE) whose every outgoing value goes to one
  address H: ETH forwarded to H in the same transaction that brought it (or, for ETH sent to the CREATE2 address
  before the contract existed, by its constructor), tokens sent to H only in transactions H itself sent (a
  flush). A contract so confirmed makes its factory a forwarder factory; every other contract of that factory
  with the same runtime code (``bytecode_hash``), which has received something and never sent anything
  elsewhere, is a forwarder to the same H, even before its first forward or flush.
- **eoa_sweep**: an externally owned account whose every outgoing value goes to one address H, in transactions
  it sent itself (a drained victim's ``transferFrom`` is not a sweep), each leaving at most ``max_left`` of its
  balance of the swept asset, each within ``max_lag`` blocks of the last receipt before it; and H is swept into
  in this way by at least ``min_sweepers`` such accounts. H must be an EOA that itself pays ETH out (a hot wallet
  pays withdrawals and gas top-ups to many): addresses emptied into a contract (a bridge, a pool, a forwarder),
  into an address that never pays, or into one that pays a single address (itself a deposit address, swept
  on) are not an exchange's sweeps. An ETH sweep sends balance - gas x maxFeePerGas, so
  what it leaves is counted beyond that gas reserve. Top-ups from H (gas for a token sweep) are not customers.

``n_customers`` counts the distinct senders into the address other than H. Balances are summed as doubles: the
threshold is a ratio, so exactness is not needed there. Measured precision and recall: docs/eth-heuristics.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.eth_schema import ETH_ANALYSIS_TABLES
from chaintrail.store.sql import connect

SCHEMA = ETH_ANALYSIS_TABLES["eth_deposit_addresses"]
FEE_KINDS = ["fee_tip", "fee_burnt", "blob_fee_burnt"]
VERSION = "deposits-1"

# Per contract created by a contract: its outgoing flows, where they went, and how each was justified.
_FORWARDERS = """
WITH c AS (SELECT address, creator, bytecode_hash, tx_num AS created_tx, block_number AS created_block
           FROM raw.eth_contracts WHERE by_internal_call AND creator IS NOT NULL),
outs AS (SELECT f.from_address AS a, f.to_address AS h, f.tx_num, f.asset, f.amount, t.from_address AS sender,
                c.created_tx
         FROM raw.eth_value_flows f JOIN c ON f.from_address = c.address
         JOIN raw.eth_transactions t ON t.tx_num = f.tx_num
         WHERE NOT list_contains($fees, f.kind)),
eth_in AS (SELECT to_address AS a, tx_num, amount FROM raw.eth_value_flows
           WHERE asset IS NULL AND to_address IN (SELECT address FROM c) AND NOT list_contains($fees, kind)),
judged AS (
    SELECT o.a, o.h, o.asset IS NULL AS is_eth,
           CASE WHEN o.asset IS NULL THEN o.tx_num = o.created_tx
                    OR EXISTS (SELECT 1 FROM eth_in i WHERE i.a = o.a AND i.tx_num = o.tx_num AND i.amount = o.amount)
                ELSE o.sender = o.h END AS justified
    FROM outs o),
per AS (SELECT a, count(DISTINCT h) AS n_dest, any_value(h) AS h, bool_and(justified) AS ok,
               count(*) FILTER (WHERE is_eth) AS n_eth, count(*) FILTER (WHERE NOT is_eth) AS n_flush
        FROM judged GROUP BY a),
ins AS (SELECT to_address AS a, list(DISTINCT from_address) AS senders, min(block_number) AS first_in
        FROM raw.eth_value_flows WHERE to_address IN (SELECT address FROM c) AND from_address IS NOT NULL
        AND NOT list_contains($fees, kind) GROUP BY to_address)
SELECT c.address, c.creator, c.bytecode_hash, c.created_block, p.n_dest, p.h, p.ok, p.n_eth, p.n_flush,
       i.senders, i.first_in
FROM c LEFT JOIN per p ON p.a = c.address LEFT JOIN ins i ON i.a = c.address
"""

# Per EOA whose non-gas outgoing value all went to one address: each outgoing tx's balance before and after of
# the assets it swept, and the lag since the last receipt before it.
_SWEEPS = """
WITH outs AS (SELECT f.from_address AS a, count(DISTINCT f.to_address) AS n_dest, any_value(f.to_address) AS h,
                     bool_and(t.from_address = f.from_address) AS own
              FROM raw.eth_value_flows f JOIN raw.eth_transactions t USING (tx_num)
              WHERE f.from_address IS NOT NULL AND NOT list_contains($fees, f.kind) GROUP BY f.from_address),
cand AS (SELECT a, h FROM outs WHERE n_dest = 1 AND own AND h IS NOT NULL AND h <> a
         AND a NOT IN (SELECT address FROM raw.eth_contracts) AND h NOT IN (SELECT address FROM raw.eth_contracts)
         AND h IN (SELECT from_address FROM raw.eth_transactions WHERE value <> '0'
                   GROUP BY from_address HAVING count(DISTINCT to_address) >= 2)),
f AS (SELECT flow_num, tx_num, block_number, from_address AS a, asset, -(amount::DOUBLE) AS v, kind,
             to_address AS other
      FROM raw.eth_value_flows WHERE from_address IN (SELECT a FROM cand)
      UNION ALL
      SELECT flow_num, tx_num, block_number, to_address, asset, amount::DOUBLE, kind, from_address
      FROM raw.eth_value_flows WHERE to_address IN (SELECT a FROM cand)),
run AS (SELECT *, sum(v) OVER (PARTITION BY a, asset ORDER BY flow_num ROWS UNBOUNDED PRECEDING) AS bal,
               max(CASE WHEN v > 0 THEN block_number END) OVER (PARTITION BY a, asset ORDER BY flow_num
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_in
        FROM f),
per_tx AS (SELECT a, asset, tx_num, min(block_number) AS block,
                  arg_min(bal - v, flow_num) AS before, arg_max(bal, flow_num) AS after,
                  bool_or(v < 0 AND NOT list_contains($fees, kind)) AS swept, min(last_in) AS last_in
           FROM run GROUP BY a, asset, tx_num),
judged AS (SELECT p.*, CASE WHEN p.asset IS NULL
                            THEN greatest(p.after - t.gas * coalesce(t.max_fee_per_gas, t.gas_price)::DOUBLE, 0)
                            ELSE p.after END AS left_over
           FROM per_tx p JOIN raw.eth_transactions t USING (tx_num) WHERE p.swept),
sweeps AS (SELECT a, count(DISTINCT tx_num) AS n_sweeps,
                  bool_and(before > 0 AND left_over <= $max_left * before AND block - last_in <= $max_lag) AS ok,
                  max(block - last_in) AS max_lag, max(CASE WHEN before > 0 THEN left_over / before END) AS max_left
           FROM judged GROUP BY a),
ins AS (SELECT r.a, list(DISTINCT r.other) FILTER (WHERE r.other <> c.h) AS senders, min(r.block_number) AS first_in
        FROM run r JOIN cand c USING (a) WHERE r.v > 0 AND r.other IS NOT NULL GROUP BY r.a)
SELECT c.a AS address, c.h, s.n_sweeps, s.ok, s.max_lag, s.max_left, i.senders, i.first_in
FROM cand c JOIN sweeps s USING (a) JOIN ins i USING (a)
"""


def _forwarders(con) -> list[dict]:
    rows = con.execute(_FORWARDERS, {"fees": FEE_KINDS}).fetchall()
    families: dict[tuple, dict] = {}
    for addr, creator, code, _blk, n_dest, h, ok, n_eth, n_flush, senders, _first in rows:
        fam = families.setdefault((creator, code), {"hot": set(), "bad": 0, "confirmed": 0})
        if n_dest is None:
            continue
        if n_dest == 1 and ok:
            fam["hot"].add(h)
            fam["confirmed"] += 1
        else:
            fam["bad"] += 1
    out = []
    for addr, creator, code, blk, n_dest, h, ok, n_eth, n_flush, senders, first in rows:
        fam = families[(creator, code)]
        if fam["bad"] or not fam["confirmed"] or len(fam["hot"]) != 1:
            continue
        hot = next(iter(fam["hot"]))
        customers = sorted(s for s in (senders or []) if s != hot)
        if n_dest is None and not customers:
            continue                                # never used: nothing shows it is anyone's deposit address
        how = (f"forwarded {n_eth} ETH receipt(s) in the same tx and {n_flush} token flush(es) sent by the "
               f"parent, all to 0x{hot.hex()}") if n_dest else "has not forwarded yet"
        out.append({"address": addr, "hot_wallet": hot, "kind": "forwarder",
                    "first_block": min(b for b in (blk, first) if b is not None), "n_customers": len(customers),
                    "evidence": f"{VERSION}: contract made by factory 0x{creator.hex()} (code 0x{code.hex()[:16]}, "
                                f"{fam['confirmed']} sibling(s) forward only to 0x{hot.hex()}); {how}"})
    return out


def _eoa_sweeps(con, max_left: float, max_lag: int, min_sweepers: int) -> list[dict]:
    rows = con.execute(_SWEEPS, {"fees": FEE_KINDS, "max_left": max_left, "max_lag": max_lag}).fetchall()
    good = [r for r in rows if r[3] and r[6]]
    per_hot: dict[bytes, int] = {}
    for r in good:
        per_hot[r[1]] = per_hot.get(r[1], 0) + 1
    out = []
    for addr, hot, n_sweeps, _ok, lag, left, senders, first in good:
        if per_hot[hot] < min_sweepers:
            continue
        out.append({"address": addr, "hot_wallet": hot, "kind": "eoa_sweep", "first_block": first,
                    "n_customers": len(senders),
                    "evidence": f"{VERSION}: EOA whose {n_sweeps} outgoing tx(s) all sweep to 0x{hot.hex()}, "
                                f"leaving at most {left:.2%} of the balance, at most {lag} block(s) after a "
                                f"receipt; 0x{hot.hex()} is swept into so by {per_hot[hot]} EOAs"})
    return out


def find_deposit_addresses(store: ChainStore, *, max_left: float = 0.5, max_lag: int = 64,
                           min_sweepers: int = 3) -> pa.Table:
    """Deposit addresses recognised by pattern (schema ``ETH_ANALYSIS_TABLES["eth_deposit_addresses"]``)."""
    con = connect(store, "eth")
    try:
        rows = _forwarders(con) + _eoa_sweeps(con, max_left, max_lag, min_sweepers)
    finally:
        con.close()
    rows.sort(key=lambda r: (r["first_block"], r["address"]))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_deposit_addresses(store: ChainStore, **params) -> Path:
    """Replace ``<store>/analysis/eth_deposit_addresses.parquet`` atomically; returns its path."""
    table = find_deposit_addresses(store, **params)
    path = store.path / "analysis" / "eth_deposit_addresses.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


__all__ = ["find_deposit_addresses", "write_deposit_addresses"]

"""Tornado-style mixing pools found in the store alone: pools, deposits, withdrawals and anonymity sets.

A pool is a contract that emits Tornado Cash's exact events, with the indexed fields in place
(``Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp)``: two topics and 64 bytes of
data; ``Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee)``: two topics,
96 bytes), and whose every deposit moves the same amount of one asset into it (its denomination: ETH by the
value flows, or a token transfer). A contract whose deposits move varying amounts is not a fixed-denomination
pool and is left out. The depositor is the deposit transaction's sender (whoever signed it, also when a router
sits between); a withdrawal names its recipient, relayer and fee in its event.

The anonymity set of a withdrawal is the number of notes of its pool deposited and not yet withdrawn just
before it (any of them could be the one spent); a deposit's is the number of notes open just after it, and
``candidates`` counts the pool's withdrawals after it (the withdrawals that could spend it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.eth_schema import ETH_ANALYSIS_TABLES

DEPOSIT_TOPIC = bytes.fromhex(event_topic("Deposit(bytes32,uint32,uint256)")[2:])
WITHDRAWAL_TOPIC = bytes.fromhex(event_topic("Withdrawal(address,bytes32,address,uint256)")[2:])
DEPOSIT_DATA, WITHDRAWAL_DATA = 64, 96      # bytes of non-indexed fields in Tornado's events
DEPOSITS, WITHDRAWALS, LEADS = "eth_tornado_deposits", "eth_tornado_withdrawals", "eth_tornado_leads"


@dataclass(frozen=True)
class Pool:
    address: bytes
    asset: bytes | None        # None: ETH
    denomination: int
    deposits: int
    withdrawals: int


@dataclass
class Mixing:
    """Every Tornado-style pool of a store, with its deposits and withdrawals (Arrow tables, chain order)."""

    pools: list[Pool]
    deposits: pa.Table
    withdrawals: pa.Table


def _con(store: ChainStore):
    from chaintrail.store.sql import connect       # the store's raw tables, read-only
    return connect(store, "eth")


_TX_COLUMNS = """t.tx_num, t.block_number, b.timestamp, t.from_address AS sender, t.transaction_type,
    t.gas_price, t.max_fee_per_gas, t.max_priority_fee_per_gas"""


def gas_fingerprint(tx_type, gas_price, max_fee, tip) -> str:
    """How a transaction priced its gas, as its sender chose it: a legacy gas price, or EIP-1559 max fee and tip."""
    if max_fee is None or tx_type in (0, 1):
        return f"gas_price={gas_price}"
    return f"max_fee={max_fee},tip={tip}"


def find_pools(store: ChainStore) -> Mixing:
    """Pools, deposits and withdrawals from the store's logs, value flows and transactions alone."""
    con = _con(store)
    try:
        logs = con.sql(f"""
            SELECT l.log_num, l.tx_num, l.log_index, l.address AS pool, l.topic0, l.topic1, l.data, {_TX_COLUMNS}
            FROM raw.eth_logs l JOIN raw.eth_transactions t USING (tx_num)
            JOIN raw.eth_blocks b ON b.block_seq = t.block_seq
            WHERE l.topic0 IN (?, ?) AND l.n_topics = 2 ORDER BY l.log_num""",
                           params=[DEPOSIT_TOPIC, WITHDRAWAL_TOPIC]).to_arrow_table()
        rows = logs.to_pylist()
        deps = [r for r in rows if r["topic0"] == DEPOSIT_TOPIC and len(r["data"]) == DEPOSIT_DATA]
        wds = [r for r in rows if r["topic0"] == WITHDRAWAL_TOPIC and len(r["data"]) == WITHDRAWAL_DATA]
        per_tx: dict[tuple[int, bytes], int] = {}
        for r in deps:
            per_tx[(r["tx_num"], r["pool"])] = per_tx.get((r["tx_num"], r["pool"]), 0) + 1
        keys = pa.table({"tx_num": pa.array([k[0] for k in per_tx], pa.int64()),
                         "pool": pa.array([k[1] for k in per_tx], pa.binary(20))})
        con.register("tornado_deposit_txs", keys)
        flows = con.sql("""
            SELECT f.tx_num, f.to_address AS pool, f.asset, f.amount FROM raw.eth_value_flows f
            JOIN tornado_deposit_txs d ON f.tx_num = d.tx_num AND f.to_address = d.pool
            WHERE f.kind IN ('tx_value', 'internal', 'erc20')""").to_arrow_table().to_pylist()
    finally:
        con.close()
    moved: dict[tuple[int, bytes], dict[bytes | None, int]] = {}
    for f in flows:
        per = moved.setdefault((f["tx_num"], f["pool"]), {})
        per[f["asset"]] = per.get(f["asset"], 0) + int(f["amount"])
    # Each deposit's amount: what its tx moved into the pool, shared among the tx's deposits into it.
    amount: dict[tuple[int, bytes], tuple[bytes | None, int] | None] = {}
    for k, n in per_tx.items():
        m = moved.get(k, {})
        amount[k] = (next(iter(m)), next(iter(m.values())) // n) if len(m) == 1 else None
    by_pool: dict[bytes, set] = {}
    for k, a in amount.items():
        by_pool.setdefault(k[1], set()).add(a)
    fixed = {p: next(iter(s)) for p, s in by_pool.items() if len(s) == 1 and None not in s
             and next(iter(s))[1] > 0}
    deps = [r for r in deps if r["pool"] in fixed]
    wds = [r for r in wds if r["pool"] in fixed]
    pools = [Pool(p, a, d, sum(r["pool"] == p for r in deps), sum(r["pool"] == p for r in wds))
             for p, (a, d) in sorted(fixed.items(), key=lambda kv: (kv[1][0] or b"", kv[1][1], kv[0]))]
    return Mixing(pools, _deposit_table(deps, fixed), _withdrawal_table(wds, fixed))


def _common(rows: list[dict], fixed: dict) -> dict:
    return {
        "pool": pa.array([r["pool"] for r in rows], pa.binary(20)),
        "asset": pa.array([fixed[r["pool"]][0] for r in rows], pa.binary(20)),
        "denomination": pa.array([str(fixed[r["pool"]][1]) for r in rows], pa.string()),
        "log_num": pa.array([r["log_num"] for r in rows], pa.int64()),
        "tx_num": pa.array([r["tx_num"] for r in rows], pa.int64()),
        "log_index": pa.array([r["log_index"] for r in rows], pa.int32()),
        "block_number": pa.array([r["block_number"] for r in rows], pa.int64()),
        "timestamp": pa.array([r["timestamp"] for r in rows], pa.int64()),
        "sender": pa.array([r["sender"] for r in rows], pa.binary(20)),
        "gas_price": pa.array([r["gas_price"] for r in rows], pa.string()),
        "gas_fingerprint": pa.array([gas_fingerprint(r["transaction_type"], r["gas_price"], r["max_fee_per_gas"],
                                                     r["max_priority_fee_per_gas"]) for r in rows], pa.string()),
    }


def _deposit_table(rows: list[dict], fixed: dict) -> pa.Table:
    cols = _common(rows, fixed)
    cols["commitment"] = pa.array([r["topic1"] for r in rows], pa.binary(32))
    cols["leaf_index"] = pa.array([int.from_bytes(r["data"][:32], "big") for r in rows], pa.int64())
    return pa.table(cols)


def _withdrawal_table(rows: list[dict], fixed: dict) -> pa.Table:
    cols = _common(rows, fixed)
    cols["recipient"] = pa.array([r["data"][12:32] for r in rows], pa.binary(20))
    cols["relayer"] = pa.array([r["topic1"][12:] for r in rows], pa.binary(20))
    cols["fee"] = pa.array([str(int.from_bytes(r["data"][64:96], "big")) for r in rows], pa.string())
    cols["nullifier_hash"] = pa.array([r["data"][32:64] for r in rows], pa.binary(32))
    return pa.table(cols)


def anonymity_sets(m: Mixing) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per deposit: open notes just after it and the pool's withdrawals after it; per withdrawal: open notes
    just before it. Events are ordered by log position (deposits and withdrawals of a pool interleave)."""
    d_pool, w_pool = m.deposits["pool"].to_pylist(), m.withdrawals["pool"].to_pylist()
    d_pos, w_pos = m.deposits["log_num"].to_numpy(), m.withdrawals["log_num"].to_numpy()
    d_anon = np.zeros(len(d_pool), np.int64)
    d_cand = np.zeros(len(d_pool), np.int64)
    w_anon = np.zeros(len(w_pool), np.int64)
    for p in {pl.address for pl in m.pools}:
        di = np.flatnonzero(np.array([x == p for x in d_pool], bool))
        wi = np.flatnonzero(np.array([x == p for x in w_pool], bool))
        dp, wp = d_pos[di], w_pos[wi]
        ds, ws = np.sort(dp), np.sort(wp)
        d_anon[di] = np.searchsorted(ds, dp, "right") - np.searchsorted(ws, dp, "left")
        d_cand[di] = len(ws) - np.searchsorted(ws, dp, "right")
        w_anon[wi] = np.searchsorted(ds, wp, "left") - np.searchsorted(ws, wp, "left")
    return d_anon, d_cand, w_anon


def pool_windows(m: Mixing, window_s: int = 86_400) -> list[dict]:
    """Per pool and time window: deposits, withdrawals, notes open at the window's end, and the smallest and
    median anonymity set of the window's withdrawals."""
    _, _, w_anon = anonymity_sets(m)
    d_pool, d_t = m.deposits["pool"].to_pylist(), m.deposits["timestamp"].to_numpy()
    w_pool, w_t = m.withdrawals["pool"].to_pylist(), m.withdrawals["timestamp"].to_numpy()
    if not len(d_t):
        return []
    t0 = int(d_t.min()) // window_s * window_s
    out = []
    for pool in m.pools:
        dt = d_t[np.array([x == pool.address for x in d_pool], bool)]
        wmask = np.array([x == pool.address for x in w_pool], bool)
        wt, wa = w_t[wmask], w_anon[wmask]
        end = max(int(dt.max()) if len(dt) else t0, int(wt.max()) if len(wt) else t0)
        for start in range(t0, end + 1, window_s):
            inw = (wt >= start) & (wt < start + window_s)
            out.append({"pool": "0x" + pool.address.hex(), "window_start": start, "window_s": window_s,
                        "deposits": int(((dt >= start) & (dt < start + window_s)).sum()), "withdrawals": int(inw.sum()),
                        "open_notes_at_end": int((dt < start + window_s).sum() - (wt < start + window_s).sum()),
                        "min_anonymity_set": int(wa[inw].min()) if inw.any() else None,
                        "median_anonymity_set": float(np.median(wa[inw])) if inw.any() else None})
    return out


def write_tables(store: ChainStore, m: Mixing, leads: pa.Table | None = None) -> dict[str, Path]:
    """Replace analysis/eth_tornado_{deposits,withdrawals,leads}.parquet atomically (schemas: store/eth_schema)."""
    d_anon, d_cand, w_anon = anonymity_sets(m)
    tables = {DEPOSITS: m.deposits.append_column("anonymity_set", pa.array(d_anon, pa.int64()))
              .append_column("candidates", pa.array(d_cand, pa.int64())),
              WITHDRAWALS: m.withdrawals.append_column("anonymity_set", pa.array(w_anon, pa.int64()))}
    if leads is not None:
        tables[LEADS] = leads
    paths = {}
    folder = store.path / "analysis"
    folder.mkdir(parents=True, exist_ok=True)
    for name, t in tables.items():
        t = t.select(ETH_ANALYSIS_TABLES[name].names).cast(ETH_ANALYSIS_TABLES[name])
        out = folder / f"{name}.parquet"
        tmp = out.with_suffix(".parquet.tmp")
        pq.write_table(t, tmp, compression="zstd")
        os.replace(tmp, out)
        paths[name] = out
    return paths


__all__ = ["DEPOSIT_TOPIC", "Mixing", "Pool", "WITHDRAWAL_TOPIC", "anonymity_sets", "find_pools", "gas_fingerprint",
           "pool_windows", "write_tables"]

"""Conversions: swaps from DEX events netted per transaction, and WETH wraps/unwraps, as asset in -> asset out.

A transaction with Uniswap V2/V3 ``Swap`` logs (``swap_events``) is one conversion, whatever its hops:
- **Net.** Each address's gain or loss per asset over the tx's value flows (ETH by value and internal call,
  tokens, wraps and unwraps; gas left out). The pools, the zero address and the WETH contract of a wrap or
  unwrap are left out, so a router's wrap of the trader's ETH, or unwrap before paying ETH out, nets to ETH.
- **Trader.** The tx sender when it lost something; else the first address that lost something and gained
  something (a bot contract called by its owner), else the first that lost something.
- **Recipient.** The trader when it gained something; else the last hop's recipient, or whom that address
  paid (a router that unwrapped WETH and sent ETH on).
- **In/out.** The trader's loss and the recipient's gain. Where either holds several assets, the one the first
  (last) hop moved is taken, and the others are named in the evidence.
A tx whose swaps leave the trader no net loss (an arbitrage back into the same asset) is no conversion.

Outside swap transactions, each WETH ``wrap`` (ETH -> WETH, for the depositor) and ``unwrap`` (WETH -> ETH) value
flow is a conversion of its own. Evidence names every hop and the netting.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.analysis.eth.swap_events import SWAP_V2, SWAP_V3, Hop, SwapLog, Transfer, decode_hops
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.eth_schema import ETH_ANALYSIS_TABLES
from chaintrail.store.sql import connect

log = logging.getLogger(__name__)
SCHEMA = ETH_ANALYSIS_TABLES["eth_conversions"]
FEE_KINDS = ("fee_tip", "fee_burnt", "blob_fee_burnt")
ZERO = bytes(20)
ETH = None


def _hex(a: bytes | None) -> str:
    return "ETH" if a is None else "0x" + a.hex()


def _read(store: ChainStore) -> dict[str, list[tuple]]:
    """Swap logs, and the transfers, value flows and senders of their txs; wraps/unwraps of all txs."""
    con = connect(store, "eth")
    try:
        swap_txs = "SELECT DISTINCT tx_num FROM raw.eth_logs WHERE topic0 IN ($v2, $v3)"
        p = {"v2": SWAP_V2, "v3": SWAP_V3}
        q = {
            "logs": ("SELECT tx_num, log_index, address, topic0, topic1, topic2, n_topics, data FROM raw.eth_logs "
                     "WHERE topic0 IN ($v2, $v3) ORDER BY tx_num, log_index", p),
            "transfers": ("SELECT tx_num, log_index, token_address, from_address, to_address, value "
                          f"FROM raw.eth_token_transfers WHERE standard = 'erc20' AND tx_num IN ({swap_txs})", p),
            "flows": ("SELECT tx_num, kind, from_address, to_address, asset, amount FROM raw.eth_value_flows "
                      f"WHERE tx_num IN ({swap_txs}) AND NOT list_contains($fees, kind) AND token_id IS NULL "
                      "ORDER BY tx_num, flow_num", p | {"fees": list(FEE_KINDS)}),
            "txs": ("SELECT tx_num, block_number, from_address, to_address FROM raw.eth_transactions "
                    f"WHERE tx_num IN ({swap_txs})", p),
            "wraps": ("SELECT f.tx_num, f.block_number, f.kind, f.from_address, f.to_address, f.asset, f.amount "
                      "FROM raw.eth_value_flows f WHERE f.kind IN ('wrap', 'unwrap') "
                      f"AND f.tx_num NOT IN ({swap_txs}) ORDER BY f.flow_num", p),
        }
        return {name: con.execute(sql, params).fetchall() for name, (sql, params) in q.items()}
    finally:
        con.close()


def _net(flows: list[tuple]) -> tuple[dict[bytes, dict[bytes | None, int]], list[bytes], dict[bytes, dict]]:
    """Per address, per asset: net gain over the flows; addresses in order of appearance; who paid whom."""
    net: dict[bytes, dict[bytes | None, int]] = defaultdict(lambda: defaultdict(int))
    order: dict[bytes, None] = {}
    paid: dict[bytes, dict[bytes, int]] = defaultdict(lambda: defaultdict(int))
    for _tx, _kind, frm, to, asset, amount in flows:
        v = int(amount)
        if frm is not None:
            net[frm][asset] -= v
            order.setdefault(frm)
        if to is not None:
            net[to][asset] += v
            order.setdefault(to)
        if frm is not None and to is not None:
            paid[frm][to] += v
    return net, list(order), paid


def _pick(legs: dict[bytes | None, int], prefer: list[bytes | None]) -> bytes | None:
    for a in prefer:
        if a in legs:
            return a
    return max(legs, key=lambda a: legs[a])


def net_swap(hops: list[Hop], flows: list[tuple], sender: bytes) -> dict | None:
    """One tx's conversion from its hops (in log order) and its non-gas value flows; None when it nets to none."""
    net, order, paid = _net(flows)
    weth = {f[4] for f in flows if f[1] in ("wrap", "unwrap")}
    skip = {h.venue for h in hops} | weth | {ZERO}
    parts = {a: {k: v for k, v in net[a].items() if v} for a in order if a not in skip}
    gave = {a: {k: -v for k, v in legs.items() if v < 0} for a, legs in parts.items()}
    got = {a: {k: v for k, v in legs.items() if v > 0} for a, legs in parts.items()}
    if gave.get(sender):
        trader = sender
    else:
        both = [a for a in parts if gave[a] and got[a]]
        first = both or [a for a in parts if gave[a]]
        if not first:
            return None
        trader = first[0]
    recipient = trader
    if not got[trader]:
        last = hops[-1].recipient
        if last in got and got[last]:
            recipient = last
        elif any(got.get(a) for a in paid.get(last, ())):
            recipient = max((a for a in paid[last] if got.get(a)), key=lambda a: paid[last][a])
        if recipient == trader or not got.get(recipient):
            return None
    first_in, last_out = hops[0].token_in, hops[-1].token_out
    asset_in = _pick(gave[trader], [first_in, ETH if first_in in weth else first_in])
    asset_out = _pick(got[recipient], [last_out, ETH if last_out in weth else last_out])
    amount_in, amount_out = gave[trader][asset_in], got[recipient][asset_out]
    notes = [h.describe() for h in hops]
    notes.append(f"net over the tx's value flows (gas aside): 0x{trader.hex()} gave {amount_in} {_hex(asset_in)}, "
                 f"0x{recipient.hex()} got {amount_out} {_hex(asset_out)}")
    if weth:
        notes.append("WETH wrapped/unwrapped in the tx netted to ETH")
    extra = [f"{v} {_hex(a)}" for a, v in gave[trader].items() if a != asset_in]
    extra += [f"+{v} {_hex(a)}" for a, v in got[recipient].items() if a != asset_out]
    if extra:
        notes.append("also moved: " + ", ".join(extra))
    return {"kind": "swap", "trader": trader, "recipient": recipient, "asset_in": asset_in,
            "amount_in": amount_in, "asset_out": asset_out, "amount_out": amount_out, "n_hops": len(hops),
            "evidence": "; ".join(notes)}


def find_conversions(store: ChainStore) -> pa.Table:
    """Every conversion in the store (schema ``ETH_ANALYSIS_TABLES["eth_conversions"]``), in tx order."""
    rows = _read(store)
    logs = [SwapLog(tx, li, a, t0, t1, t2, n, d) for tx, li, a, t0, t1, t2, n, d in rows["logs"]]
    transfers = [Transfer(tx, li, tok, f, t, int(v)) for tx, li, tok, f, t, v in rows["transfers"]]
    hops, skipped = decode_hops(logs, transfers)
    if skipped:
        log.info("%d Swap-topic logs not in Uniswap's layout were skipped", skipped)
    by_tx: dict[int, list[Hop]] = defaultdict(list)
    for h in hops:
        by_tx[cast(int, h.tx)].append(h)
    flows: dict[int, list[tuple]] = defaultdict(list)
    for f in rows["flows"]:
        flows[f[0]].append(f)
    txs = {tx: (block, frm, to) for tx, block, frm, to in rows["txs"]}
    out: list[dict] = []
    for tx in sorted(by_tx):
        block, sender, to = txs[tx]
        c = net_swap(by_tx[tx], flows[tx], sender)
        if c is None:
            continue
        venue = by_tx[tx][0].venue if len(by_tx[tx]) == 1 else to
        out.append({"tx_num": tx, "block_number": block, "conv_index": 0, "venue": venue, **c})
    index: dict[int, int] = defaultdict(int)
    for tx, block, kind, frm, to, asset, amount in rows["wraps"]:
        who = to if kind == "wrap" else frm
        a_in, a_out = (ETH, asset) if kind == "wrap" else (asset, ETH)
        out.append({"tx_num": tx, "block_number": block, "conv_index": index[tx], "kind": kind, "trader": who,
                    "recipient": who, "asset_in": a_in, "amount_in": int(amount), "asset_out": a_out,
                    "amount_out": int(amount), "venue": asset, "n_hops": 1,
                    "evidence": f"WETH {'Deposit' if kind == 'wrap' else 'Withdrawal'} at 0x{asset.hex()} "
                                f"confirmed by the ETH it moved: {amount} wei for 0x{who.hex()}"})
        index[tx] += 1
    out.sort(key=lambda r: (r["tx_num"], r["conv_index"]))
    for r in out:
        r["rate"] = r["amount_out"] / r["amount_in"] if r["amount_in"] else None
        r["amount_in"], r["amount_out"] = str(r["amount_in"]), str(r["amount_out"])
    return pa.Table.from_pylist(out, schema=SCHEMA)


def write_conversions(store: ChainStore) -> Path:
    """Replace ``<store>/analysis/eth_conversions.parquet`` atomically; returns its path."""
    table = find_conversions(store)
    path = store.path / "analysis" / "eth_conversions.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


__all__ = ["find_conversions", "net_swap", "write_conversions"]

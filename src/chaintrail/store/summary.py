"""A short account of what a store holds, for `store info` and the demo."""

from __future__ import annotations

from pathlib import Path

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.index import index_bytes
from chaintrail.store.sql import query


def store_summary(path: Path) -> dict:
    with ChainStore(path) as st:
        c = st.counts
        tip = query(st, "SELECT max(height) AS h, count(*) FILTER (height IS NULL) AS unknown FROM blocks").to_pylist()[0]
        value = query(st, """SELECT coalesce(sum(value_sat), 0)::BIGINT AS created,
                                    coalesce(sum(value_sat) FILTER (spent_by_txid IS NULL), 0)::BIGINT AS unspent
                             FROM outputs""").to_pylist()[0]
        fees = query(st, "SELECT coalesce(sum(fee_sat), 0)::BIGINT AS fees FROM txs").to_pylist()[0]["fees"]
        sizes = index_bytes(st.index_dir)
        return {
            "store": str(path), "network": st.network,
            "blocks": c["blocks"], "txs": c["txs"], "inputs": c["inputs"], "outputs": c["outputs"],
            "addresses": c["addresses"], "stale_blocks": c.get("stale_blocks", 0), "bad_blocks": c.get("bad_blocks", 0),
            "best_height": tip["h"], "blocks_without_height": tip["unknown"],
            "created_sat": value["created"], "unspent_sat": value["unspent"], "fees_sat": fees,
            "index_bytes_per_input": round(sizes.get("inputs", 0) / c["inputs"], 2) if c["inputs"] else None,
            "index_bytes_per_output": round(sizes.get("outputs", 0) / c["outputs"], 2) if c["outputs"] else None,
            "content_hash": st.content_hash(),
        } | _eth_summary(st, sizes)


def _eth_summary(st: ChainStore, sizes: dict[str, int]) -> dict:
    """The Ethereum part, when the store has one."""
    c, eth = st.counts, st.manifest.get("eth") or {}
    if not c.get("eth_blocks"):
        return {}
    n_tx, n_flow = c.get("eth_transactions", 0), c.get("eth_value_flows", 0)
    eth_bytes = sum(v for k, v in sizes.items() if k.startswith("eth_"))
    return {
        "eth_chain_id": eth.get("chain_id"), "eth_first_block": eth.get("first_block"), "eth_tip": eth.get("tip"),
        "eth_traces_source": eth.get("traces"),
        **{k: v for k, v in c.items() if k.startswith("eth_")},
        "eth_index_bytes_per_tx": round(eth_bytes / n_tx, 1) if n_tx else None,
        "eth_index_bytes_per_flow": round(sizes.get("eth_value_flows", 0) / n_flow, 1) if n_flow else None,
    }

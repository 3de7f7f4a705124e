"""Who paid whom in a run of blocks, as flat arrays read from the store's hot index (both chain families).

A flow is one row: tx, payer address id, payee address id, asset, exact amount (two 64-bit halves). Which side
a flow counts for differs by family:

- Ethereum: every value flow counts for its sender (``out``) and its recipient (``in``).
- Bitcoin: an input counts for the address it spends from (``out``, payee none); an output counts for the
  address it pays (``in``), with the transaction's first input address as payer (the spending entity: the
  multi-input heuristic puts every input of a transaction in one entity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.store.chainstore import ChainStore
from chaintrail.store.eth_schema import FLOW_KIND
from chaintrail.store.index import NONE

NO = -1
_FEES = np.array([FLOW_KIND[k] for k in ("fee_tip", "fee_burnt", "blob_fee_burnt")], np.uint8)


@dataclass
class Flows:
    """Flows of blocks ``first_seq`` .. ``first_seq + len(numbers) - 1`` (store order)."""

    first_seq: int
    numbers: list[int]            # block number (height) of each block
    hashes: list[str]             # block hash of each block, hex as explorers show it
    block: np.ndarray             # int64: index into numbers/hashes
    tx: np.ndarray                # int64: store tx id, NO for rewards
    src: np.ndarray               # int64: payer address id, NO: none (minted, coinbase)
    dst: np.ndarray               # int64: payee address id, NO: none
    asset: np.ndarray             # int64: token address id, NO: the native coin
    lo: np.ndarray                # uint64: amount, low 64 bits
    hi: np.ndarray                # uint64: amount, high 64 bits
    count_src: np.ndarray         # bool: the flow counts as the payer paying
    count_dst: np.ndarray         # bool: the flow counts as the payee receiving
    multi_in: list[np.ndarray]    # Bitcoin: input address ids of each transaction with several (to cluster)

    def __len__(self) -> int:
        return len(self.tx)

    def amount(self, i: int) -> int:
        return int(self.lo[i]) + (int(self.hi[i]) << 64)


def _ids(a: np.ndarray) -> np.ndarray:
    out = a.astype(np.int64)
    out[a == NONE] = NO
    return out


def eth_flows(store: ChainStore, first_seq: int, end_seq: int) -> Flows:
    """Value flows of Ethereum blocks [first_seq, end_seq) of ``store``."""
    c = store.counts
    first_flow = store.column("eth_blk_first_flow")
    f0 = int(first_flow[first_seq]) if first_seq < c.get("eth_blocks", 0) else c.get("eth_value_flows", 0)
    f1 = int(first_flow[end_seq]) if end_seq < c.get("eth_blocks", 0) else c.get("eth_value_flows", 0)
    col = {n: store.column(n)[f0:f1] for n in ("eth_flow_tx", "eth_flow_from", "eth_flow_to", "eth_flow_asset",
                                                "eth_flow_kind", "eth_flow_amount_lo", "eth_flow_amount_hi")}
    paid = ~np.isin(np.asarray(col["eth_flow_kind"]) & 0x7F, _FEES)      # fees are not payments
    starts = np.asarray(first_flow[first_seq:end_seq], np.int64) - f0
    block = np.searchsorted(starts, np.arange(f1 - f0), side="right") - 1
    hashes = store.column("eth_blk_hash")[first_seq:end_seq]
    first = (store.manifest.get("eth") or {}).get("first_block", 0)
    return Flows(first_seq, [first + s for s in range(first_seq, end_seq)], ["0x" + bytes(h).hex() for h in hashes],
                 block.astype(np.int64), _ids(col["eth_flow_tx"]), _ids(col["eth_flow_from"]),
                 _ids(col["eth_flow_to"]), _ids(col["eth_flow_asset"]),
                 np.asarray(col["eth_flow_amount_lo"], np.uint64), np.asarray(col["eth_flow_amount_hi"], np.uint64),
                 paid, paid.copy(), [])


def btc_blocks(store: ChainStore, first_seq: int, end_seq: int) -> tuple[list[int], list[str]]:
    """Heights and hashes of Bitcoin blocks [first_seq, end_seq), read from the last parts only."""
    want = end_seq - first_seq
    if want <= 0:
        return [], []
    got = []
    for path in reversed(store.part_paths("blocks")):
        t = pq.read_table(path, columns=["block_seq", "height", "hash"])
        t = t.filter(pc.and_(pc.greater_equal(t["block_seq"], first_seq), pc.less(t["block_seq"], end_seq)))
        got.append(t)
        if int(pq.read_metadata(path).num_rows) and sum(x.num_rows for x in got) >= want:
            break
    rows = sorted((r for t in got for r in t.to_pylist()), key=lambda r: r["block_seq"])
    return [r["height"] if r["height"] is not None else -1 for r in rows], [bytes(r["hash"]).hex() for r in rows]


def btc_flows(store: ChainStore, first_seq: int, end_seq: int, skip_tx: np.ndarray | None = None) -> Flows:
    """Inputs (payer side) and outputs (payee side) of Bitcoin blocks [first_seq, end_seq).

    ``skip_tx`` flags (per tx_num) txs whose inputs must not be joined into one entity: the batch clustering's
    CoinJoin/mixer guard (``analysis.tracing.mixer_tx_mask``), so the monitor's entities grow as it does."""
    c = store.counts
    bft = store.column("blk_first_tx")
    t0 = int(bft[first_seq]) if first_seq < c["blocks"] else c["txs"]
    t1 = int(bft[end_seq]) if end_seq < c["blocks"] else c["txs"]
    tfi, tfo = store.column("tx_first_in"), store.column("tx_first_out")
    i0, o0 = (int(tfi[t0]), int(tfo[t0])) if t0 < c["txs"] else (c["inputs"], c["outputs"])
    i1, o1 = (int(tfi[t1]), int(tfo[t1])) if t1 < c["txs"] else (c["inputs"], c["outputs"])
    in_addr = _ids(np.asarray(store.column("in_addr")[i0:i1]))
    in_val = np.maximum(np.asarray(store.column("in_value")[i0:i1], np.int64), 0)
    out_addr = _ids(np.asarray(store.column("out_addr")[o0:o1]))
    out_val = np.maximum(np.asarray(store.column("out_value")[o0:o1], np.int64), 0)
    in_starts = np.asarray(tfi[t0:t1], np.int64) - i0
    out_starts = np.asarray(tfo[t0:t1], np.int64) - o0
    in_tx = np.searchsorted(in_starts, np.arange(i1 - i0), side="right") - 1
    out_tx = np.searchsorted(out_starts, np.arange(o1 - o0), side="right") - 1
    has_in = np.diff(np.append(in_starts, i1 - i0)) > 0
    payer = np.full(t1 - t0, NO, np.int64)
    payer[has_in] = in_addr[in_starts[has_in]]
    blk_starts = np.asarray(bft[first_seq:end_seq], np.int64) - t0
    tx_block = np.searchsorted(blk_starts, np.arange(t1 - t0), side="right") - 1
    keep_in = in_addr != NO
    ni, no = int(keep_in.sum()), len(out_addr)
    tx = np.concatenate([in_tx[keep_in], out_tx]).astype(np.int64)
    multi = []
    n_in = np.diff(np.append(in_starts, i1 - i0))
    for t in np.flatnonzero(n_in > 1).tolist():
        if skip_tx is not None and t + t0 < len(skip_tx) and skip_tx[t + t0]:
            continue
        a = in_addr[in_starts[t]:in_starts[t] + n_in[t]]
        a = np.unique(a[a != NO])
        if len(a) > 1:
            multi.append(a)
    numbers, hashes = btc_blocks(store, first_seq, end_seq)
    return Flows(first_seq, numbers, hashes, tx_block[tx] if len(tx) else np.zeros(0, np.int64), tx + t0,
                 np.concatenate([in_addr[keep_in], payer[out_tx]]), np.concatenate([np.full(ni, NO), out_addr]),
                 np.full(ni + no, NO, np.int64), np.concatenate([in_val[keep_in], out_val]).astype(np.uint64),
                 np.zeros(ni + no, np.uint64), np.concatenate([np.ones(ni, np.bool_), np.zeros(no, np.bool_)]),
                 np.concatenate([np.zeros(ni, np.bool_), np.ones(no, np.bool_)]), multi)

"""Per-transaction arrays every change heuristic reads, gathered once."""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from chaintrail.analysis.tx_labels import index_arrays
from chaintrail.store.chainstore import ChainStore

NONE = np.uint32(0xFFFFFFFF)


@dataclass
class TxContext:
    tx_first_in: np.ndarray     # uint32, n_tx + 1
    tx_first_out: np.ndarray    # uint32, n_tx + 1
    in_addr: np.ndarray         # uint32 per input
    in_value: np.ndarray        # int64 per input (-1 unknown)
    in_type: np.ndarray         # uint8 script type of the spent output (255 unknown)
    in_sequence: np.ndarray     # int64 per input
    out_addr: np.ndarray        # uint32 per output
    out_value: np.ndarray       # int64 per output
    out_type: np.ndarray        # uint8 per output
    out_spent: np.ndarray       # uint32 spending input per output
    tx_version: np.ndarray      # int64 per tx
    tx_locktime: np.ndarray     # int64 per tx
    tx_is_cb: np.ndarray        # bool per tx
    tx_skip: np.ndarray         # bool per tx: CoinJoins and other multi-owner txs (no change to find)
    addr_first_tx: np.ndarray   # int64 per address: first tx with an output paying it


@nb.njit(cache=True)
def _first_tx(tx_first_out, out_addr, n_addr, out):
    for a in range(n_addr):
        out[a] = -1
    t = 0
    n_tx = tx_first_out.shape[0] - 1
    for t in range(n_tx):
        for j in range(tx_first_out[t], tx_first_out[t + 1]):
            a = out_addr[j]
            if a != NONE and out[a] < 0:
                out[a] = t


def build_context(store: ChainStore, tx_skip: np.ndarray | None = None) -> TxContext:
    a = index_arrays(store)
    c = store.counts
    txs = store.read_table("txs", ["version", "locktime"])
    seq = store.read_table("inputs", ["sequence"])["sequence"].to_numpy()
    addr_types = store.read_table("addresses", ["script_type"])["script_type"].to_numpy()
    in_addr = np.asarray(store.column("in_addr"))
    in_prev = np.asarray(store.column("in_prev"))
    # The spent output's own type where the store has it, else the type its address was first seen with.
    in_type = np.full(c["inputs"], 255, np.uint8)
    known = in_addr != NONE
    in_type[known] = addr_types[in_addr[known]]
    resolved = in_prev != NONE
    in_type[resolved] = a["out_type"][in_prev[resolved]]
    out_addr = np.asarray(store.column("out_addr"))
    first = np.empty(c["addresses"], np.int64)
    _first_tx(a["tx_first_out"], out_addr, c["addresses"], first)
    return TxContext(
        tx_first_in=a["tx_first_in"], tx_first_out=a["tx_first_out"], in_addr=in_addr, in_value=a["in_value"],
        in_type=in_type, in_sequence=seq, out_addr=out_addr, out_value=a["out_value"], out_type=a["out_type"],
        out_spent=a["out_spent"], tx_version=txs["version"].to_numpy(), tx_locktime=txs["locktime"].to_numpy(),
        tx_is_cb=a["tx_is_cb"], tx_skip=np.zeros(c["txs"], np.bool_) if tx_skip is None else tx_skip,
        addr_first_tx=first)



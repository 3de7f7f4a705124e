"""The generator's in-memory chain: flat arrays of transactions, inputs, outputs, addresses, wallets.

Everything the simulation knows lives in one ``Ledger`` named tuple of numpy
arrays, so numba kernels and Python code (crime cases, CoinJoin rounds) share
it.  Ids are creation order: tx ids, output ids and address ids are dense and
never reused.  A *pool* is one wallet's set of spendable outputs, kept as a
doubly linked list through ``out_next``/``out_prev`` (oldest first), with its
count and sum, so coin selection and removal are O(1) per coin.

An output enters its pool only when the block that created it is closed
(coinbase outputs after 100 more blocks), so a block never spends its own
outputs and txids can be computed block by block.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# --- address types (internal codes; ``script_type_of`` maps them to ScriptType) ---
AT_P2PKH, AT_P2SH_P2WPKH, AT_P2WPKH, AT_P2TR, AT_P2WSH = 0, 1, 2, 3, 4
AT_NAMES = ("p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr", "p2wsh-2of3")

# --- output flags ---
OF_CHANGE = 1        # value returned to the spending wallet in a tx that also paid someone
OF_COINBASE = 2
OF_OPRETURN = 4      # zero-value data carrier, never spendable
OF_SPENT = 8
OF_RELEASED = 16     # entered its pool (spendable)
OF_HANDOVER = 32     # a chip whose key the mixer handed to a customer

# --- tx kinds (stored in the answer key's tx table; never renumber) ---
TX_KINDS = (
    "coinbase", "payment", "self_transfer", "exchange_withdrawal", "exchange_batch_withdrawal",
    "exchange_sweep", "exchange_to_cold", "exchange_from_cold", "processor_settlement",
    "pool_payout", "gambling_payout", "p2p_trade", "wasabi1.0", "wasabi1.1", "wasabi2",
    "whirlpool_tx0", "whirlpool_mix", "joinmarket", "chip_creation", "mixer_sweep",
    "chip_spend", "crime", "consolidation", "batch_payment", "market_withdrawal",
)
TXK = {name: i for i, name in enumerate(TX_KINDS)}
COINJOIN_KINDS = ("wasabi1.0", "wasabi1.1", "wasabi2", "whirlpool_mix", "joinmarket")
MIXER_KINDS = ("chip_creation", "mixer_sweep", "whirlpool_tx0")

# --- entity kinds ---
ENTITY_KINDS = (
    "wallet", "exchange", "mining_pool", "merchant", "payment_processor", "gambling",
    "p2p_trader", "mixer", "coinjoin_coordinator", "criminal", "darknet_market",
)
EK = {name: i for i, name in enumerate(ENTITY_KINDS)}

# counters in ``Ledger.ctr``
C_TX, C_IN, C_OUT, C_ADDR, C_ENT, C_POOL, C_HEIGHT = 0, 1, 2, 3, 4, 5, 6

_SPEC = {
    # name: (dtype, domain[, width]); domain picks the capacity that sizes the array
    "tx_in0": (np.int64, "tx"), "tx_nin": (np.int32, "tx"), "tx_out0": (np.int64, "tx"),
    "tx_nout": (np.int32, "tx"), "tx_ver": (np.int32, "tx"), "tx_lock": (np.int64, "tx"),
    "tx_seq": (np.int64, "tx"), "tx_block": (np.int32, "tx"), "tx_kind": (np.uint8, "tx"),
    "tx_ent": (np.int32, "tx"), "tx_fee": (np.int64, "tx"), "tx_lowr": (np.uint8, "tx"),
    "in_out": (np.int64, "in"),
    "out_value": (np.int64, "out"), "out_addr": (np.int64, "out"), "out_tx": (np.int64, "out"),
    "out_flags": (np.uint8, "out"), "out_spent": (np.int64, "out"), "out_pool": (np.int32, "out"),
    "out_next": (np.int64, "out"), "out_prev": (np.int64, "out"),
    "addr_type": (np.uint8, "addr"), "addr_ent": (np.int32, "addr"), "addr_issuer": (np.int32, "addr"),
    "addr_uses": (np.int32, "addr"), "addr_pool": (np.int32, "addr"),
    "addr_prog": (np.uint8, "addr", 32), "tx_hash": (np.uint8, "tx", 32),
    "ent_kind": (np.uint8, "ent"), "ent_atype": (np.uint8, "ent"), "ent_sw": (np.uint8, "ent"),
    "ent_reuse": (np.float32, "ent"), "ent_pool": (np.int32, "ent"), "ent_pool2": (np.int32, "ent"),
    "ent_pool3": (np.int32, "ent"), "ent_addr": (np.int64, "ent"), "ent_home": (np.int32, "ent"),
    "ent_dep": (np.int64, "ent"), "ent_flags": (np.int32, "ent"),
    "pool_head": (np.int64, "pool"), "pool_tail": (np.int64, "pool"), "pool_n": (np.int64, "pool"),
    "pool_sum": (np.int64, "pool"), "pool_ent": (np.int32, "pool"),
}
_FILL = {"out_spent": -1, "out_pool": -1, "out_next": -1, "out_prev": -1, "pool_head": -1,
         "pool_tail": -1, "ent_pool": -1, "ent_pool2": -1, "ent_pool3": -1, "ent_addr": -1,
         "ent_home": -1, "ent_dep": -1, "addr_issuer": -1, "addr_pool": -1}


class Ledger(NamedTuple):
    """Struct-of-arrays chain state shared by numba kernels and Python builders."""

    ctr: np.ndarray
    tx_in0: np.ndarray
    tx_nin: np.ndarray
    tx_out0: np.ndarray
    tx_nout: np.ndarray
    tx_ver: np.ndarray
    tx_lock: np.ndarray
    tx_seq: np.ndarray
    tx_block: np.ndarray
    tx_kind: np.ndarray
    tx_ent: np.ndarray
    tx_fee: np.ndarray
    tx_lowr: np.ndarray
    in_out: np.ndarray
    out_value: np.ndarray
    out_addr: np.ndarray
    out_tx: np.ndarray
    out_flags: np.ndarray
    out_spent: np.ndarray
    out_pool: np.ndarray
    out_next: np.ndarray
    out_prev: np.ndarray
    addr_type: np.ndarray
    addr_ent: np.ndarray
    addr_issuer: np.ndarray
    addr_uses: np.ndarray
    addr_pool: np.ndarray      # the pool that outputs paid to this address join
    addr_prog: np.ndarray      # witness program / hash, 20 or 32 bytes used
    tx_hash: np.ndarray        # txid, internal byte order, filled when the block is serialized
    ent_kind: np.ndarray
    ent_atype: np.ndarray
    ent_sw: np.ndarray
    ent_reuse: np.ndarray
    ent_pool: np.ndarray
    ent_pool2: np.ndarray
    ent_pool3: np.ndarray
    ent_addr: np.ndarray
    ent_home: np.ndarray
    ent_dep: np.ndarray
    ent_flags: np.ndarray
    pool_head: np.ndarray
    pool_tail: np.ndarray
    pool_n: np.ndarray
    pool_sum: np.ndarray
    pool_ent: np.ndarray


def _domain_sizes(L: Ledger) -> dict[str, int]:
    return {"tx": len(L.tx_in0), "in": len(L.in_out), "out": len(L.out_value),
            "addr": len(L.addr_type), "ent": len(L.ent_kind), "pool": len(L.pool_head)}


def new_ledger(tx: int, inp: int, out: int, addr: int, ent: int, pool: int) -> Ledger:
    """An empty ledger with the given capacities."""
    caps = {"tx": tx, "in": inp, "out": out, "addr": addr, "ent": ent, "pool": pool}
    arrays = {}
    for name, (dtype, dom, *width) in _SPEC.items():
        arrays[name] = np.full((caps[dom], *width), _FILL.get(name, 0), dtype)
    return Ledger(ctr=np.zeros(16, np.int64), **arrays)


def ensure_capacity(L: Ledger, tx: int = 0, inp: int = 0, out: int = 0, addr: int = 0,
                    ent: int = 0, pool: int = 0) -> Ledger:
    """Return ``L``, or a copy with larger arrays, so that the given numbers of new rows fit."""
    used = {"tx": L.ctr[C_TX], "in": L.ctr[C_IN], "out": L.ctr[C_OUT], "addr": L.ctr[C_ADDR],
            "ent": L.ctr[C_ENT], "pool": L.ctr[C_POOL]}
    need = {"tx": tx, "in": inp, "out": out, "addr": addr, "ent": ent, "pool": pool}
    sizes = _domain_sizes(L)
    grow = {d for d in sizes if used[d] + need[d] > sizes[d]}
    if not grow:
        return L
    new = {}
    caps = {d: max(int((used[d] + need[d]) * 1.5) + 1024, sizes[d] * 3 // 2) for d in grow}
    for name, (dtype, dom, *width) in _SPEC.items():
        arr = getattr(L, name)
        if dom in grow:
            big = np.full((caps[dom], *width), _FILL.get(name, 0), dtype)
            big[:len(arr)] = arr
            arr = big
        new[name] = arr
    return Ledger(ctr=L.ctr, **new)


def used(L: Ledger, domain: str) -> int:
    """How many rows of ``domain`` (tx, in, out, addr, ent, pool) are in use."""
    return int(L.ctr[{"tx": C_TX, "in": C_IN, "out": C_OUT, "addr": C_ADDR, "ent": C_ENT,
                      "pool": C_POOL}[domain]])

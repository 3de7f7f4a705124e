"""The generator's in-memory chain: tables of transactions, inputs, outputs, addresses, wallets.

Everything the simulation knows lives in one ``Ledger`` named tuple of a few
2-D numpy tables (row = record, column = field, named by the constants below),
so numba kernels and Python code (crime cases, CoinJoin rounds) share it.  Few
wide tables rather than many columns keep numba's compile time down: every call
passes the tuple, and each member array costs IR at every call site.

Ids are creation order: tx ids, output ids and address ids are dense and never
reused.  A *pool* is one wallet's set of spendable outputs, kept as a doubly
linked list through the outputs' NEXT/PREV columns (oldest first), with its
count and sum, so coin selection and removal are O(1) per coin.

An output enters its pool only when the block that created it is closed
(coinbase outputs after 100 more blocks), so a block never spends its own
outputs and txids can be computed block by block.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# --- address types (internal codes) ---
AT_P2PKH, AT_P2SH_P2WPKH, AT_P2WPKH, AT_P2TR, AT_P2WSH = 0, 1, 2, 3, 4
AT_NAMES = ("p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr", "p2wsh-2of3")

# --- output flags ---
OF_CHANGE = 1        # value returned to the spending wallet in a tx that also paid someone
OF_COINBASE = 2
OF_OPRETURN = 4      # zero-value data carrier, never spendable
OF_SPENT = 8
OF_RELEASED = 16     # in its pool (spendable)
OF_HANDOVER = 32     # a chip whose key the mixer handed to a customer

# --- tx kinds (stored in the answer key's tx table; never renumber) ---
TX_KINDS = (
    "coinbase", "payment", "self_transfer", "exchange_withdrawal", "exchange_batch_withdrawal",
    "exchange_sweep", "exchange_to_cold", "exchange_from_cold", "processor_settlement",
    "pool_payout", "gambling_payout", "p2p_trade", "wasabi1.0", "wasabi1.1", "wasabi2",
    "whirlpool_tx0", "whirlpool_mix", "joinmarket", "chip_creation", "mixer_sweep",
    "chip_spend", "crime", "consolidation", "batch_payment", "market_withdrawal", "mixer_deposit",
)
TXK = {name: i for i, name in enumerate(TX_KINDS)}
COINJOIN_KINDS = ("wasabi1.0", "wasabi1.1", "wasabi2", "whirlpool_mix", "joinmarket")

# --- entity kinds ---
ENTITY_KINDS = (
    "wallet", "exchange", "mining_pool", "merchant", "payment_processor", "gambling",
    "p2p_trader", "mixer", "coinjoin_coordinator", "criminal", "darknet_market",
)
EK = {name: i for i, name in enumerate(ENTITY_KINDS)}

# counters in ``Ledger.ctr``; slot 15 holds the scenario key (keys.C_KEY)
C_TX, C_IN, C_OUT, C_ADDR, C_ENT, C_POOL, C_HEIGHT, C_DERIVED = 0, 1, 2, 3, 4, 5, 6, 7

# --- columns ---
# tx
T_IN0, T_NIN, T_OUT0, T_NOUT, T_VER, T_LOCK, T_SEQ, T_BLOCK, T_KIND, T_ENT, T_FEE, T_LOWR = range(12)
# out
O_VALUE, O_ADDR, O_TX, O_FLAGS, O_SPENT, O_POOL, O_NEXT, O_PREV = range(8)
# addr
A_TYPE, A_ENT, A_ISSUER, A_USES, A_POOL = range(5)
# ent
E_KIND, E_ATYPE, E_SW, E_POOL, E_POOL2, E_POOL3, E_ADDR, E_HOME, E_DEP, E_FLAGS = range(10)
# pool
P_HEAD, P_TAIL, P_N, P_SUM, P_ENT = range(5)

_TABLES = {
    # name: (dtype, domain, width, fill per column or scalar)
    "tx": (np.int64, "tx", 12, 0),
    "txh": (np.uint8, "tx", 32, 0),
    "inp": (np.int64, "in", None, 0),
    "out": (np.int64, "out", 8, (0, 0, 0, 0, -1, -1, -1, -1)),
    "addr": (np.int64, "addr", 5, (0, 0, -1, 0, -1)),
    "aprog": (np.uint8, "addr", 32, 0),
    "ent": (np.int64, "ent", 10, (0, 0, 0, -1, -1, -1, -1, -1, -1, 0)),
    "entf": (np.float64, "ent", None, 0.0),
    "pool": (np.int64, "pool", 5, (-1, -1, 0, 0, -1)),
}
_COUNTER = {"tx": C_TX, "in": C_IN, "out": C_OUT, "addr": C_ADDR, "ent": C_ENT, "pool": C_POOL}


class Ledger(NamedTuple):
    """Chain state shared by numba kernels and Python builders (see the column constants)."""

    ctr: np.ndarray     # int64[16]
    tx: np.ndarray      # int64[T, 12]
    txh: np.ndarray     # uint8[T, 32]: txid, internal byte order, set when the block is built
    inp: np.ndarray     # int64[I]: the output each input spends
    out: np.ndarray     # int64[O, 8]
    addr: np.ndarray    # int64[A, 5]
    aprog: np.ndarray   # uint8[A, 32]: witness program / hash (20 or 32 bytes used)
    ent: np.ndarray     # int64[E, 10]
    entf: np.ndarray    # float64[E]: probability that change goes back to an input address
    pool: np.ndarray    # int64[P, 5]


def _alloc(name: str, rows: int) -> np.ndarray:
    dtype, _, width, fill = _TABLES[name]
    shape = (rows,) if width is None else (rows, width)
    arr = np.zeros(shape, dtype)
    if isinstance(fill, tuple):
        arr[:] = np.array(fill, dtype)
    elif fill:
        arr[:] = fill
    return arr


def new_ledger(tx: int, inp: int, out: int, addr: int, ent: int, pool: int) -> Ledger:
    """An empty ledger with the given capacities."""
    caps = {"tx": tx, "in": inp, "out": out, "addr": addr, "ent": ent, "pool": pool}
    return Ledger(ctr=np.zeros(16, np.int64),
                  **{name: _alloc(name, caps[spec[1]]) for name, spec in _TABLES.items()})


def capacity(L: Ledger, domain: str) -> int:
    return len({"tx": L.tx, "in": L.inp, "out": L.out, "addr": L.addr, "ent": L.ent,
                "pool": L.pool}[domain])


def ensure_capacity(L: Ledger, tx: int = 0, inp: int = 0, out: int = 0, addr: int = 0,
                    ent: int = 0, pool: int = 0) -> Ledger:
    """Return ``L``, or a copy with larger tables, so that the given numbers of new rows fit."""
    need = {"tx": tx, "in": inp, "out": out, "addr": addr, "ent": ent, "pool": pool}
    grow = {}
    for d, n in need.items():
        used = int(L.ctr[_COUNTER[d]])
        cap = capacity(L, d)
        if used + n > cap:
            grow[d] = max(int((used + n) * 1.5) + 1024, cap * 3 // 2)
    if not grow:
        return L
    new = {}
    for name, (_, dom, _, _) in _TABLES.items():
        arr = getattr(L, name)
        if dom in grow:
            big = _alloc(name, grow[dom])
            big[:len(arr)] = arr
            arr = big
        new[name] = arr
    return Ledger(ctr=L.ctr, **new)


def used(L: Ledger, domain: str) -> int:
    """How many rows of ``domain`` (tx, in, out, addr, ent, pool) are in use."""
    return int(L.ctr[_COUNTER[domain]])

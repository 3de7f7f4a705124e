"""Figures of a generated economy, side by side with the published ones it is calibrated on.

Computed over the economy's transactions (bootstrap and coinbase-only blocks left
out) and written into the answer key as ``realism``, so every chain carries its
own comparison.  Fee rates use vsizes estimated from the script types (the
generator's dummy signatures make them exact to within a few vbytes).
"""

from __future__ import annotations

import numpy as np

from chaintrail.scenario import params as P
from chaintrail.scenario.answer_tables import SCRIPT_TYPE
from chaintrail.scenario.ledger import (
    A_TYPE,
    C_OUT,
    C_TX,
    O_ADDR,
    O_FLAGS,
    O_TX,
    O_VALUE,
    OF_CHANGE,
    OF_COINBASE,
    OF_OPRETURN,
    T_BLOCK,
    T_FEE,
    T_IN0,
    T_KIND,
    T_LOCK,
    T_NIN,
    T_NOUT,
    T_SEQ,
    T_VER,
    TXK,
)
from chaintrail.scenario.wallet_ops import IN_WEIGHT, OUT_WEIGHT, TX_OVERHEAD_WEIGHT

_CJ = [TXK[k] for k in ("wasabi1.0", "wasabi1.1", "wasabi2", "whirlpool_mix", "joinmarket")]


def _share(mask: np.ndarray) -> float:
    return round(float(mask.mean()), 4) if mask.size else 0.0


def economy_stats(sc, first_height: int) -> dict:
    """The generated figures for blocks from ``first_height`` on."""
    L = sc.chain.L
    nt, no = int(L.ctr[C_TX]), int(L.ctr[C_OUT])
    txs = L.tx[:nt]
    sel = (txs[:, T_BLOCK] >= first_height) & (txs[:, T_KIND] != TXK["coinbase"])
    t_ids = np.flatnonzero(sel)
    if len(t_ids) == 0:
        return {}
    nin, nout = txs[t_ids, T_NIN], txs[t_ids, T_NOUT]
    outs = np.flatnonzero((L.out[:no, O_FLAGS] & (OF_COINBASE | OF_OPRETURN)) == 0)
    outs = outs[sel[L.out[outs, O_TX]]]
    types = L.addr[L.out[outs, O_ADDR], A_TYPE]
    type_share = {SCRIPT_TYPE[k]: _share(types == k) for k in SCRIPT_TYPE}
    # change behaviour
    ch_o = outs[(L.out[outs, O_FLAGS] & OF_CHANGE) != 0]
    ch_tx = L.out[ch_o, O_TX]
    first_in = L.inp[txs[ch_tx, T_IN0]]
    in_addr = L.out[first_in, O_ADDR]
    ch_addr = L.out[ch_o, O_ADDR]
    has_change = np.zeros(nt, bool)
    has_change[ch_tx] = True
    # fee rates from estimated weights
    in_w = np.zeros(nt, np.int64)
    np.add.at(in_w, np.repeat(np.arange(nt), txs[:, T_NIN]), IN_WEIGHT[L.addr[L.out[L.inp[:int(txs[:, T_NIN].sum())], O_ADDR], A_TYPE]])
    out_w = np.zeros(nt, np.int64)
    real = np.flatnonzero(L.out[:no, O_ADDR] >= 0)
    np.add.at(out_w, L.out[real, O_TX], OUT_WEIGHT[L.addr[L.out[real, O_ADDR], A_TYPE]])
    vsize = (TX_OVERHEAD_WEIGHT + in_w[t_ids] + out_w[t_ids]) / 4.0
    feerate = txs[t_ids, T_FEE] / vsize
    pay = outs[(L.out[outs, O_FLAGS] & OF_CHANGE) == 0]
    pay = pay[np.isin(L.tx[L.out[pay, O_TX], T_KIND], [TXK["payment"], TXK["batch_payment"]])]
    vals = L.out[pay, O_VALUE]
    heights = np.array([b.time for b in sc.blocks if b.height >= first_height], np.int64)
    return {
        "transactions": len(t_ids),
        "output_type_share": type_share,
        "inputs_per_tx_mean": round(float(nin.mean()), 3),
        "outputs_per_tx_mean": round(float(nout.mean()), 3),
        "tx_1in_2out_share": _share((nin == 1) & (nout == 2)),
        "tx_1in_1out_share": _share((nin == 1) & (nout == 1)),
        "tx_many_in_1out_share": _share((nin >= 3) & (nout == 1)),
        "tx_1in_many_out_share": _share((nin == 1) & (nout >= 3)),
        "tx_with_change_share": _share(has_change[t_ids]),
        "change_to_input_address_share": _share(ch_addr == in_addr),
        "change_same_type_as_input_share": _share(L.addr[ch_addr, A_TYPE] == L.addr[in_addr, A_TYPE]),
        "payments_round_in_btc_share": _share(vals % 100_000 == 0),
        "tx_version2_share": _share(txs[t_ids, T_VER] == 2),
        "rbf_signalling_share": _share(txs[t_ids, T_SEQ] < 0xFFFFFFFE),
        "locktime_set_share": _share(txs[t_ids, T_LOCK] > 0),
        "coinjoin_share": _share(np.isin(txs[t_ids, T_KIND], _CJ)),
        "median_feerate_sat_vb": round(float(np.median(feerate)), 2),
        "feerate_p10_p90_sat_vb": [round(float(np.percentile(feerate, 10)), 2),
                                   round(float(np.percentile(feerate, 90)), 2)],
        "mean_block_interval_s": round(float(np.diff(heights).mean()), 1) if len(heights) > 1 else None,
    }


def realism(sc, first_height: int) -> dict:
    """Generated figures next to the published targets (``params.PUBLISHED``)."""
    return {"generated": economy_stats(sc, first_height), "published": P.PUBLISHED,
            "sources": "see chaintrail.scenario.params (module docstring)"}

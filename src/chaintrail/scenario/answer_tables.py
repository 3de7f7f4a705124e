"""The answer key's bulk tables, built column-wise so that tens of millions of rows stay fast.

* ``addresses``: address, script_type, entity_id (controller), issuer_entity_id, wallet (the part of
  the issuer's wallet it was made in: main (an exchange's or mixer's hot wallet), deposit, cold, other)
* ``entities``: entity_id, kind, name, role, cases
* ``txs``: txid, height, kind, entity_id, n_in, n_out, fee_sat, change_vout, n_change,
  coinjoin (protocol or ""), mixer
* ``coinjoin_participants``: txid, protocol, participant, entity_id, side (input / output /
  change / coordinator_fee), outpoint
"""

from __future__ import annotations

import binascii

import numpy as np
import pyarrow as pa

from chaintrail.chains.bitcoin.address_batch import (
    encode_base58check_batch,
    encode_segwit_batch,
)
from chaintrail.chains.bitcoin.network import REGTEST
from chaintrail.scenario.ledger import (
    A_ENT,
    A_ISSUER,
    A_POOL,
    A_TYPE,
    AT_P2PKH,
    AT_P2SH_P2WPKH,
    AT_P2TR,
    AT_P2WPKH,
    AT_P2WSH,
    C_ADDR,
    C_ENT,
    C_OUT,
    C_TX,
    E_KIND,
    E_POOL,
    E_POOL2,
    E_POOL3,
    ENTITY_KINDS,
    O_FLAGS,
    O_TX,
    OF_CHANGE,
    T_BLOCK,
    T_ENT,
    T_FEE,
    T_KIND,
    T_NIN,
    T_NOUT,
    T_OUT0,
    TX_KINDS,
    TXK,
)
from chaintrail.scenario.wallet_ops import derive_pending

MIXER_TX_KINDS = ("chip_creation", "mixer_sweep", "mixer_deposit", "chip_spend", "whirlpool_tx0")
SCRIPT_TYPE = {AT_P2PKH: "p2pkh", AT_P2SH_P2WPKH: "p2sh", AT_P2WPKH: "p2wpkh", AT_P2TR: "p2tr",
               AT_P2WSH: "p2wsh"}
_CHUNK = 2_000_000   # rows per encoder call (Arrow's 2 GiB string buffers)


def address_array(L) -> pa.StringArray:
    """Regtest address string of every ledger address, in id order."""
    derive_pending(L)
    n = int(L.ctr[C_ADDR])
    types = L.addr[:n, A_TYPE]
    parts, order = [], []
    b58 = np.flatnonzero((types == AT_P2PKH) | (types == AT_P2SH_P2WPKH))
    for k in range(0, len(b58), _CHUNK):
        idx = b58[k:k + _CHUNK]
        ver = np.where(types[idx] == AT_P2PKH, REGTEST.p2pkh_prefix, REGTEST.p2sh_prefix).astype(np.uint8)
        parts.append(encode_base58check_batch(ver, np.ascontiguousarray(L.aprog[idx, :20])))
        order.append(idx)
    sw = np.flatnonzero((types != AT_P2PKH) & (types != AT_P2SH_P2WPKH))
    for k in range(0, len(sw), _CHUNK):
        idx = sw[k:k + _CHUNK]
        t = types[idx]
        progs = np.zeros((len(idx), 40), np.uint8)
        progs[:, :32] = L.aprog[idx]
        parts.append(encode_segwit_batch(REGTEST.hrp, np.where(t == AT_P2TR, 1, 0).astype(np.uint8), progs,
                                         np.where(t == AT_P2WPKH, 20, 32).astype(np.uint8)))
        order.append(idx)
    if not parts:
        return pa.array([], pa.string())
    allv = pa.concat_arrays(parts)
    pos = np.empty(n, np.int64)
    pos[np.concatenate(order)] = np.arange(n)
    return allv.take(pa.array(pos))


def txid_array(L, n: int) -> pa.StringArray:
    """Display-hex txids of ledger txs 0..n-1."""
    raw = np.ascontiguousarray(L.txh[:n, ::-1]).tobytes()
    hexed = np.frombuffer(binascii.hexlify(raw), dtype="S64")
    return pa.array(hexed, pa.binary(64)).cast(pa.string())


WALLET_PARTS = ("main", "deposit", "cold", "other")


def wallet_parts(L) -> np.ndarray:
    """Per address: index into WALLET_PARTS of the issuer's pool it was made in."""
    na = int(L.ctr[C_ADDR])
    iss = L.addr[:na, A_ISSUER]
    iss = np.where(iss >= 0, iss, L.addr[:na, A_ENT])
    pool = L.addr[:na, A_POOL]
    part = np.full(na, 3, np.int32)
    for k, col in ((2, E_POOL3), (1, E_POOL2), (0, E_POOL)):
        part[(pool >= 0) & (pool == L.ent[iss, col])] = k
    return part


def _dict_column(codes: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(list(names)))


def change_columns(L) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(change output ids, their tx, their vout, per-tx first change vout or -1)."""
    nt, no = int(L.ctr[C_TX]), int(L.ctr[C_OUT])
    change_o = np.flatnonzero((L.out[:no, O_FLAGS] & OF_CHANGE) != 0)
    ctx = L.out[change_o, O_TX]
    cvout = change_o - L.tx[ctx, T_OUT0]
    first_vout = np.full(nt, -1, np.int64)
    uniq, first = np.unique(ctx, return_index=True)
    first_vout[uniq] = cvout[first]
    return change_o, ctx, cvout, first_vout


def build_tables(ch, addrs: pa.StringArray, txids: pa.StringArray) -> dict[str, pa.Table]:
    L = ch.L
    na, nt, ne = int(L.ctr[C_ADDR]), int(L.ctr[C_TX]), int(L.ctr[C_ENT])
    _, ctx, _, first_vout = change_columns(L)
    kinds = L.tx[:nt, T_KIND]
    cj_proto = np.zeros(nt, np.int32)
    protos = ("",) + tuple(sorted({r["protocol"] for r in ch.coinjoins.values()}))
    for t, rec in ch.coinjoins.items():
        cj_proto[t] = protos.index(rec["protocol"])
    st_names = tuple(SCRIPT_TYPE[i] for i in range(len(SCRIPT_TYPE)))
    ent_kind = L.ent[:ne, E_KIND]
    infos = [ch.entities.get(e) for e in range(ne)]
    tables = {
        "addresses": pa.table({
            "address": addrs,
            "script_type": _dict_column(L.addr[:na, A_TYPE], st_names),
            "entity_id": pa.array(L.addr[:na, A_ENT], pa.int64()),
            "issuer_entity_id": pa.array(L.addr[:na, A_ISSUER], pa.int64()),
            "wallet": _dict_column(wallet_parts(L), WALLET_PARTS),
        }),
        "entities": pa.table({
            "entity_id": pa.array(np.arange(ne), pa.int64()),
            "kind": _dict_column(ent_kind, ENTITY_KINDS),
            "name": pa.array([i.name if i else f"Wallet {e}" for e, i in enumerate(infos)], pa.string()),
            "role": pa.array([i.role if i else "background" for i in infos], pa.string()),
            "cases": pa.array([",".join(i.cases) if i else "" for i in infos], pa.string()),
        }),
        "txs": pa.table({
            "txid": txids,
            "height": pa.array(L.tx[:nt, T_BLOCK], pa.int32()),
            "kind": _dict_column(kinds, TX_KINDS),
            "entity_id": pa.array(L.tx[:nt, T_ENT], pa.int64()),
            "n_in": pa.array(L.tx[:nt, T_NIN], pa.int32()),
            "n_out": pa.array(L.tx[:nt, T_NOUT], pa.int32()),
            "fee_sat": pa.array(L.tx[:nt, T_FEE], pa.int64()),
            "change_vout": pa.array(first_vout, pa.int32()),
            "n_change": pa.array(np.bincount(ctx, minlength=nt), pa.int32()),
            "coinjoin": _dict_column(cj_proto, protos),
            "mixer": pa.array(np.isin(kinds, [TXK[k] for k in MIXER_TX_KINDS]), pa.bool_()),
        }),
    }
    rows: dict[str, list] = {"txid": [], "protocol": [], "participant": [], "entity_id": [], "side": [],
                             "outpoint": []}
    for t in sorted(ch.coinjoins):
        rec = ch.coinjoins[t]
        sides = [(k, p["entity"], side, o) for k, p in enumerate(rec["participants"])
                 for side in ("inputs", "outputs", "change") for o in p[side]]
        sides += [(-1, -1, "coordinator_fee", o) for o in rec["coordinator_outputs"]]
        for k, e, side, o in sides:
            rows["txid"].append(t)
            rows["protocol"].append(rec["protocol"])
            rows["participant"].append(k)
            rows["entity_id"].append(e)
            rows["side"].append(side.rstrip("s") if side != "change" else side)
            rows["outpoint"].append(o)
    ops = np.asarray(rows["outpoint"], np.int64)
    op_tx = L.out[ops, O_TX] if len(ops) else ops
    tables["coinjoin_participants"] = pa.table({
        "txid": txids.take(pa.array(np.asarray(rows["txid"], np.int64))),
        "protocol": pa.array(rows["protocol"], pa.string()),
        "participant": pa.array(rows["participant"], pa.int32()),
        "entity_id": pa.array(rows["entity_id"], pa.int64()),
        "side": pa.array(rows["side"], pa.string()),
        "outpoint_txid": txids.take(pa.array(op_tx)),
        "outpoint_vout": pa.array(ops - L.tx[op_tx, T_OUT0] if len(ops) else ops, pa.int32()),
    })
    return tables

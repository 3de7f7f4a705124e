"""The answer key: ground truth for every generated chain, as ``answer_key.json`` plus Parquet tables.

Layout (format ``chaintrail-answer-key/1``), next to the blk/rev files:

* ``answer_key.json`` - generator settings, chain totals, blocks (hash, merkle root),
  entities, CoinJoin and mixer transactions, laundering roles, mixer hand-overs and
  the cases with their exact flows (see ``taint`` for the attribution rule).  When
  the chain is small (at most ``INLINE_LIMIT`` addresses / change outputs) every
  entity's addresses and every change output are inlined too.
* ``answer_key/addresses.parquet`` - address, script_type, entity_id (controller: the
  entity that spends from it), issuer_entity_id (who created it; differs for handed-over chips).
* ``answer_key/txs.parquet`` - every transaction: txid, height, kind, entity_id
  (initiator), n_in, n_out, fee_sat, change_vout (-1 if none; the first if several),
  n_change, coinjoin protocol ("" if none), mixer (bool).

Txids, block hashes and merkle roots are display hex.  ``load_answer_key`` reads it all back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.chains.bitcoin.address import script_address
from chaintrail.chains.bitcoin.address_batch import encode_base58check_batch, encode_segwit_batch
from chaintrail.chains.bitcoin.network import REGTEST
from chaintrail.scenario import taint as taint_mod
from chaintrail.scenario.blocks import subsidy
from chaintrail.scenario.ledger import (
    A_ENT,
    A_ISSUER,
    A_TYPE,
    AT_NAMES,
    AT_P2PKH,
    AT_P2SH_P2WPKH,
    AT_P2TR,
    AT_P2WPKH,
    AT_P2WSH,
    C_ADDR,
    C_IN,
    C_OUT,
    C_TX,
    COINJOIN_KINDS,
    O_ADDR,
    O_FLAGS,
    O_SPENT,
    O_TX,
    O_VALUE,
    OF_CHANGE,
    OF_OPRETURN,
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

FORMAT = "chaintrail-answer-key/1"
INLINE_LIMIT = 100_000
MIXER_TX_KINDS = ("chip_creation", "mixer_sweep", "mixer_deposit", "chip_spend", "whirlpool_tx0")
SCRIPT_TYPE = {AT_P2PKH: "p2pkh", AT_P2SH_P2WPKH: "p2sh", AT_P2WPKH: "p2wpkh", AT_P2TR: "p2tr",
               AT_P2WSH: "p2wsh"}


def address_strings(L) -> list[str]:
    """Regtest address string of every ledger address, in id order."""
    derive_pending(L)
    n = int(L.ctr[C_ADDR])
    types = L.addr[:n, A_TYPE]
    prog = L.aprog[:n]
    out = np.empty(n, dtype=object)
    b58 = np.flatnonzero((types == AT_P2PKH) | (types == AT_P2SH_P2WPKH))
    if len(b58):
        ver = np.where(types[b58] == AT_P2PKH, REGTEST.p2pkh_prefix, REGTEST.p2sh_prefix).astype(np.uint8)
        out[b58] = encode_base58check_batch(ver, np.ascontiguousarray(prog[b58, :20])).to_pylist()
    sw = np.flatnonzero((types != AT_P2PKH) & (types != AT_P2SH_P2WPKH))
    if len(sw):
        t = types[sw]
        witver = np.where(t == AT_P2TR, 1, 0).astype(np.uint8)
        lengths = np.where(t == AT_P2WPKH, 20, 32).astype(np.uint8)
        progs = np.zeros((len(sw), 40), np.uint8)
        progs[:, :32] = prog[sw]
        out[sw] = encode_segwit_batch(REGTEST.hrp, witver, progs, lengths).to_pylist()
    return out.tolist()


def _hex(L, t: int) -> str:
    return L.txh[t][::-1].tobytes().hex()


def _outpoint(L, o: int) -> str:
    t = int(L.out[o, O_TX])
    return f"{_hex(L, t)}:{o - int(L.tx[t, T_OUT0])}"


def totals(sc) -> dict:
    """Chain-wide satoshi and count totals, genesis block included."""
    L = sc.chain.L
    nt, no = int(L.ctr[C_TX]), int(L.ctr[C_OUT])
    genesis_value = 50 * 100_000_000
    out_value = int(L.out[:no, O_VALUE].sum())
    spent = L.out[:no, O_SPENT] >= 0
    kinds = L.tx[:nt, T_KIND]
    cb = kinds == TXK["coinbase"]
    coinbase_value = int(sum(int(L.out[int(L.tx[t, T_OUT0]):int(L.tx[t, T_OUT0]) + int(L.tx[t, T_NOUT]), O_VALUE].sum())
                             for t in np.flatnonzero(cb)))
    return {
        "blocks": len(sc.blocks) + 1,
        "height": len(sc.blocks),
        "txs": nt + 1,
        "inputs": int(L.ctr[C_IN]),
        "coinbase_inputs": int(cb.sum()) + 1,
        "outputs": no + 1,
        "op_return_outputs": int(((L.out[:no, O_FLAGS] & OF_OPRETURN) != 0).sum()),
        "total_output_value_sat": out_value + genesis_value,
        "coinbase_value_sat": coinbase_value + genesis_value,
        "subsidy_sat": sum(subsidy(h) for h in range(1, len(sc.blocks) + 1)) + genesis_value,
        "fees_sat": int(L.tx[:nt, T_FEE][~cb].sum()),
        "spent_value_sat": int(L.out[:no, O_VALUE][spent].sum()),
        "unspent_outputs": int((~spent).sum()) + 1,
        "unspent_value_sat": int(L.out[:no, O_VALUE][~spent].sum()) + genesis_value,
        "notes": ("Genesis included: its 50 BTC output can never be spent and counts as unspent. "
                  "Every block's coinbase claims exactly subsidy + fees; inputs counts exclude coinbase "
                  "inputs; outputs include OP_RETURN witness commitments (value 0)."),
    }


def _case_json(sc, case, flow, addrs: list[str]) -> dict:
    L, ents = sc.chain.L, sc.chain.entities

    def row(r: dict) -> dict:
        a = int(L.out[r["out"], O_ADDR])
        e = r["entity"]
        d = {"txid": _hex(L, r["tx"]), "vout": r["vout"], "address": addrs[a] if a >= 0 else None,
             "entity": e, "entity_name": ents[e].name if e >= 0 else None,
             "entity_kind": ents[e].kind if e >= 0 else None, "amount_sat": r["amount_sat"],
             "output_value_sat": r["value_sat"], "hops": r["hops"], "height": r["height"]}
        if "category" in r:
            d["category"] = r["category"]
        return d

    vp = []
    for o in case.victim_payments:
        t = int(L.out[o, O_TX])
        vp.append({"txid": _hex(L, t), "vout": o - int(L.tx[t, T_OUT0]), "address": addrs[int(L.out[o, O_ADDR])],
                   "value_sat": int(L.out[o, O_VALUE]), "payer_entity": int(L.tx[t, T_ENT]),
                   "height": int(L.tx[t, T_BLOCK])})
    eps = [row(r) for r in sorted(flow.endpoints, key=lambda r: (r["tx"], r["vout"]))]
    by_cat = {c: sum(e["amount_sat"] for e in eps if e["category"] == c) for c in ("cash_out", "service", "wallet")}
    unspent = [row(r) for r in flow.unspent]
    custody = [row(r) for r in flow.in_custody]
    return {
        "id": case.id, "kind": case.kind, "description": case.description,
        "perpetrators": [{"entity": e, "name": ents[e].name, "kind": ents[e].kind} for e in case.perpetrators],
        "victims": [{"entity": e, "name": ents[e].name, "kind": ents[e].kind} for e in case.victims],
        "victim_payments": vp,
        "exchange_accounts": [{"exchange": a["exchange"], "exchange_name": ents[a["exchange"]].name,
                               "account_holder": a["customer"], "deposit_address": addrs[a["address"]]}
                              for a in case.deposit_accounts],
        "mixer_handovers": [{"height": h["height"], "customer": h["customer"],
                             "deposits": [_outpoint(L, d) for d in h["deposits"]],
                             "chips": [_outpoint(L, c) for c in h["chips"]], "withheld_sat": h["fee_sat"]}
                            for h in sc.chain.handovers if h["customer"] in case.perpetrators],
        "source_total_sat": flow.source_total,
        "laundered_sat": by_cat["cash_out"],
        "endpoint_totals_sat": by_cat,
        "fees_sat": flow.fees,
        "unspent_sat": sum(u["amount_sat"] for u in unspent),
        "in_custody_sat": sum(u["amount_sat"] for u in custody),
        "cash_out_endpoints": [e for e in eps if e["category"] == "cash_out"],
        "other_endpoints": [e for e in eps if e["category"] != "cash_out"],
        "unspent": unspent,
        "in_custody": custody,
        "notes": case.notes,
    }


def build_key(sc) -> tuple[dict, dict[str, pa.Table]]:
    """The JSON document and the Parquet tables of scenario ``sc``."""
    ch = sc.chain
    L = ch.L
    addrs = address_strings(L)
    na, nt, no = int(L.ctr[C_ADDR]), int(L.ctr[C_TX]), int(L.ctr[C_OUT])
    txids = [_hex(L, t) for t in range(nt)]
    # change outputs per tx
    change_o = np.flatnonzero((L.out[:no, O_FLAGS] & OF_CHANGE) != 0)
    ctx = L.out[change_o, O_TX]
    cvout = change_o - L.tx[ctx, T_OUT0]
    change_vout = np.full(nt, -1, np.int64)
    n_change = np.bincount(ctx, minlength=nt)
    first = np.unique(ctx, return_index=True)
    change_vout[first[0]] = cvout[first[1]]
    cj_proto = [""] * nt
    for t, rec in ch.coinjoins.items():
        cj_proto[t] = rec["protocol"]
    kinds = L.tx[:nt, T_KIND]
    mixer_codes = [TXK[k] for k in MIXER_TX_KINDS]
    is_mixer = np.isin(kinds, mixer_codes)
    tables = {
        "addresses": pa.table({
            "address": pa.array(addrs, pa.string()),
            "script_type": pa.array([SCRIPT_TYPE[int(x)] for x in L.addr[:na, A_TYPE]], pa.string()),
            "entity_id": pa.array(L.addr[:na, A_ENT], pa.int64()),
            "issuer_entity_id": pa.array(L.addr[:na, A_ISSUER], pa.int64()),
        }),
        "txs": pa.table({
            "txid": pa.array(txids, pa.string()),
            "height": pa.array(L.tx[:nt, T_BLOCK], pa.int32()),
            "kind": pa.array([TX_KINDS[int(k)] for k in kinds], pa.string()),
            "entity_id": pa.array(L.tx[:nt, T_ENT], pa.int64()),
            "n_in": pa.array(L.tx[:nt, T_NIN], pa.int32()),
            "n_out": pa.array(L.tx[:nt, T_NOUT], pa.int32()),
            "fee_sat": pa.array(L.tx[:nt, T_FEE], pa.int64()),
            "change_vout": pa.array(change_vout, pa.int32()),
            "n_change": pa.array(n_change, pa.int32()),
            "coinjoin": pa.array(cj_proto, pa.string()),
            "mixer": pa.array(is_mixer, pa.bool_()),
        }),
    }
    by_ent: dict[int, list[str]] = {}
    for a in range(na):
        by_ent.setdefault(int(L.addr[a, A_ENT]), []).append(addrs[a])
    inline = na <= INLINE_LIMIT
    entities = []
    for info in ch.entities:
        d = {"id": info.id, "kind": info.kind, "name": info.name, "role": info.role, "cases": info.cases,
             "address_count": len(by_ent.get(info.id, []))}
        if inline:
            d["addresses"] = by_ent.get(info.id, [])
        entities.append(d)
    roles = [{"txid": txids[t], "case": c, "role": r} for t in sorted(ch.tx_roles) for c, r in ch.tx_roles[t]]
    coinjoins = []
    for t in sorted(ch.coinjoins):
        rec = ch.coinjoins[t]
        coinjoins.append({
            "txid": txids[t], "protocol": rec["protocol"], "height": int(L.tx[t, T_BLOCK]),
            "participants": [{"entity": p["entity"], "inputs": [_outpoint(L, o) for o in p["inputs"]],
                              "outputs": [_outpoint(L, o) for o in p["outputs"]],
                              "change": [_outpoint(L, o) for o in p["change"]]} for p in rec["participants"]],
            "coordinator_fee_outputs": [_outpoint(L, o) for o in rec["coordinator_outputs"]]})
    mixer_txs = [{"txid": txids[t], "kind": TX_KINDS[int(kinds[t])], "height": int(L.tx[t, T_BLOCK])}
                 for t in np.flatnonzero(is_mixer)]
    cases = [_case_json(sc, c, taint_mod.attribute(ch, c, ch.handovers), addrs) for c in sc.cases]
    ghdr, _ = sc.genesis
    blocks = [{"height": 0, "hash": ghdr.hash()[::-1].hex(), "merkle_root": ghdr.merkle_root[::-1].hex(),
               "n_tx": 1, "time": ghdr.time}]
    blocks += [{"height": b.height, "hash": b.hash[::-1].hex(), "merkle_root": b.merkle_root[::-1].hex(),
                "n_tx": b.n_tx, "time": b.time} for b in sc.blocks]
    doc = {
        "format": FORMAT,
        "generator": {"seed": sc.seed, "kind": sc.kind, "scale": sc.scale, "network": "regtest"},
        "attribution_rule": taint_mod.__doc__.split("The rule", 1)[1].strip(),
        "totals": totals(sc),
        "files": {"addresses": "answer_key/addresses.parquet", "txs": "answer_key/txs.parquet"},
        "address_types": {SCRIPT_TYPE[i]: AT_NAMES[i] for i in SCRIPT_TYPE},
        "entities": entities,
        "coinjoin_txs": coinjoins,
        "coinjoin_protocols": list(COINJOIN_KINDS),
        "mixer_txs": mixer_txs,
        "laundering_txs": roles,
        "cases": cases,
        "blocks": blocks,
        "genesis_output": {"address": script_address(sc.genesis[1].vout[0].script, REGTEST)[1],
                           "value_sat": 50 * 100_000_000, "spendable": False},
    }
    if len(change_o) <= INLINE_LIMIT:
        doc["change_outputs"] = [f"{txids[int(t)]}:{int(v)}" for t, v in zip(ctx, cvout)]
    return doc, tables


def write_answer_key(sc) -> Path:
    """Write ``answer_key.json`` and its tables into the scenario folder."""
    doc, tables = build_key(sc)
    side = sc.out_dir / "answer_key"
    side.mkdir(exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, side / f"{name}.parquet", compression="zstd")
    path = sc.out_dir / "answer_key.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    return path


def load_answer_key(folder: str | Path) -> dict:
    """Read ``answer_key.json`` with its tables attached as ``doc["tables"][name]`` (pyarrow)."""
    folder = Path(folder)
    doc = json.loads((folder / "answer_key.json").read_text())
    doc["tables"] = {name: pq.read_table(folder / rel) for name, rel in doc["files"].items()}
    return doc

"""The answer key: ground truth for every generated chain, as ``answer_key.json`` plus Parquet tables.

Layout (format ``chaintrail-answer-key/1``), next to the blk/rev files:

* ``answer_key.json`` - generator settings, chain totals, blocks (hash, merkle root),
  entities, CoinJoin and mixer transactions, laundering roles, mixer hand-overs and
  the cases with their exact flows (see ``taint`` for the attribution rule).  When
  the chain is small (at most ``INLINE_LIMIT`` addresses / change outputs) every
  entity's addresses and every change output are inlined too.
* ``answer_key/addresses.parquet`` - address, script_type, entity_id (controller: the
  entity that spends from it), issuer_entity_id (who created it; differs for handed-over chips).
* ``answer_key/entities.parquet`` - every entity: id, kind, name, role, cases (on large chains
  the JSON lists only services, perpetrators and victims).
* ``answer_key/txs.parquet`` - every transaction: txid, height, kind, entity_id
  (initiator), n_in, n_out, fee_sat, change_vout (-1 if none; the first if several),
  n_change, coinjoin protocol ("" if none), mixer (bool).
* ``answer_key/coinjoin_participants.parquet`` - who put in and took out what in every
  CoinJoin (the JSON inlines this for case transactions, and for all on small chains).

``inline`` in the JSON says which lists are complete in the JSON itself.

Each case lists its victim payments, perpetrators, the exchange accounts they used,
the mixer hand-overs, and its flows under the attribution rule: every endpoint
output (txid, vout, address, entity, kind, category cash_out / service / wallet,
``amount_sat`` reached from the crime, the output's own value, and ``hops``, the
number of transactions and custody hand-overs between a victim payment and it),
the perpetrators' unspent outputs, the sats still in custody and the fees; the
sum of those equals ``source_total_sat`` exactly.  ``laundered_sat`` is the cash-out sum.

Txids, block hashes and merkle roots are display hex.  ``load_answer_key`` reads it all back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.chains.bitcoin.address import script_address
from chaintrail.chains.bitcoin.network import REGTEST
from chaintrail.scenario import taint as taint_mod
from chaintrail.scenario.answer_tables import (
    MIXER_TX_KINDS,
    address_array,
    build_tables,
    change_columns,
    txid_array,
)
from chaintrail.scenario.blocks import subsidy
from chaintrail.scenario.ledger import (
    A_ENT,
    C_ADDR,
    C_ENT,
    C_IN,
    C_OUT,
    C_TX,
    COINJOIN_KINDS,
    O_ADDR,
    O_FLAGS,
    O_SPENT,
    O_TX,
    O_VALUE,
    OF_OPRETURN,
    T_BLOCK,
    T_ENT,
    T_FEE,
    T_KIND,
    T_NOUT,
    T_OUT0,
    TX_KINDS,
    TXK,
)
from chaintrail.scenario.stats import realism

FORMAT = "chaintrail-answer-key/1"
INLINE_LIMIT = 100_000


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


def _generator(sc) -> dict:
    """Generator settings; a drawn behaviour profile is listed in full (the reference one is implied)."""
    gen = {"seed": sc.seed, "kind": sc.kind, "scale": sc.scale, "network": "regtest"}
    if sc.behaviour.mode != "reference":
        gen["behaviour"] = sc.behaviour.to_json()
    return gen


def _case_json(sc, case, flow, addrs: list[str]) -> dict:
    L = sc.chain.L
    info = sc.chain.info

    def row(r: dict) -> dict:
        a = int(L.out[r["out"], O_ADDR])
        e = r["entity"]
        d = {"txid": _hex(L, r["tx"]), "vout": r["vout"], "address": addrs[a] if a >= 0 else None,
             "entity": e, "entity_name": info(e).name if e >= 0 else None,
             "entity_kind": info(e).kind if e >= 0 else None, "amount_sat": r["amount_sat"],
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
        "perpetrators": [{"entity": e, "name": info(e).name, "kind": info(e).kind} for e in case.perpetrators],
        "victims": [{"entity": e, "name": info(e).name, "kind": info(e).kind} for e in case.victims],
        "victim_payments": vp,
        "exchange_accounts": [{"exchange": a["exchange"], "exchange_name": info(a["exchange"]).name,
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
    addr_arr = address_array(L)
    na, nt, ne = int(L.ctr[C_ADDR]), int(L.ctr[C_TX]), int(L.ctr[C_ENT])
    txid_arr = txid_array(L, nt)
    tables = build_tables(ch, addr_arr, txid_arr)

    class _Lazy(list):
        """Python strings on demand from an Arrow column."""

        def __init__(self, arr):
            super().__init__()
            self.arr = arr

        def __getitem__(self, i):
            return self.arr[int(i)].as_py()

    addrs = _Lazy(addr_arr)
    inline = na <= INLINE_LIMIT and ne <= INLINE_LIMIT
    ent_of = L.addr[:na, A_ENT]
    counts = np.bincount(ent_of, minlength=ne) if na else np.zeros(ne, np.int64)
    if inline:
        order = np.argsort(ent_of, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        addr_list = addr_arr.to_pylist()
    entities = []
    for e in range(ne):
        info = ch.entities.get(e)
        if not inline and (info is None or (info.kind == "wallet" and info.role == "background")):
            continue            # large chains: ordinary wallets only in entities.parquet
        info = info or ch.info(e)
        d = {"id": e, "kind": info.kind, "name": info.name, "role": info.role, "cases": info.cases,
             "address_count": int(counts[e])}
        if inline:
            d["addresses"] = [addr_list[a] for a in order[bounds[e]:bounds[e + 1]]]
        entities.append(d)
    txids = _Lazy(txid_arr)
    roles = [{"txid": txids[t], "case": c, "role": r} for t in sorted(ch.tx_roles) for c, r in ch.tx_roles[t]]
    case_txs = set(ch.tx_roles)
    n_cj_rows = tables["coinjoin_participants"].num_rows
    coinjoins = []
    for t in sorted(ch.coinjoins):
        rec = ch.coinjoins[t]
        d = {"txid": txids[t], "protocol": rec["protocol"], "height": int(L.tx[t, T_BLOCK]),
             "n_participants": len(rec["participants"])}
        if t in case_txs or n_cj_rows <= INLINE_LIMIT:
            d["participants"] = [{"entity": p["entity"], "inputs": [_outpoint(L, o) for o in p["inputs"]],
                                  "outputs": [_outpoint(L, o) for o in p["outputs"]],
                                  "change": [_outpoint(L, o) for o in p["change"]]} for p in rec["participants"]]
            d["coordinator_fee_outputs"] = [_outpoint(L, o) for o in rec["coordinator_outputs"]]
        coinjoins.append(d)
    kinds = L.tx[:nt, T_KIND]
    mixer = np.flatnonzero(np.isin(kinds, [TXK[k] for k in MIXER_TX_KINDS]))
    mixer_txs = ([{"txid": txids[t], "kind": TX_KINDS[int(kinds[t])], "height": int(L.tx[t, T_BLOCK])}
                  for t in mixer] if len(mixer) <= INLINE_LIMIT else None)
    cases = [_case_json(sc, c, taint_mod.attribute(ch, c, ch.handovers), addrs) for c in sc.cases]
    ghdr, _ = sc.genesis
    blocks = [{"height": 0, "hash": ghdr.hash()[::-1].hex(), "merkle_root": ghdr.merkle_root[::-1].hex(),
               "n_tx": 1, "time": ghdr.time}]
    blocks += [{"height": b.height, "hash": b.hash[::-1].hex(), "merkle_root": b.merkle_root[::-1].hex(),
                "n_tx": b.n_tx, "time": b.time} for b in sc.blocks]
    doc = {
        "format": FORMAT,
        "generator": _generator(sc),
        "attribution_rule": taint_mod.__doc__.split("The rule", 1)[1].strip(),
        "totals": totals(sc),
        "files": {name: f"answer_key/{name}.parquet" for name in tables},
        "inline": {"entities_complete": inline, "addresses": inline,
                   "change_outputs": None, "mixer_txs": mixer_txs is not None},
        "entities": entities,
        "coinjoin_txs": coinjoins,
        "coinjoin_protocols": list(COINJOIN_KINDS),
        "laundering_txs": roles,
        "cases": cases,
        "blocks": blocks,
        "realism": realism(sc, sc.first_economy_height),
        "genesis_output": {"address": script_address(sc.genesis[1].vout[0].script, REGTEST)[1],
                           "value_sat": 50 * 100_000_000, "spendable": False},
    }
    if mixer_txs is not None:
        doc["mixer_txs"] = mixer_txs
    change_o, ctx, cvout, _ = change_columns(L)
    doc["inline"]["change_outputs"] = len(change_o) <= INLINE_LIMIT
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

"""The Ethereum scenario's answer key, from the case ledger: ``answer_key.json`` plus Parquet tables beside it.

Everything here comes from what the generator did (``case_ledger``: the addresses it made, the amounts it
chose, its own receipts for positions, gas and executed swap amounts), never from reading the chain back
through chaintrail's analysis. Layout (format ``chaintrail-eth-answer-key/1``):

* ``answer_key.json``: chains, assets, the taint rules, entities (exchanges with every deposit address the
  world knows, desks, relayers, each case's perpetrator with its addresses), and per case: victims, stolen
  amounts per asset, its swaps, Tornado links, bridge legs, its payments into exchange deposit addresses, and
  ``reached``: per exchange and asset the true-flow amount and the haircut amount; the haircut endpoints and
  what stays in the case's hands. Then every Tornado link (all pool users, the economy's included) and every
  bridge leg.
* ``answer_key/addresses.parquet``: chain, address, entity, role, case, exchange, deposit_kind.
* ``answer_key/tornado_links.parquet``, ``bridge_legs.parquet``, ``swaps.parquet``, ``flows.parquet``
  (every recorded movement).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.scenario.eth.bridge import ETH as BRIDGE_ETH
from chaintrail.scenario.eth.bridge import LOCKED_EVENT, MINTED_EVENT
from chaintrail.scenario.eth.case_ledger import CHAIN_A, CHAIN_B, ETH, CaseLedger, position, receipt_of, tx_hash
from chaintrail.scenario.eth.case_taint import RULES, replay_events, run_case
from chaintrail.scenario.eth.tornado import DEPOSIT_EVENT, WITHDRAWAL_EVENT

FORMAT = "chaintrail-eth-answer-key/1"
TRUE_FLOW_RULE = (
    "True flow follows ownership: a case's coins are whatever its own addresses hold (proceeds and their swap "
    "outputs, its Tornado notes' withdrawals, its bridged mints). reached[exchange][asset].true_flow is the exact "
    "sum, in base units, of the case's own payments into that exchange's deposit addresses (or the desk), as "
    "sent: ETH by value (a forwarder passes it on to the hot wallet; counted at the deposit address), tokens by "
    "transfer amount. Gas money and exchange payouts the case received are its own coins too; they are not "
    "proceeds, so the haircut figures keep them apart.")


def _log_index(tx: object, signature: str, address: str | None = None) -> int | None:
    topic = event_topic(signature)
    for lg in receipt_of(tx)["logs"]:
        if lg["topics"] and lg["topics"][0] == topic and (address is None or lg["address"].lower() == address):
            return int(lg["logIndex"], 16)
    return None


def _assets(world) -> dict[str, dict]:
    out = {ETH: {"symbol": "ETH", "decimals": 18, "chain": CHAIN_A}, world.weth: {"symbol": "WETH", "decimals": 18,
                                                                               "chain": CHAIN_A}}
    for sym, token in world.stablecoins.items():
        out[token] = {"symbol": sym, "decimals": 6, "chain": CHAIN_A}
    if world.bridge is not None:
        for asset, wrapped in world.bridge.wrapped.items():
            base = out[ETH if asset == BRIDGE_ETH else asset]
            out[wrapped] = {"symbol": "b" + base["symbol"], "decimals": base["decimals"], "chain": CHAIN_B,
                            "bridged_from": ETH if asset == BRIDGE_ETH else asset}
    return out


def _tx_ref(tx: object) -> dict:
    block, index = position(tx)
    return {"tx": tx_hash(tx), "block": block, "index": index}


def tornado_links(ledger: CaseLedger) -> list[dict]:
    """Every deposit with its withdrawal (None while unwithdrawn), in deposit order."""
    rows = []
    for key, dep in ledger.tornado_deposits.items():
        wd = ledger.tornado_withdrawals.get(key)
        d = _tx_ref(dep.tx)
        row = {"pool": dep.pool, "asset": dep.asset, "denomination": str(dep.denomination),
               "commitment": dep.commitment, "nullifier_hash": dep.nullifier_hash, "depositor": dep.party,
               "deposit_tx": d["tx"], "deposit_block": d["block"],
               "deposit_log_index": _log_index(dep.tx, DEPOSIT_EVENT, dep.pool), "deposit_case": dep.case,
               "withdrawal_tx": None, "withdrawal_block": None, "withdrawal_log_index": None, "recipient": None,
               "relayer": None, "fee": None, "recipient_amount": None, "withdrawal_case": None}
        if wd is not None:
            w = _tx_ref(wd.tx)
            row.update({"withdrawal_tx": w["tx"], "withdrawal_block": w["block"],
                        "withdrawal_log_index": _log_index(wd.tx, WITHDRAWAL_EVENT, wd.pool), "recipient": wd.party,
                        "relayer": wd.relayer, "fee": str(wd.fee), "recipient_amount": str(wd.denomination - wd.fee),
                        "withdrawal_case": wd.case})
        rows.append(row)
    rows.sort(key=lambda r: (r["deposit_block"], r["deposit_log_index"] or 0))
    return rows


def bridge_legs(ledger: CaseLedger, world) -> list[dict]:
    out = []
    for leg in ledger.legs:
        out.append({"nonce": leg.nonce, "case": leg.case, "asset": leg.asset, "wrapped": leg.wrapped,
                    "amount": str(leg.amount), "sender": leg.sender, "recipient": leg.recipient,
                    "source_chain_id": ledger.chain_id, "source_tx": tx_hash(leg.lock_tx),
                    "source_block": position(leg.lock_tx)[0],
                    "source_log_index": _log_index(leg.lock_tx, LOCKED_EVENT, world.bridge.source),
                    "dest_chain_id": ledger.chain_id_b, "dest_tx": tx_hash(leg.mint_tx),
                    "dest_block": position(leg.mint_tx)[0],
                    "dest_log_index": _log_index(leg.mint_tx, MINTED_EVENT, world.bridge.destination)})
    return out


def _entities(ledger: CaseLedger, world) -> list[dict]:
    ents = []
    for name, ex in sorted(world.exchanges.items()):
        deps = [{"address": a, "kind": "forwarder", "customer": c} for c, a in sorted(ex.forwarders.items())]
        deps += [{"address": a, "kind": "eoa", "customer": c} for c, a in sorted(ex.eoa_deposits.items())]
        ents.append({"id": name, "kind": "exchange", "hot_wallet": ex.hot_wallet, "forwarder_factory": ex.factory,
                     "deposit_addresses": deps})
    ents.append({"id": "otc_desk", "kind": "otc_desk", "addresses": [world.otc.address, world.otc.owner]})
    ents.append({"id": "p2p_desk", "kind": "otc_desk", "addresses": [world.p2p_desk]})
    ents.append({"id": "tornado_relayers", "kind": "tornado_relayer", "addresses": list(world.relayers)})
    if world.bridge is not None:
        ents.append({"id": "bridge_relayer", "kind": "bridge_relayer", "addresses": [world.bridge.relayer]})
    by_entity: dict[str, list[dict]] = defaultdict(list)
    for a in ledger.actors.values():
        by_entity[a.entity].append({"address": a.address, "chain": a.chain, "role": a.role})
    for ent, addrs in sorted(by_entity.items()):
        ents.append({"id": ent, "kind": "perpetrator", "case": ent.split("/")[0], "addresses": addrs})
    return ents


def _case_json(ledger: CaseLedger, case, links: list[dict], legs: list[dict]) -> dict:
    taint = run_case(ledger, case.id)
    mine = {k for k, a in ledger.actors.items() if a.case == case.id}
    reached: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: {"true_flow": 0,
                                                                                           "haircut": 0}))
    payments = []
    for m in ledger.moves:
        dep = ledger.deposits.get(m.to)
        if m.case == case.id and dep is not None and (m.chain, m.frm) in mine:
            reached[dep.exchange][m.asset]["true_flow"] += m.amount
            payments.append({**_tx_ref(m.tx), "from": m.frm, "exchange": dep.exchange, "deposit_address": m.to,
                             "deposit_kind": dep.kind, "asset": m.asset, "amount": str(m.amount)})
    endpoints = []
    for e in sorted(taint.endpoints.values(), key=lambda e: (e.chain, e.kind, e.address, e.asset)):
        dep = ledger.deposits.get(e.address)
        if dep is not None and e.chain == CHAIN_A:
            reached[dep.exchange][e.asset]["haircut"] += e.tainted
        endpoints.append({"chain": e.chain, "address": e.address, "asset": e.asset, "kind": e.kind,
                          "exchange": dep.exchange if dep else None, "amount": str(e.amount),
                          "haircut": str(e.tainted), "txs": e.txs})
    swaps = []
    for s in ledger.swaps:
        if s.case == case.id:
            t_in, t_out = taint.swaps.get(s.seq, (0, 0))
            swaps.append({**_tx_ref(s.tx), "pair": s.pair, "from": s.frm, "to": s.to, "asset_in": s.asset_in,
                          "amount_in": str(s.amount_in), "asset_out": s.asset_out, "amount_out": str(s.amount_out),
                          "haircut_in": str(t_in), "haircut_out": str(t_out),
                          "rule": "output taint = floor(amount_out * haircut_in / amount_in)"})
    held = [{"chain": c, "address": a, "asset": asset, "amount": str(b), "haircut": str(t)}
            for (c, a, asset), (b, t) in sorted(taint.held.items()) if (c, a) in mine]
    return {
        "id": case.id, "kind": case.kind, "description": case.description,
        "perpetrator": f"{case.id}/perpetrator",
        "victims": sorted(a for (c, a), k in ledger.victims.items() if k == case.id),
        "stolen": {k: str(v) for k, v in sorted(case.stolen.items())},
        "sources": [{**_tx_ref(m.tx), "from": m.frm, "to": m.to, "asset": m.asset, "amount": str(m.amount)}
                    for m in ledger.moves if m.case == case.id and m.source],
        "swaps": swaps,
        "tornado_links": [r for r in links if case.id in (r["deposit_case"], r["withdrawal_case"])],
        "bridge_legs": [leg for leg in legs if leg["case"] == case.id],
        "exchange_payments": payments,
        "reached": {ex: {a: {k: str(v) for k, v in d.items()} for a, d in sorted(per.items())}
                    for ex, per in sorted(reached.items())},
        "haircut_endpoints": endpoints,
        "held": held,
        "notes": case.notes,
    }


def case_key(ledger: CaseLedger, world, case_id: str) -> dict:
    """One case's part of the key (with the rules and its entities), for generate.py's ``cases`` list."""
    links, legs = tornado_links(ledger), bridge_legs(ledger, world)
    out = _case_json(ledger, ledger.cases[case_id], links, legs)
    out["taint_rules"] = {"true_flow": TRUE_FLOW_RULE, "haircut": RULES}
    out["entities"] = [e for e in _entities(ledger, world) if e.get("case") == case_id]
    out["deposit_addresses"] = [{"address": d.address, "exchange": d.exchange, "kind": d.kind,
                                 "customer": d.customer} for d in ledger.deposits.values() if d.case == case_id]
    return out


def build_key(ledger: CaseLedger, world, meta: dict | None = None) -> tuple[dict, dict[str, pa.Table]]:
    """The JSON document and the Parquet tables of the ledger (all of its transactions mined)."""
    replay_events(ledger)   # every recorded transaction must be mined: fails here, naming one, if not
    links, legs = tornado_links(ledger), bridge_legs(ledger, world)
    key = {
        "format": FORMAT, **(meta or {}),
        "chains": {CHAIN_A: ledger.chain_id, CHAIN_B: ledger.chain_id_b},
        "assets": _assets(world),
        "taint_rules": {"true_flow": TRUE_FLOW_RULE, "haircut": RULES},
        "world": world.to_json(),
        "entities": _entities(ledger, world),
        "cases": [_case_json(ledger, c, links, legs) for c in ledger.cases.values()],
        "tornado_links": links,
        "bridge_legs": legs,
    }
    return key, _tables(ledger, key, links, legs)


def _tables(ledger: CaseLedger, key: dict, links: list[dict], legs: list[dict]) -> dict[str, pa.Table]:
    addr_rows = [{"chain": a.chain, "address": a.address, "entity": a.entity, "role": a.role, "case": a.case,
                  "exchange": None, "deposit_kind": None} for a in ledger.actors.values()]
    for ent in key["entities"]:
        if ent["kind"] == "exchange":
            addr_rows.append({"chain": CHAIN_A, "address": ent["hot_wallet"], "entity": ent["id"],
                              "role": "hot_wallet", "case": None, "exchange": ent["id"], "deposit_kind": None})
            for d in ent["deposit_addresses"]:
                dep = ledger.deposits.get(d["address"])
                addr_rows.append({"chain": CHAIN_A, "address": d["address"], "entity": ent["id"],
                                  "role": "deposit_address", "case": dep.case if dep else None,
                                  "exchange": ent["id"], "deposit_kind": d["kind"]})
    swaps = [{**s, "case": c["id"]} for c in key["cases"] for s in c["swaps"]]
    flows = [{**_tx_ref(m.tx), "chain": m.chain, "seq": m.seq, "case": m.case, "kind": m.kind, "asset": m.asset,
              "from": m.frm, "to": m.to, "amount": str(m.amount), "source": m.source} for m in ledger.moves]
    out = {}
    for name, rows in (("addresses", addr_rows), ("tornado_links", links), ("bridge_legs", legs), ("swaps", swaps),
                       ("flows", flows)):
        out[name] = pa.Table.from_pylist(rows) if rows else pa.table({})
    return out


def write_case_tables(out: str | Path, ledger: CaseLedger, world) -> dict[str, str]:
    """The cases' Parquet tables in ``out/answer_key/`` (for generate.py, whose JSON holds ``case_key``s)."""
    key, tables = build_key(ledger, world)
    (Path(out) / "answer_key").mkdir(parents=True, exist_ok=True)
    names = {}
    for name, table in tables.items():
        pq.write_table(table, Path(out) / "answer_key" / f"{name}.parquet")
        names[f"case_{name}"] = f"answer_key/{name}.parquet"
    return names


def write_answer_key(out: str | Path, ledger: CaseLedger, world, meta: dict | None = None) -> dict:
    """Write ``answer_key.json`` and ``answer_key/*.parquet`` into ``out``; return the JSON document."""
    out = Path(out)
    key, tables = build_key(ledger, world, meta)
    (out / "answer_key").mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, out / "answer_key" / f"{name}.parquet")
    (out / "answer_key.json").write_text(json.dumps(key, indent=1, sort_keys=True) + "\n")
    return key


__all__ = ["FORMAT", "TRUE_FLOW_RULE", "bridge_legs", "build_key", "case_key", "write_case_tables", "tornado_links", "write_answer_key"]

"""The demo's case file: a generated ransomware case opened, traced, documented and ready to report.

``open_demo_case`` does what an investigator would do with the demo chain:
open a case, add the ransom addresses as subjects, trace the ransom wallet
(the entity holding the payments) forward to the exchanges and the mixer,
attribute the ransom addresses from the victims' reports, attach the
records the main exchange returned to a production order (written from the
answer key, in the shape of a real exchange export), and note what to do
next. Every step goes through the repository, so the audit log shows it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from chaintrail.cases.exchange_records import map_legs, read_legs
from chaintrail.cases.findings import account_finding, trace_finding
from chaintrail.cases.identity import Principal
from chaintrail.cases.repository import CaseRepository
from chaintrail.csv_export import safe_dict
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

_RECORD_COLUMNS = ["entity_name", "target_address", "bitcoin_address", "transaction_id", "date", "amount_satoshi",
                   "amount_btc", "amount_usd", "wallet_address", "type"]
# The guided demo first stops at the tagged chip mixer, then demixes it as a step of its own.
DEMO_TRACE = {"max_hops": 20, "stop_categories": ("exchange", "mixer", "gambling"), "mixer_policy": "haircut"}


def exchange_return(store: ChainStore, case: dict, exchange: str) -> bytes:
    """The CSV an exchange would return for the perpetrator's deposit address: one row per deposit."""
    rows = [e for e in case.get("cash_out_endpoints", []) if e.get("entity_name") == exchange]
    txids = sorted({e["txid"] for e in rows})
    times = {r["txid"]: r["time"] for r in query(
        store, "SELECT t.txid, b.time FROM txs t JOIN blocks b ON b.hash = t.block_hash WHERE list_contains($t, t.txid)",
        {"t": txids or [""]}).to_pylist()}
    holder = (case.get("perpetrators") or [{}])[0].get("name", "account holder")
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=_RECORD_COLUMNS, lineterminator="\n")
    w.writeheader()
    for e in sorted(rows, key=lambda e: (e.get("height") or 0, e["txid"])):
        when = times.get(e["txid"])
        w.writerow(safe_dict({"entity_name": holder, "target_address": e["address"],
                    "bitcoin_address": e["address"], "transaction_id": e["txid"],
                    "date": dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                    if when else "", "amount_satoshi": e["amount_sat"], "amount_btc": f"{e['amount_sat'] / 1e8:.8f}",
                    "amount_usd": "", "wallet_address": e["address"], "type": "Incoming"}))
    return out.getvalue().encode()


def open_demo_case(repo: CaseRepository, p: Principal, store_path: str | Path, answer_key: str | Path,
                   case_id: str, subject: str, title: str | None = None) -> str:
    """Build the demo's case file in ``repo`` as ``p``; returns the case reference."""
    key = json.loads(Path(answer_key).read_text())
    case = next(c for c in key["cases"] if c["id"] == case_id)
    with ChainStore(store_path) as st:
        cluster = query(st, "SELECT cluster FROM clusters WHERE address = $a", {"a": subject}).to_pylist()
        source = f"cluster:{cluster[0]['cluster']}" if cluster else subject
        from chaintrail.analysis.tracing import TraceParams
        finding = trace_finding(st, source, TraceParams(**DEMO_TRACE),
                                title=f"Forward trace of the ransom wallet ({len(case['victim_payments'])} payments)")
        from chaintrail.analysis.accounting import AccountParams
        accounting = account_finding(st, source, AccountParams(),
                                     title="Sources and uses of funds of the ransom wallet") if source.startswith(
            "cluster:") else None
        exchanges: dict[str, int] = {}
        for e in finding["result"]["endpoints"]:
            for t in e["tags"]:
                if t.startswith("exchange:"):
                    exchanges[t.split(":", 1)[1]] = exchanges.get(t.split(":", 1)[1], 0) + e["amount_sat"]
        top = max(exchanges, key=exchanges.get) if exchanges else None
        records = exchange_return(st, case, top) if top else None
        mapping = map_legs(st, read_legs(records, f"{top}-return.csv")) if records else None
    total = sum(v["value_sat"] for v in case["victim_payments"])
    ref = repo.create_case(p, title or f"Ransomware proceeds ({case_id})",
                           f"{len(case['victim_payments'])} victims paid {total / 1e8:.8f} BTC in ransom. "
                           f"{case['description']} This case follows the ransom to the services where it was "
                           f"cashed out or mixed, for production orders to the exchanges.", "amber")["ref"]
    for v in case["victim_payments"]:
        repo.add_subject(p, ref, "address", v["address"], f"ransom address; victim payment at height {v['height']}")
        repo.add_tag(p, ref, v["address"], "Ransom payment address", category="ransomware",
                     source="victim report to police", confidence="authority_data")
    repo.add_finding(p, ref, finding)
    if accounting is not None:
        repo.add_finding(p, ref, accounting)
    if records is not None:
        repo.add_attachment(p, ref, f"{top.replace(' ', '_')}-production-order-return.csv", records,
                            kind="exchange_records", media_type="text/csv", meta=mapping)
    repo.add_note(p, ref, f"The ransom wallet is the entity (common-input cluster) holding the "
                          f"{len(case['victim_payments'])} victim payments; it was traced as a whole.")
    if top:
        repo.add_note(p, ref, f"{top} answered the production order for the deposit address; its records match the "
                              f"chain (Section 5). Next: orders to the other exchanges named in Section 3.")
    return ref

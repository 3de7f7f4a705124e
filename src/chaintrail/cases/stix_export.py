"""A case as a STIX 2.1 bundle, made with the ``stix2`` library, in OpenCTI's conventions.

* Each Bitcoin address or Ethereum account is a ``cryptocurrency-wallet`` observable
  (OpenCTI's custom SCO: one ``value`` property, id derived from the value).
* An Ethereum trace's transfers are ``related-to`` relationships from the source
  wallet to each endpoint wallet, naming the asset, amount and transactions.
* An indicator with the pattern ``[cryptocurrency-wallet:value = '…']`` is
  ``based-on`` each wallet of interest (subjects and attributed endpoints).
* Tags naming abuse (ransomware, scam, sanctioned, …) become threat actors the
  indicator ``indicates`` and the wallet is ``related-to``.
* Notes and findings become STIX notes referring to their wallets; the case is a
  STIX report holding everything.
* Each monitoring alert is a ``sighting`` of the watched wallet's indicator, seen
  by the agency, with ``observed-data`` of the wallets it moved between; the
  transaction, block number and block hash, amount and asset ride in
  ``x_chaintrail_*`` properties and the description. A retracted alert (a
  reorganisation dropped its block) is exported ``revoked``, with the reason.
* Every object carries its item's TLP 2.0 marking (OASIS tlp-2.0 extension).

Ids of the objects this module makes are UUIDv5 of the agency, case and object,
so exporting the same case twice gives the same ids.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import stix2
from stix2 import v21
from stix2.properties import StringProperty

from chaintrail.cases import tlp
from chaintrail.cases.repository import CaseView

_NS = uuid.UUID("6f1b2a4e-9d7c-5e21-8a3b-c4a7d0e1f2b3")
ABUSE = {"sanctioned", "terrorism", "child_abuse", "ransomware", "darknet_market", "hack", "scam"}


@v21.CustomObservable("cryptocurrency-wallet", [("value", StringProperty(required=True))], id_contrib_props=["value"])
class CryptocurrencyWallet:
    """OpenCTI's cryptocurrency wallet observable."""


def _id(kind: str, *key: Any) -> str:
    return f"{kind}--{uuid.uuid5(_NS, '|'.join(str(k) for k in key))}"


def _ts(s: str) -> str:
    return s if s.endswith("Z") else s + "Z"


def pattern_for(address: str) -> str:
    return "[cryptocurrency-wallet:value = '" + address.replace("\\", "\\\\").replace("'", "\\'") + "']"


class _Builder:
    def __init__(self, view: CaseView, agency: str):
        self.view, self.agency = view, agency
        self.ref = view.case["ref"]
        self.objects: dict[str, Any] = {}
        self.levels: set[str] = set()
        self.identity = v21.Identity(id=_id("identity", agency), name=agency, identity_class="organization",
                                     created=_ts(view.case["created_at"]), modified=_ts(view.case["created_at"]),
                                     object_marking_refs=self.mark(view.case["tlp"]))
        self.objects[self.identity.id] = self.identity

    def mark(self, level: str) -> list[str]:
        self.levels.add(tlp.normalize(level))
        return [tlp.STIX_MARKING_IDS[tlp.normalize(level)]]

    def add(self, obj: Any) -> Any:
        self.objects.setdefault(obj.id, obj)
        return self.objects[obj.id]

    def wallet(self, address: str, level: str) -> Any:
        return self.add(CryptocurrencyWallet(value=address, object_marking_refs=self.mark(level)))

    def relate(self, src: Any, rel: str, dst: Any, level: str, when: str, description: str | None = None) -> None:
        self.add(v21.Relationship(id=_id("relationship", self.agency, self.ref, src.id, rel, dst.id),
                                  relationship_type=rel, source_ref=src.id, target_ref=dst.id,
                                  created=_ts(when), modified=_ts(when), created_by_ref=self.identity.id,
                                  description=description, object_marking_refs=self.mark(level)))

    def indicator(self, address: str, name: str, level: str, when: str, types: list[str]) -> Any:
        w = self.wallet(address, level)
        ind = self.add(v21.Indicator(id=_id("indicator", self.agency, self.ref, address), name=name,
                                     pattern=pattern_for(address), pattern_type="stix", valid_from=_ts(when),
                                     created=_ts(when), modified=_ts(when), indicator_types=types,
                                     created_by_ref=self.identity.id, object_marking_refs=self.mark(level)))
        self.relate(ind, "based-on", w, level, when)
        return ind

    def actor(self, name: str, kind: str, level: str, when: str) -> Any:
        return self.add(v21.ThreatActor(id=_id("threat-actor", self.agency, name.lower()), name=name,
                                        threat_actor_types=["crime-syndicate"], description=f"Attributed: {kind}",
                                        created=_ts(when), modified=_ts(when), created_by_ref=self.identity.id,
                                        object_marking_refs=self.mark(level)))


def build_bundle(view: CaseView, agency: str) -> stix2.v21.Bundle:
    """The STIX bundle for a (redacted) case view."""
    b = _Builder(view, agency)
    c = view.case
    for s in view.subjects:
        if s["kind"] == "address":
            b.indicator(s["value"], f"Case subject {s['value']}" + (f" ({s['label']})" if s.get("label") else ""),
                              s["tlp"], s["created_at"], ["malicious-activity"])
    tags = [(t, f["tlp"], f["created_at"]) for f in view.findings for t in f.get("tags", [])]
    tags += [({"address": t["address"], "label": t["label"], "categories": [t.get("category") or ""],
               "kind": t.get("category"), "source": t.get("source"), "confidence": t.get("confidence")},
              t["tlp"], t["created_at"]) for t in view.tags]
    for t, level, when in tags:
        cats = set(t.get("categories") or []) | {t.get("kind") or ""}
        abuse = cats & ABUSE
        ind = b.indicator(t["address"], f"{t.get('label')} ({t.get('kind')})", level, when,
                          ["malicious-activity"] if abuse else ["attribution"])
        if abuse:
            actor = b.actor(t.get("actor") or t.get("label") or t["address"], sorted(abuse)[0], level, when)
            b.relate(ind, "indicates", actor, level, when, f"source {t.get('source')}, confidence {t.get('confidence')}")
            b.relate(b.wallet(t["address"], level), "related-to", actor, level, when)
    for f in view.findings:
        wallets = _finding_wallets(f)
        refs = [b.wallet(a, f["tlp"]).id for a in wallets] or [b.identity.id]
        b.add(v21.Note(id=_id("note", agency, b.ref, "finding", f["finding_hash"]), abstract=f["title"],
                       content=_finding_text(f), authors=[f["created_by"]], object_refs=refs,
                       created=_ts(f["created_at"]), modified=_ts(f["created_at"]), created_by_ref=b.identity.id,
                       object_marking_refs=b.mark(f["tlp"]), allow_custom=True,
                       x_chaintrail_finding_hash=f["finding_hash"], x_chaintrail_kind=f["kind"]))
    for f in view.findings:
        if f["kind"] == "eth_trace":
            _eth_transfers(b, f)
    for a in view.alerts:
        _alert_sighting(b, a)
    for n in view.notes:
        about = [b.wallet(n["about"], n["tlp"]).id] if _is_address(n.get("about")) else [b.identity.id]
        b.add(v21.Note(id=_id("note", agency, b.ref, "note", n["id"]), content=n["body"], authors=[n["created_by"]],
                       object_refs=about, created=_ts(n["created_at"]), modified=_ts(n["created_at"]),
                       created_by_ref=b.identity.id, object_marking_refs=b.mark(n["tlp"])))
    content = [o.id for o in b.objects.values() if o.id != b.identity.id] or [b.identity.id]
    report = v21.Report(id=_id("report", agency, b.ref), name=f"{b.ref}: {c['title']}", description=c.get("summary"),
                        report_types=["threat-report"], published=_ts(c["created_at"]), object_refs=content,
                        created=_ts(c["created_at"]), modified=_ts(c["created_at"]), created_by_ref=b.identity.id,
                        object_marking_refs=b.mark(c["tlp"]), allow_custom=True, x_chaintrail_case_ref=b.ref)
    markings = [stix2.parse(tlp.stix_marking(lv), allow_custom=True) for lv in tlp.LEVELS if lv in b.levels]
    objects = [*markings, *b.objects.values(), report]
    # The bundle's id follows its content, so the same case exported twice is the same bundle.
    content_key = hashlib.sha256("\n".join(o.serialize(sort_keys=True) for o in objects).encode()).hexdigest()
    return v21.Bundle(id=_id("bundle", agency, b.ref, content_key), objects=objects, allow_custom=True)


def _is_address(s: str | None) -> bool:
    return bool(s) and 25 <= len(s) <= 90 and ":" not in s and " " not in s


def _eth_transfers(b: _Builder, f: dict) -> None:
    """An Ethereum trace's transfers: the source wallet ``related-to`` each endpoint wallet, with the asset
    (symbol and token contract), the exact amount in base units, the paying transactions and the finding hash."""
    r = f["result"]
    src = r.get("source_account")
    if not src:
        return
    info = r.get("asset_info") or {}
    for e in r["endpoints"][:200]:
        if not e.get("address") or int(e["amount"]) <= 0 or e["address"] == src:
            continue
        sym = (info.get(e["asset"]) or {}).get("symbol") or e["asset"]
        desc = (f"Traced transfer on Ethereum: {e['amount']} base units of {sym}"
                + ("" if e["asset"] == "ETH" else f" (token contract {e['asset']})")
                + f", {e['kind']} after {e['hops']} hop(s); transactions {' '.join(e['txs'][-3:])}; "
                  f"chaintrail finding {f['finding_hash']}")
        b.add(v21.Relationship(id=_id("relationship", b.agency, b.ref, f["finding_hash"], e["address"], e["asset"],
                                      e["kind"]), relationship_type="related-to",
                               source_ref=b.wallet(src, f["tlp"]).id, target_ref=b.wallet(e["address"], f["tlp"]).id,
                               created=_ts(f["created_at"]), modified=_ts(f["created_at"]),
                               created_by_ref=b.identity.id, description=desc,
                               object_marking_refs=b.mark(f["tlp"])))


def _alert_sighting(b: _Builder, a: dict) -> None:
    """A monitoring alert: the watched wallet's indicator sighted in a transaction (revoked when retracted)."""
    level, when = a["tlp"], a["created_at"]
    retracted = a["status"] == "retracted"
    changed = a.get("retracted_at") or when
    wallets = [b.wallet(x, level).id for x in (a["address"], a.get("counterparty")) if _is_address(x)]
    moved = "paid" if a["direction"] == "out" else "received"
    what = (f"{a['address'] or 'the watched side'} {moved} {a['amount']} base units of {a['asset']} in transaction "
            f"{a['tx_hash']}, block {a['block_number']} ({a['block_hash']}) on {a['chain']}; watch {a['watch_id']} "
            f"({a.get('watch_kind')} {a.get('watch_target')}): {a['reason']}")
    if retracted:
        what = f"RETRACTED {changed[:19]}: {a.get('retract_reason')}. Was: {what}"
    extra = {"x_chaintrail_alert_id": int(a["id"]), "x_chaintrail_chain": a["chain"],
             "x_chaintrail_tx_hash": a["tx_hash"], "x_chaintrail_block_number": int(a["block_number"]),
             "x_chaintrail_block_hash": a["block_hash"], "x_chaintrail_amount": str(a["amount"]),
             "x_chaintrail_asset": a["asset"], "x_chaintrail_direction": a["direction"],
             "x_chaintrail_watch_id": int(a["watch_id"]), "x_chaintrail_status": a["status"]}
    if retracted:
        extra["x_chaintrail_retract_reason"] = a.get("retract_reason") or ""
    common = dict(created=_ts(when), modified=_ts(changed), created_by_ref=b.identity.id, revoked=retracted,
                  object_marking_refs=b.mark(level), allow_custom=True)
    observed = []
    if wallets:
        observed = [b.add(v21.ObservedData(id=_id("observed-data", b.agency, b.ref, "alert", a["id"]),
                                           first_observed=_ts(when), last_observed=_ts(when), number_observed=1,
                                           object_refs=wallets, **common)).id]
    if _is_address(a["address"]):
        of = b.indicator(a["address"], f"Watched wallet {a['address']}", level, when, ["anomalous-activity"]).id
    else:
        of = b.add(v21.Indicator(id=_id("indicator", b.agency, b.ref, "watch", a["watch_id"]),
                                 name=f"Watch {a['watch_id']}: {a.get('watch_kind')} {a.get('watch_target')}",
                                 pattern="[cryptocurrency-wallet:value != '']", pattern_type="stix",
                                 valid_from=_ts(when), created=_ts(when), modified=_ts(when),
                                 indicator_types=["anomalous-activity"], created_by_ref=b.identity.id,
                                 object_marking_refs=b.mark(level))).id
    b.add(v21.Sighting(id=_id("sighting", b.agency, b.ref, "alert", a["id"]), sighting_of_ref=of,
                       observed_data_refs=observed or None, where_sighted_refs=[b.identity.id], count=1,
                       first_seen=_ts(when), last_seen=_ts(when), description=what, **common, **extra))


def _finding_wallets(f: dict) -> list[str]:
    r = f["result"]
    if f["kind"] == "eth_trace":
        out = [r["source_account"]] if r.get("source_account") else []
        return out + [e["address"] for e in r["endpoints"][:50] if e.get("address")]
    if f["kind"] == "eth_leads":
        return list(dict.fromkeys(a for x in r["leads"] for a in (x.get("depositor"), x.get("recipient")) if a))
    if f["kind"] == "trace":
        out = [r["source"]["address"]] if r["source"].get("address") else []
        return out + [e["address"] for e in r["endpoints"][:50] if e.get("address")]
    if f["kind"] == "screen":
        return [r["subject"]] if _is_address(r.get("subject")) else []
    if f["kind"] in ("account", "eth_account"):     # an entity's schedule names no single wallet
        return [r["subject"]["id"]] if r["subject"]["kind"] in ("address", "account") else []
    return [r["from"], r["to"]]


def _finding_text(f: dict) -> str:
    r = f["result"]
    if f["kind"] == "eth_trace":
        info = r.get("asset_info") or {}
        per = "; ".join(f"{(info.get(a) or {}).get('symbol') or a}: traced {t['traced']}, to services "
                        f"{t['to_endpoints']}, still held {t['unspent']}, converted {t['converted']} (base units)"
                        for a, t in r["totals"].items())
        return (f"Ethereum {r['model']} trace from {r['source']}. {per}. Finding hash {f['finding_hash']}.")
    if f["kind"] == "eth_leads":
        return (f"{len(r['leads'])} Tornado Cash lead(s) for {r['subject']}: {r['note']}; each carries its "
                f"heuristic's measured precision and chance-match rate. Finding hash {f['finding_hash']}.")
    if f["kind"] == "trace":
        t = r["totals"]
        ends = "; ".join(f"{e['address'] or e['kind']}: {e['amount_sat']} sat ({e['kind']}"
                         + (f", {', '.join(e['tags'])}" if e["tags"] else "") + ")" for e in r["endpoints"][:20])
        return (f"{r['params']['direction']} {r['model']} trace of {t['traced_sat']} sat; to attributed services "
                f"{t['to_endpoints_sat']} sat, unspent {t['unspent_sat']} sat, fees {t['fees_sat']} sat. Endpoints: "
                f"{ends}. Finding hash {f['finding_hash']}.")
    if f["kind"] == "screen":
        return f"Screen of {r['subject']}: risk {r.get('risk', {}).get('level')}. Finding hash {f['finding_hash']}."
    if f["kind"] in ("account", "eth_account"):
        return (f"Forensic-accounting schedules (sources and uses of funds, balance, months, lot gains) of "
                f"{r['subject']['kind']} {r['subject']['id']}, {r['period']['from']} to {r['period']['to']}, values in "
                f"{r['currency']} at the UTC daily close. Finding hash {f['finding_hash']}.")
    return (f"{r['from']} and {r['to']} are linked by {len(r['links'])} multi-input transaction(s). "
            f"Finding hash {f['finding_hash']}.")


def parse_bundle(text: str) -> stix2.v21.Bundle:
    """Parse (and so validate) a bundle this module, or OpenCTI, wrote."""
    return stix2.parse(text, allow_custom=True)

"""A case as FollowTheMoney entities (``followthemoney`` library): wallets, holders and payments.

* ``CryptoWallet`` for every address the case names (subjects, endpoints,
  tagged addresses), with the Bitcoin currency and, for a custodial service's
  deposit address, the managing exchange;
* ``Company`` for an attributed service (exchange, processor, mixer, …) and
  ``Person`` for a tag or subject that names a natural person, as the wallet's
  holder; a wallet with no known holder has none;
* ``Payment`` for each traced flow from the source to an endpoint: amount in
  BTC, the last transaction as its number, payer and beneficiary the holders
  where known (a ``LegalEntity`` standing for an unidentified holder otherwise,
  since FtM payments link parties, not accounts).

Entity ids are derived from the agency, case and content, so they are stable.
"""

from __future__ import annotations

import datetime as dt
import json

from followthemoney import model
from followthemoney.proxy import EntityProxy

from chaintrail.cases.repository import CaseView

COIN = 100_000_000
_COMPANY = {"exchange", "payment_processor", "gambling", "mixing_service", "mixer", "market", "darknet_market",
            "wallet_service", "mining_service", "service", "organization", "merchant", "shop", "defi", "atm"}
_PERSON = {"person", "user", "perpetrator", "victim"}


class _Entities:
    def __init__(self, agency: str, case_ref: str):
        self.key = ("chaintrail", agency, case_ref)
        self.by_id: dict[str, EntityProxy] = {}

    def make(self, schema: str, *key: str) -> EntityProxy:
        e = model.make_entity(schema)
        e.make_id(*self.key, schema, *key)
        return self.by_id.setdefault(e.id, e)

    def wallet(self, address: str) -> EntityProxy:
        w = self.make("CryptoWallet", address)
        if not w.has("publicKey"):
            w.add("publicKey", address)
            w.add("currency", "BTC")
            w.add("blockchain", "Bitcoin")
        return w

    def holder(self, name: str, kind: str | None) -> EntityProxy | None:
        k = (kind or "").lower()
        schema = "Company" if k in _COMPANY else "Person" if k in _PERSON else None
        if schema is None or not name:
            return None
        h = self.make(schema, name.lower())
        if not h.has("name"):
            h.add("name", name)
        return h


def build_entities(view: CaseView, agency: str) -> list[EntityProxy]:
    """FollowTheMoney entities for a (redacted) case view, in a stable order."""
    ents = _Entities(agency, view.case["ref"])
    holder_of: dict[str, EntityProxy] = {}

    def attribute(address: str, label: str | None, kind: str | None, note: str) -> None:
        w = ents.wallet(address)
        w.add("notes", note)
        h = ents.holder(label or "", kind)
        if h is not None:
            if (kind or "").lower() in _COMPANY and (kind or "").lower() == "exchange":
                w.add("managingExchange", label)
            w.add("holder", h)
            holder_of.setdefault(address, h)

    for s in view.subjects:
        if s["kind"] == "address":
            ents.wallet(s["value"]).add("notes", f"Case subject{': ' + s['label'] if s.get('label') else ''}")
    for f in view.findings:
        for t in f.get("tags", []):
            attribute(t["address"], t.get("label"), t.get("kind"),
                      f"Tag '{t.get('label')}' ({t.get('kind')}), source {t.get('source')}, "
                      f"confidence {t.get('confidence')}")
    for t in view.tags:
        attribute(t["address"], t["label"], t.get("category"),
                  f"Case tag '{t['label']}', source {t.get('source')}, confidence {t.get('confidence')}")
    for f in view.findings:
        if f["kind"] == "trace":
            _payments(ents, f, holder_of)
    return [ents.by_id[k] for k in sorted(ents.by_id)]


def _party(ents: _Entities, address: str | None, holder_of: dict[str, EntityProxy]) -> EntityProxy | None:
    if not address:
        return None
    h = holder_of.get(address)
    if h is not None:
        return h
    le = ents.make("LegalEntity", "holder", address)
    if not le.has("name"):
        le.add("name", f"Unidentified holder of {address}")
        ents.wallet(address).add("holder", le)
    return le


def _payments(ents: _Entities, f: dict, holder_of: dict[str, EntityProxy]) -> None:
    r = f["result"]
    src = r["source"].get("address")
    forward = r["params"]["direction"] == "forward"
    last = (r.get("chain_context") or {}).get("last_block") or {}
    for e in r["endpoints"]:
        if not e.get("address") or e["amount_sat"] <= 0:
            continue
        ents.wallet(e["address"])
        p = ents.make("Payment", f["finding_hash"], e["address"], e["kind"])
        p.add("amount", f"{e['amount_sat'] / COIN:.8f}")
        p.add("currency", "BTC")
        if e["path"]:
            p.add("transactionNumber", e["path"][-1] if forward else e["path"][0])
        if last.get("time"):
            p.add("date", dt.datetime.fromtimestamp(int(last["time"]), dt.timezone.utc).strftime("%Y-%m-%d"))
        p.add("purpose", f"Traced funds ({r['model']}, {e['hops']} hops, {e['kind']})")
        p.add("description", f"chaintrail finding {f['finding_hash']}; path {' > '.join(e['path'][:12])}")
        payer, payee = (src, e["address"]) if forward else (e["address"], src)
        a, b = _party(ents, payer, holder_of), _party(ents, payee, holder_of)
        if a is not None:
            p.add("payer", a)
        if b is not None:
            p.add("beneficiary", b)


def to_jsonl(entities: list[EntityProxy]) -> str:
    return "".join(json.dumps(e.to_dict(), sort_keys=True, ensure_ascii=False) + "\n" for e in entities)


def parse_jsonl(text: str) -> list[EntityProxy]:
    """Read entities back, validating each against the FtM model (unknown schema or property fails)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(model.get_proxy(json.loads(line), cleaned=False))
    return out

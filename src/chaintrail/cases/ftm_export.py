"""A case as FollowTheMoney entities (``followthemoney`` library): wallets, holders and payments.

* ``CryptoWallet`` for every address the case names (subjects, endpoints,
  tagged addresses), with the Bitcoin currency (an Ethereum account: ETH or the token symbols it is
  traced in) and, for a custodial service's
  deposit address, the managing exchange;
* ``Company`` for an attributed service (exchange, processor, mixer, …) and
  ``Person`` for a tag or subject that names a natural person, as the wallet's
  holder; a wallet with no known holder has none;
* ``Payment`` for each traced flow from the source to an endpoint: amount in
  BTC, the last transaction as its number, payer and beneficiary the holders
  where known (a ``LegalEntity`` standing for an unidentified holder otherwise,
  since FtM payments link parties, not accounts); for an Ethereum trace, one per endpoint and asset, in the
  token's units and symbol.

Entity ids are derived from the agency, case and content, so they are stable.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from followthemoney import model
from followthemoney.proxy import EntityProxy

from chaintrail.cases.repository import CaseView

COIN = 100_000_000
_ETH_PAID = ("tagged", "deposit_address", "unspent", "bridged", "stopped_max_hops", "stopped_mixer")
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

    def wallet(self, address: str, currency: str | None = None) -> EntityProxy:
        """The wallet of an address: Bitcoin's in BTC; an Ethereum account (0x) with each currency it is seen in
        (ETH or a token's symbol), ETH where none is named."""
        w = self.make("CryptoWallet", address)
        eth = is_eth_address(address)
        if not w.has("publicKey"):
            w.add("publicKey", address)
            w.add("blockchain", "Ethereum" if eth else "Bitcoin")
        w.add("currency", currency or ("ETH" if eth else "BTC"))
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
        elif f["kind"] == "eth_trace":
            _eth_payments(ents, f, holder_of)
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


def is_eth_address(address: str) -> bool:
    return len(address) == 42 and address[:2].lower() == "0x" and all(c in "0123456789abcdefABCDEF" for c in address[2:])


def _eth_payments(ents: _Entities, f: dict, holder_of: dict[str, EntityProxy]) -> None:
    """One Payment per Ethereum endpoint that holds or received traced funds: amount in the asset's units,
    currency ETH or the token's symbol, the last transaction that paid it, payer the source account."""
    r = f["result"]
    info = r.get("asset_info") or {}
    src = r.get("source_account")
    last = (r.get("chain_context") or {}).get("last_block") or {}
    for e in r["endpoints"]:
        if not e.get("address") or int(e["amount"]) <= 0 or e["kind"] not in _ETH_PAID:
            continue
        meta = info.get(e["asset"]) or {}
        currency = meta.get("symbol") or e["asset"]
        ents.wallet(e["address"], currency)
        if src:
            ents.wallet(src, currency)
        p = ents.make("Payment", f["finding_hash"], e["address"], e["asset"], e["kind"])
        dec = meta.get("decimals")
        p.add("amount", format(Decimal(int(e["amount"])).scaleb(-int(dec)), "f") if dec is not None else e["amount"])
        p.add("currency", currency)
        if e.get("txs"):
            p.add("transactionNumber", e["txs"][-1])
        if last.get("time"):
            p.add("date", dt.datetime.fromtimestamp(int(last["time"]), dt.timezone.utc).strftime("%Y-%m-%d"))
        p.add("purpose", f"Traced funds on Ethereum ({r['model']}, {e['hops']} hops, {e['kind']})")
        p.add("description", f"chaintrail finding {f['finding_hash']}; asset {e['asset']}; "
                             f"{e['amount']} base units; path {' > '.join(e['path'][:12])}")
        a, b = _party(ents, src, holder_of), _party(ents, e["address"], holder_of)
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

"""Findings: a trace, a screen or an entity explanation, saved with everything needed to stand behind it.

A finding holds what was asked (``spec``), the parameters, the versions of the
engines and heuristics, the measured error rates of those heuristics, the
block hashes the analysis read, the tags it rests on (with source and
confidence) and the analysis' own output. Its ``finding_hash`` covers all of
it but the error rates (re-measuring a heuristic does not change what the
chain says) and the store's content hash (kept beside it as provenance), so a
rerun on the same store reproduces the hash exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaintrail.cases import methodology
from chaintrail.cases.hashing import canonical, digest
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

KINDS = ("trace", "screen", "explain", "account", "eth_trace", "eth_leads", "eth_account")  # eth_*: eth_findings
HASHED_FIELDS = ("kind", "spec", "params", "versions", "block_hashes", "tags", "result_hash")


def finding_hash(f: Mapping[str, Any]) -> str:
    """The reproducible identity of a finding (see module docstring)."""
    return digest({k: f[k] for k in HASHED_FIELDS})


def _finish(kind: str, title: str, spec: dict, params: dict, store: ChainStore, result: dict,
            block_hashes: list[str], tags: list[dict]) -> dict:
    versions = methodology.analysis_versions(store, kind)
    result = {**result, "chain_context": chain_context(store, block_hashes)}
    f = {"kind": kind, "title": title, "spec": spec, "params": params, "versions": versions,
         "error_rates": methodology.rates_for(methodology.heuristics_used(versions, tags)),
         "block_hashes": block_hashes, "tags": tags, "result": result, "result_hash": digest(result),
         "store_hash": store.content_hash()}
    f["finding_hash"] = finding_hash(f)
    return f


def trace_finding(store: ChainStore, source: str, params: Any = None, title: str | None = None,
                  currency: str = "USD") -> dict:
    """Trace funds from ``source`` (TXID:VOUT, TXID, ADDRESS or cluster:N) and make the result a finding; its
    endpoints valued in USD and ``currency`` (a reporting currency other than USD is kept in the parameters, so a
    rerun values them the same way)."""
    from chaintrail.analysis.tracing import TraceEngine, TraceParams

    params = params or TraceParams()
    result = TraceEngine.open(store, prefault=False).trace(source, params).to_dict()
    blocks = list(dict.fromkeys(s["block_hash"] for s in result["steps"]))
    addrs = [e["address"] for e in result["endpoints"] if e["address"]]
    if result["source"].get("address"):
        addrs.insert(0, result["source"]["address"])
    title = title or f"{params.direction.capitalize()} {params.model} trace from {source}"
    cur = currency.upper()
    fiat = trace_fiat(store, result["endpoints"], cur)
    if fiat is not None:
        result["fiat"] = fiat
    fparams = result["params"] if cur == "USD" else {**result["params"], "currency": cur}
    return _finish("trace", title, {"source": source}, fparams, store, result, blocks,
                   tags_for_addresses(store, addrs))


def tx_times(store: ChainStore, txids: list[str]) -> list[int]:
    """Block times of txids (hex), in the order given."""
    rows = query(store, """SELECT lower(hex(t.txid)) AS txid, b.time FROM raw.txs t JOIN raw.blocks b USING (block_seq)
                           WHERE t.txid IN (SELECT unhex(unnest($t::VARCHAR[])))""",
                 {"t": sorted(set(txids)) or [""]}).to_pylist()
    at = {r["txid"]: r["time"] for r in rows}
    return [at[t] for t in txids]


def trace_fiat(store: ChainStore, endpoints: list[dict], currency: str = "USD") -> dict | None:
    """USD value (and the reporting currency's) of each endpoint on its outputs' UTC days (store.prices), and
    the series used; None without prices in the store."""
    from chaintrail.store.prices import CONVENTION, PriceBook, annotate_endpoints

    book = PriceBook.open(store.path)
    if not book:
        return None
    cur = book.check_currency(currency)
    eps = annotate_endpoints(book, endpoints, lambda txids: tx_times(store, txids), cur)
    return {"currency": cur, "convention": CONVENTION, "prices": book.sources_used(["BTC"], cur),
            "endpoints": [{**e["fiat"], "tagged": e["kind"] == "tagged"} for e in eps]}


def screen_finding(store: ChainStore, subject: str, params: Any = None, title: str | None = None) -> dict:
    """Screen an address or transaction for exposure to risk categories and make the result a finding."""
    from dataclasses import asdict

    from chaintrail.analysis.screening import Screener, ScreenParams
    from chaintrail.tags.tagstore import TagStore

    params = params or ScreenParams()
    sc = Screener(TagStore(store.path), store, params)
    result = sc.screen(subject).to_dict()
    txids = [t for e in result["exposures"] for t in e.get("path") or []]
    addrs = [subject] + [e["counterparty"] for e in result["exposures"] if e.get("counterparty")]
    title = title or f"Exposure screen of {subject}"
    return _finish("screen", title, {"subject": subject}, asdict(params), store, result,
                   _blocks_of_txids(store, txids, subject), tags_for_addresses(store, addrs))


def explain_finding(store: ChainStore, addr_a: str, addr_b: str, title: str | None = None) -> dict:
    """Why two addresses are one entity: the chain of linking transactions, as a finding."""
    from dataclasses import asdict

    from chaintrail.analysis.explain import explain
    from chaintrail.analysis.tracing import mixer_tx_mask

    links = [asdict(link) for link in explain(store, addr_a, addr_b, mixer_tx_mask(store))]
    result = {"from": addr_a, "to": addr_b, "links": links}
    title = title or f"Common control of {addr_a} and {addr_b}"
    return _finish("explain", title, {"from": addr_a, "to": addr_b}, {}, store, result,
                   list(dict.fromkeys(link["block_hash"] for link in links)), tags_for_addresses(store, [addr_a, addr_b]))


def account_finding(store: ChainStore, subject: str, params: Any = None, title: str | None = None) -> dict:
    """Forensic-accounting schedules of an entity or address (analysis.accounting) as a finding; the prices
    used (values and the sha256 of each series) are in the result, so the hash covers them."""
    from dataclasses import asdict

    from chaintrail.analysis.accounting import AccountParams, account

    params = params or AccountParams()
    result = account(store, subject, params)
    blocks = result.pop("block_hashes")
    p = result["period"]
    title = title or f"Sources and uses of funds of {subject}, {p['from']} to {p['to']} ({result['currency']})"
    return _finish("account", title, {"subject": subject}, asdict(params), store, result, blocks,
                   tags_for_addresses(store, [subject] if not subject.startswith(("cluster:", "entity:")) else []))


def make_finding(store: ChainStore, kind: str, spec: dict, params: dict, title: str | None = None,
                 other: ChainStore | None = None) -> dict:
    """Run the analysis a stored ``(kind, spec, params)`` describes (what a rerun does); ``other``: the store of
    the chain an Ethereum trace followed a bridge onto."""
    if kind == "trace":
        from chaintrail.analysis.tracing import TraceParams
        p = dict(params)
        currency = p.pop("currency", "USD")
        p["stop_categories"] = tuple(p.get("stop_categories") or ())
        return trace_finding(store, spec["source"], TraceParams(**p), title, currency)
    if kind == "screen":
        from chaintrail.analysis.screening import ScreenParams
        return screen_finding(store, spec["subject"], ScreenParams(**params), title)
    if kind == "explain":
        return explain_finding(store, spec["from"], spec["to"], title)
    if kind == "account":
        from chaintrail.analysis.accounting import AccountParams
        return account_finding(store, spec["subject"], AccountParams(**params), title)
    if kind.startswith("eth_"):
        from chaintrail.cases.eth_findings import make_eth_finding
        return make_eth_finding(store, kind, spec, params, title, other)
    raise UsageError(f"finding kind must be one of {', '.join(KINDS)}, not {kind!r}")


@dataclass
class Rerun:
    """A saved finding run again: whether it came out byte for byte the same, and where it did not."""

    finding_id: int | None
    stored_hash: str
    new_hash: str
    same_store: bool
    differences: list[str]

    @property
    def reproduced(self) -> bool:
        return self.stored_hash == self.new_hash and not self.differences

    def to_dict(self) -> dict:
        return {"finding_id": self.finding_id, "reproduced": self.reproduced, "stored_hash": self.stored_hash,
                "new_hash": self.new_hash, "same_store": self.same_store, "differences": self.differences}


def rerun(store: ChainStore, stored: Mapping[str, Any], other: ChainStore | None = None) -> Rerun:
    """Run a stored finding again on ``store`` (and ``other``, the chain an Ethereum trace crossed a bridge onto)
    and compare every hashed field's canonical bytes."""
    fresh = make_finding(store, stored["kind"], stored["spec"], stored["params"], stored.get("title"), other)
    diffs = [k for k in HASHED_FIELDS if canonical(fresh[k]) != canonical(stored[k])]
    return Rerun(stored.get("id"), stored["finding_hash"], fresh["finding_hash"],
                 fresh["store_hash"] == stored.get("store_hash"), diffs)


def tags_for_addresses(store: ChainStore, addresses: list[str]) -> list[dict]:
    """Every tag the tag store applies to these addresses (own and cluster-propagated), as evidence."""
    addresses = list(dict.fromkeys(a for a in addresses if a))
    if not addresses:
        return []
    try:
        from chaintrail.tags.propagation import Attribution
    except ImportError:  # a build without the tags package: findings carry no tags
        return []
    attr = Attribution.open(store)
    if attr is None:
        return []
    rows = query(store, "SELECT address, addr_num FROM raw.addresses WHERE list_contains($a, address)",
                 {"a": addresses}).to_pylist()
    num = {r["address"]: int(r["addr_num"]) for r in rows}
    out: list[dict] = []
    seen: dict[tuple, dict] = {}
    for address in addresses:
        if address not in num:
            continue
        for h in attr.hits(num[address]):
            t = h.tag
            # One entry per distinct attribution: an entity tagged on its 80 addresses is one piece of evidence.
            key = (address, t.label, t.kind, t.source, t.confidence, h.via)
            if key in seen:
                seen[key]["supporting_tags"] += 1
                continue
            seen[key] = {"address": address, "tag_address": t.address, "via": h.via, "label": t.label,
                         "kind": t.kind, "categories": list(t.risk_categories), "actor": t.actor, "source": t.source,
                         "confidence": t.confidence, "confidence_level": t.confidence_level,
                         "provenance": _portable_provenance(t), "conflict": bool(h.conflict),
                         "lastmod": t.lastmod.isoformat() if t.lastmod else None, "supporting_tags": 1}
            out.append(seen[key])
    return out


def _portable_provenance(t: Any) -> str:
    """Where a tag came from, without this machine's folders (the same TagPack gives the same words anywhere)."""
    parts = []
    if t.origin_file:
        parts.append(f"file {Path(t.origin_file).name}" + (f" line {t.origin_line}" if t.origin_line else ""))
    if t.origin_user:
        parts.append(f"added by {t.origin_user}")
    if t.origin_case:
        parts.append(f"case {t.origin_case}")
    return ", ".join(parts) or "unknown origin"


def chain_context(store: ChainStore, block_hashes: list[str]) -> dict:
    """The first and last block an analysis read (height and time), for dating what it found."""
    if not block_hashes:
        return {"blocks_read": 0, "first_block": None, "last_block": None}
    rows = query(store, "SELECT hash, height, time FROM blocks WHERE list_contains($h, hash) "
                        "ORDER BY height NULLS LAST, time, hash", {"h": sorted(set(block_hashes))}).to_pylist()
    return {"blocks_read": len(set(block_hashes)), "first_block": rows[0] if rows else None,
            "last_block": rows[-1] if rows else None}


def _blocks_of_txids(store: ChainStore, txids: list[str], subject: str) -> list[str]:
    """Block hashes (chain order) of the given txs and of every tx paying or spending the subject address."""
    rows = query(store, """
        SELECT DISTINCT t.block_hash, t.block_height FROM txs t
        WHERE list_contains($t, t.txid)
           OR t.txid IN (SELECT txid FROM outputs WHERE address = $s)
           OR t.txid IN (SELECT txid FROM inputs WHERE address = $s)
           OR t.txid = lower($s)
        ORDER BY t.block_height NULLS LAST, t.block_hash""", {"t": sorted(set(txids)) or [""], "s": subject})
    return [r["block_hash"] for r in rows.to_pylist()]

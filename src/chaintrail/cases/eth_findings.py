"""Ethereum findings: a trace or the Tornado leads of a deposit, saved with what they rest on (see ``findings``).

An ``eth_trace`` finding holds the trace's source and parameters (as ``chaintrail trace --chain eth``), the engine
version, the content hash of each analysis table it read (conversions, deposit addresses, entities), the block
hashes of every transaction that carried taint, the tags on the accounts it names, and the result. An
``eth_leads`` finding holds a Tornado deposit's (or an address's) leads with each heuristic's measured rates. The
finding hash covers the same fields as a Bitcoin finding's, so rerunning on the same store reproduces it.

Given the store of the chain a bridge leads to (``other``), an ``eth_trace`` follows the bridge's crossings onto
it (``analysis.eth.bridge_trace``): its block hashes are both chains' (this chain's first), its parameters name
the other store (``other_store``: chain id, tip block and hash, content hash), its versions hold the other
store's analysis inputs and tag sources, and its result the far chain's part (``other_chain``, with its own
block range and asset symbols). A rerun needs that store again, and says so when it is not given.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq

from chaintrail.cases.eth_methodology import TORNADO_PREFIX, eth_rates
from chaintrail.cases.findings import _portable_provenance, finding_hash
from chaintrail.cases.hashing import canonical, digest, sha256_hex
from chaintrail.cases.methodology import _tag_sources
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore

ETH_KINDS = ("eth_trace", "eth_leads", "eth_account")
_INPUTS = ("eth_conversions", "eth_deposit_addresses", "eth_clusters")


def _input_hashes(store: ChainStore, names: tuple[str, ...]) -> dict[str, str | None]:
    """Per analysis table: SHA-256 of its rows (None when absent), so a changed input changes the finding hash."""
    out: dict[str, str | None] = {}
    for name in names:
        path = store.path / "analysis" / f"{name}.parquet"
        out[name] = sha256_hex(repr(pq.read_table(path).to_pylist()).encode()) if path.exists() else None
    return out


def eth_versions(store: ChainStore, kind: str, inputs: tuple[str, ...] = _INPUTS) -> dict:
    from chaintrail.analysis.eth.deposits import VERSION as DEPOSITS_VERSION
    from chaintrail.analysis.eth.trace import ENGINE_VERSION

    v: dict[str, Any] = {"kind": kind, "chain": "eth", "trace_engine": ENGINE_VERSION,
                         "deposit_addresses": DEPOSITS_VERSION, "inputs": _input_hashes(store, inputs),
                         "tags": _tag_sources(store)}
    return v


def eth_tags_for_addresses(store: ChainStore, addresses: list[str]) -> list[dict]:
    """Every tag on these 0x accounts (own tags), as evidence in the shape ``findings.tags_for_addresses`` gives."""
    from chaintrail.tags.tagstore import TagStore

    addresses = list(dict.fromkeys(a.lower() for a in addresses if a))
    if not addresses:
        return []
    ts = TagStore(store.path)
    out, seen = [], set()
    for address in addresses:
        for t in ts.lookup(address):
            key = (address, t.label, t.kind, t.source, t.confidence)
            if key in seen:
                continue
            seen.add(key)
            out.append({"address": address, "tag_address": t.address, "via": "address", "label": t.label,
                        "kind": t.kind, "categories": list(t.risk_categories), "actor": t.actor, "source": t.source,
                        "confidence": t.confidence, "confidence_level": t.confidence_level,
                        "provenance": _portable_provenance(t), "conflict": False,
                        "lastmod": t.lastmod.isoformat() if t.lastmod else None, "supporting_tags": 1})
    return out


def eth_chain_context(store: ChainStore, block_hashes: list[str]) -> dict:
    """The first and last block an analysis read (number and time)."""
    from chaintrail.store.sql import query

    if not block_hashes:
        return {"blocks_read": 0, "first_block": None, "last_block": None}
    keys = sorted({bytes.fromhex(h[2:]) for h in block_hashes})
    rows = query(store, "SELECT '0x' || lower(hex(hash)) AS hash, number AS height, timestamp AS time "
                        "FROM raw.eth_blocks WHERE list_contains($h, hash) ORDER BY number", {"h": keys},
                 chain="eth").to_pylist()
    return {"blocks_read": len(keys), "first_block": rows[0] if rows else None,
            "last_block": rows[-1] if rows else None}


def _finish(kind: str, title: str, spec: dict, params: dict, store: ChainStore, result: dict, versions: dict,
            block_hashes: list[str], tags: list[dict], heuristics: list[str]) -> dict:
    # Plain JSON (tuples as lists), as the case database gives the finding back.
    result = json.loads(canonical({**result, "chain_context": eth_chain_context(store, block_hashes)}))
    params = json.loads(canonical(params))
    f = {"kind": kind, "title": title, "spec": spec, "params": params, "versions": versions,
         "error_rates": eth_rates(heuristics), "block_hashes": block_hashes, "tags": tags, "result": result,
         "result_hash": digest(result), "store_hash": store.content_hash()}
    f["finding_hash"] = finding_hash(f)
    return f


def _source_account(store: ChainStore, result: dict) -> str | None:
    """The account whose funds the trace starts from: the address, the named recipient, or the tx's sender."""
    from chaintrail.store.sql import query

    src = result["source"]
    if src.get("kind") == "address":
        return src["address"]
    if src.get("kind") == "transaction":
        if src.get("to"):
            return src["to"]
        rows = query(store, "SELECT from_address FROM eth_transactions WHERE hash = $h", {"h": src["tx_hash"]},
                     chain="eth").to_pylist()
        return rows[0]["from_address"] if rows else None
    return None


def _asset_info(store: ChainStore, result: dict) -> dict[str, dict]:
    """Symbol, name and decimals of every asset the result names (so reports and exports need no store)."""
    from chaintrail.analysis.eth.tokens import token_metadata

    tokens = token_metadata(store)
    out: dict[str, dict] = {}
    for a in sorted(set(result["totals"]) | {e["asset"] for e in result["endpoints"]}):
        if a == "ETH":
            out[a] = {"symbol": "ETH", "name": "Ether", "decimals": 18}
            continue
        t = tokens.get(bytes.fromhex(a.split("#")[0][2:]))
        out[a] = {"symbol": t.symbol if t else None, "name": t.name if t else None,
                  "decimals": t.decimals if t else None}
    return out


def trace_heuristics(result: dict) -> list[str]:
    """The measured heuristics an Ethereum trace rested on (keys of ``eth_rates``)."""
    names = []
    if any(e["kind"] == "deposit_address" for e in result["endpoints"]):
        names.append("eth:deposit-forwarding")
    if result["source"].get("kind") == "entity":
        names += ["eth:deposit-reuse", "eth:gas-funding", "eth:approval", "eth:deployer", "eth:airdrop"]
    tornado = _tornado_heuristics()
    steps = result.get("steps", [])
    for s in steps:
        for h in s.get("heuristics", []) or []:
            base = str(h).split(":")[-1]
            if base in tornado:
                names.append(TORNADO_PREFIX + base)
    # The leads policy records its leads per tainted deposit (``demix``) and at each withdrawal it followed.
    withdrawals = [s["tornado_withdrawal"] for s in steps if s.get("tornado_withdrawal")]
    leads = [d.get("lead") for d in result.get("demix", [])] + [w.get("lead") for w in withdrawals]
    used = [x["heuristic"] for x in leads if x and x.get("heuristic") in tornado]
    # Through a pool, where a withdrawal went on (or ended) rests on every lead the policy could pair by.
    params = result.get("params") or {}
    through = bool(result.get("demix") or withdrawals) and params.get("mixer_policy") in ("leads", "demix")
    considered = [h for h in params.get("lead_heuristics") or () if h in tornado] if through else []
    names += [TORNADO_PREFIX + h for h in used + considered]
    return list(dict.fromkeys(names))


def _tornado_heuristics() -> tuple[str, ...]:
    from chaintrail.analysis.eth.tornado_links import HEURISTICS
    return HEURISTICS


def eth_trace_params(*, direction: str = "forward", model: str = "haircut", asset: str = "all", max_hops: int = 10,
                     min_amount: int = 0, stop_categories: Any = ("exchange",), mixer_policy: str | None = None,
                     links: Any = (), lead_heuristics: str | Any = "all", until_exchange: bool = False) -> Any:
    """``EthTraceParams`` from what the CLI and the case API take, as ``chaintrail trace --chain eth`` builds them:
    ``lead_heuristics`` 'all', 'none' or a comma list; ``until_exchange`` expands the hops and the service stops."""
    from chaintrail.analysis.eth.trace import LEAD_HEURISTICS, EthTraceParams
    from chaintrail.analysis.tracing import SERVICE_STOPS

    if isinstance(lead_heuristics, str):
        h = lead_heuristics.strip().lower()
        heur = LEAD_HEURISTICS if h == "all" else () if h == "none" else tuple(
            x.strip() for x in h.split(",") if x.strip())
    else:
        heur = tuple(lead_heuristics)
    stops = tuple(stop_categories)
    if until_exchange:
        max_hops = max(max_hops, 1000)
        stops = tuple(sorted(set(stops) | set(SERVICE_STOPS)))
    params = EthTraceParams(direction=direction, model=model, asset=asset, max_hops=max_hops, min_amount=min_amount,
                            stop_categories=stops, mixer_policy=mixer_policy or "leads", lead_heuristics=heur,
                            links=tuple(links))
    params.check()
    return params


def store_identity(store: ChainStore) -> dict:
    """Which Ethereum store this is: chain id, tip block number and hash, and the content hash of its data."""
    eth = store.manifest.get("eth") or {}
    n = int(store.counts.get("eth_blocks", 0))
    tip_hash = "0x" + bytes(store.column("eth_blk_hash")[n - 1]).hex() if n else None
    return {"chain_id": eth.get("chain_id"), "tip_block": eth.get("first_block", 0) + n - 1 if n else None,
            "tip_hash": tip_hash, "store_hash": store.content_hash()}


def _blocks(result: dict) -> list[str]:
    return list(dict.fromkeys(s["block_hash"] for s in result["steps"] if s.get("block_hash")))


def eth_trace_finding(store: ChainStore, source: str, params: Any = None, title: str | None = None,
                      until_exchange: bool = False, other: ChainStore | None = None, currency: str = "USD") -> dict:
    """Trace funds on Ethereum from ``source`` (0xADDRESS, TXHASH[:0xTO], cluster:N) and make it a finding;
    with ``other``, across the bridge to that store's chain (see the module doc). Endpoints carry fiat (each in
    its asset's series on its day) in USD and ``currency``; a reporting currency other than USD is kept in the
    parameters, so a rerun values them the same way."""
    from chaintrail.analysis.eth.trace import EthTraceParams, EthTracer
    from chaintrail.analysis.eth.trace_result import records_requests

    params = params or EthTraceParams()
    params.check()
    if other is None:
        result = EthTracer(store).trace(source, params)
    else:
        from chaintrail.analysis.eth.bridge_trace import trace_across
        if params.direction != "forward":
            raise UsageError("a trace across a bridge (the other chain's store) goes forward only")
        result = trace_across(EthTracer(store), EthTracer(other), source, params)
    result["requests"] = records_requests(result)
    from chaintrail.analysis.eth.accounting import eth_trace_fiat
    eth_trace_fiat(store, result, currency)
    result["source_account"] = _source_account(store, result)
    result["asset_info"] = _asset_info(store, result)
    blocks = _blocks(result)
    addrs = [result["source_account"] or ""] + [e["address"] for e in result["endpoints"] if e["address"]]
    title = title or f"Forward {params.model} trace of {params.asset} from {source} (Ethereum)"
    versions = eth_versions(store, "eth_trace")
    tags = eth_tags_for_addresses(store, addrs)
    fparams = dict(result["params"])
    if currency.upper() != "USD":
        fparams["currency"] = currency.upper()
    if other is not None:
        far = result["other_chain"]
        far["requests"] = records_requests(far)
        far["asset_info"] = _asset_info(other, far)
        far_blocks = _blocks(far)
        far["block_hashes"] = far_blocks
        far["chain_context"] = eth_chain_context(other, far_blocks)
        blocks += [h for h in far_blocks if h not in blocks]
        fparams["other_store"] = store_identity(other)
        versions["other_chain"] = {"chain_id": fparams["other_store"]["chain_id"],
                                   "inputs": _input_hashes(other, _INPUTS), "tags": _tag_sources(other)}
        far_tags = eth_tags_for_addresses(other, [e["address"] for e in far["endpoints"] if e["address"]])
        tags += [{**t, "chain_id": fparams["other_store"]["chain_id"]} for t in far_tags]
    return _finish("eth_trace", title, {"source": source, "chain": "eth", "until_exchange": until_exchange},
                   fparams, store, result, versions, blocks, tags, trace_heuristics(result))


def eth_account_finding(store: ChainStore, subject: str, date_from: str | None = None, date_to: str | None = None,
                        currency: str = "USD", title: str | None = None) -> dict:
    """The forensic-accounting schedules of an Ethereum account or entity (``analysis.eth.accounting``) as a
    finding: per asset sources and uses, balance, months and FIFO gains, with every price series used (its
    SHA-256) in the result, the block hashes of every movement, and the tags naming the counterparties."""
    from chaintrail.analysis.eth.accounting import eth_account

    result = eth_account(store, subject, date_from=date_from, date_to=date_to, currency=currency)
    blocks = result.pop("block_hashes")
    s, period = result["subject"], result["period"]
    title = title or (f"Sources and uses of funds of {s['kind']} {s['id']} (Ethereum), {period['from'] or 'first'} "
                      f"to {period['to'] or 'last'} movement ({result['currency']})")
    params = {"date_from": date_from, "date_to": date_to, "currency": result["currency"], "lots": "fifo"}
    named = [s["id"]] if s["kind"] == "account" else []
    return _finish("eth_account", title, {"subject": subject.strip(), "chain": "eth"}, params, store, result,
                   eth_versions(store, "eth_account", ("eth_deposit_addresses", "eth_clusters")), blocks,
                   eth_tags_for_addresses(store, named + _named_counterparties(result)), [])


def _named_counterparties(result: dict) -> list[str]:
    """The counterparty accounts the schedules name by a tag (their tags are the evidence for those names)."""
    return sorted({f["counterparty"] for a in result["assets"] for f in a["flows"]
                   if f.get("counterparty") and f["category"] not in ("untagged", "network fee")})


def eth_leads_finding(store: ChainStore, deposit: str | None = None, address: str | None = None,
                      title: str | None = None) -> dict:
    """The Tornado leads of one deposit tx (or of one address), with their rates, as a finding."""
    from chaintrail.analysis.eth.tornado_links import NOT_PROOF, analyse, lead_rows
    from chaintrail.store.sql import query

    if deposit is None and address is None:
        raise UsageError("a Tornado leads finding needs a deposit transaction or an address")
    deposit, address = _hex_arg(deposit, 32, "deposit transaction"), _hex_arg(address, 20, "address")
    analyse(store)
    rows = lead_rows(store, deposit_tx=deposit, address=address)
    txs = sorted({r[k] for r in rows for k in ("deposit_tx", "withdrawal_tx") if r.get(k)})
    blocks = []
    if txs:
        blocks = [r["h"] for r in query(store, "SELECT DISTINCT '0x' || lower(hex(b.hash)) AS h, b.number FROM "
                                               "raw.eth_transactions t JOIN raw.eth_blocks b USING (block_seq) WHERE "
                                               "list_contains($t, t.hash) ORDER BY b.number",
                                        {"t": [bytes.fromhex(t[2:]) for t in txs]}, chain="eth").to_pylist()]
    result = {"subject": {"deposit": deposit, "address": address}, "leads": rows,
              "note": NOT_PROOF[0].upper() + NOT_PROOF[1:]}
    addrs = [a for r in rows for a in (r.get("depositor"), r.get("recipient")) if a]
    heur = [TORNADO_PREFIX + h for h in dict.fromkeys(r["heuristic"] for r in rows)]
    title = title or f"Tornado Cash leads for {deposit or address}"
    return _finish("eth_leads", title, {"deposit": deposit, "address": address, "chain": "eth"}, {}, store, result,
                   eth_versions(store, "eth_leads", ()), blocks, eth_tags_for_addresses(store, addrs), heur)


def _hex_arg(v: str | None, n: int, what: str) -> str | None:
    """``v`` as lower-case 0x hex of ``n`` bytes (None stays None); anything else is a usage error."""
    if v is None:
        return None
    t = v.strip().lower()
    if len(t) != 2 + 2 * n or not t.startswith("0x") or any(c not in "0123456789abcdef" for c in t[2:]):
        raise UsageError(f"{what} must be 0x and {2 * n} hex digits, not {v[:80]!r}")
    return t


def make_eth_finding(store: ChainStore, kind: str, spec: dict, params: dict, title: str | None = None,
                     other: ChainStore | None = None) -> dict:
    """Run the Ethereum analysis a stored ``(kind, spec, params)`` describes (what a rerun does); a trace that
    crossed a bridge needs the other chain's store (``other``) again."""
    if kind == "eth_trace":
        want = (params.get("other_store") or {}).get("chain_id")
        if want is not None and other is None:
            raise UsageError(f"this finding followed a bridge onto chain {want}: rerun it with that chain's store "
                             "(--other-store, or serve with --other-store)")
        if other is not None and want is None:
            other = None          # traced on one chain: the other store plays no part
        elif other is not None and (other.manifest.get("eth") or {}).get("chain_id") != want:
            raise UsageError(f"the other store holds chain {(other.manifest.get('eth') or {}).get('chain_id')}, "
                             f"not chain {want} this finding followed the bridge onto")
        from chaintrail.analysis.eth.trace import EthTraceParams
        names = set(EthTraceParams.__dataclass_fields__)
        p = {k: v for k, v in params.items() if k in names}
        p["stop_categories"] = tuple(p.get("stop_categories") or ())
        for k, v in list(p.items()):
            if isinstance(v, list):
                p[k] = tuple(v)
        return eth_trace_finding(store, spec["source"], EthTraceParams(**p), title, bool(spec.get("until_exchange")),
                                 other, params.get("currency") or "USD")
    if kind == "eth_leads":
        return eth_leads_finding(store, spec.get("deposit"), spec.get("address"), title)
    if kind == "eth_account":
        return eth_account_finding(store, spec["subject"], params.get("date_from"), params.get("date_to"),
                                   params.get("currency") or "USD", title)
    raise UsageError(f"not an Ethereum finding kind: {kind!r}")

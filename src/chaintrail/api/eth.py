"""Ethereum for the API: accounts, transactions, traces, screens, Tornado leads and entity links of a store's eth_* data.

One ``EthService`` per workbench, built lazily: a store without Ethereum data answers every Ethereum route
with 404 ("no Ethereum data"). Lookups go through sorted key arrays over the index columns (O(log n) per
address or transaction) and a per-account CSR of value flows, so an account's flows are paged without a scan;
the rows themselves come from the Parquet tables by parameterised SQL. Traces run the same ``EthTracer`` as
``chaintrail trace --chain eth`` (one per process, under a lock: its scratch arrays are shared), and recent
results are kept for paging, as the Bitcoin workbench does. Given the store of the chain a bridge leads to
(``other``), traces follow the bridge's crossings onto it and back (``analysis.eth.bridge_trace``), as
``chaintrail trace --chain eth --other-store`` does, and the graph joins both chains (``bridge_graph``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from chaintrail.api.errors import NotFoundError
from chaintrail.errors import UsageError
from chaintrail.i18n import N_, _

_NONE = 0xFFFFFFFF
_HEX = frozenset("0123456789abcdef")
RESULTS_KEPT = 8
NO_ETH = N_("this store holds no Ethereum data (chaintrail ingest eth)")


def _hex(b: Any) -> str | None:
    return None if b is None else "0x" + bytes(b).hex()


def _key(value: str, n_bytes: int, what: str) -> bytes:
    """The raw bytes of a 0x-hex address (20) or hash (32); UsageError naming the value otherwise."""
    s = value.strip().lower()
    body = s[2:] if s.startswith("0x") else s
    if len(body) != 2 * n_bytes or not set(body) <= _HEX:
        raise UsageError(_("not an Ethereum {what} (0x and {n} hex digits): {value!r}").format(
            what=_(what), n=2 * n_bytes, value=value[:80]))
    return bytes.fromhex(body)


class _Sorted:
    """Key -> row id by binary search over a sorted copy of a fixed-width byte column."""

    def __init__(self, col: np.ndarray):
        width = col.shape[1] if col.ndim == 2 else 0
        keys = np.ascontiguousarray(col).view(f"S{width}").ravel() if len(col) else np.zeros(0, "S1")
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def find(self, key: bytes) -> int | None:
        i = int(np.searchsorted(self.keys, key))
        # numpy's S dtype drops trailing zero bytes; compare the stored bytes padded back to width.
        if i < len(self.keys) and self.keys[i].ljust(len(key), b"\0") == key:
            return int(self.order[i])
        return None


class EthService:
    """The Ethereum side of one workbench (see the module docstring)."""

    def __init__(self, store, other=None):
        self.store = store
        self.far = EthService(other) if other is not None else None    # the bridge's far chain, if served
        self.n_addr = int(store.counts.get("eth_addresses", 0))
        self._lock = threading.Lock()          # building the indexes
        self._trace_lock = threading.Lock()    # the tracer's scratch, the screeners
        self._ready = False
        self._tracer = None
        self._tracer_far = None
        self._screeners: OrderedDict[str, Any] = OrderedDict()
        self._results: OrderedDict[tuple, dict] = OrderedDict()

    @property
    def present(self) -> bool:
        return self.n_addr > 0

    def _require(self) -> None:
        if not self.present:
            raise NotFoundError(_(NO_ETH))
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._build()

    def _build(self) -> None:
        from chaintrail.analysis.eth.entities import eth_cluster_labels
        from chaintrail.analysis.eth.tokens import token_metadata

        col = self.store.column
        self.addr_key = np.asarray(col("eth_addr_key"))
        self.addr_index = _Sorted(self.addr_key)
        self.tx_index = _Sorted(np.asarray(col("eth_tx_hash")))
        frm = np.asarray(col("eth_flow_from")).astype(np.int64)
        to = np.asarray(col("eth_flow_to")).astype(np.int64)
        n = len(frm)
        who = np.concatenate([frm, to])
        flow = np.concatenate([np.arange(n), np.arange(n)])
        keep = who != _NONE
        who, flow = who[keep], flow[keep]
        order = np.lexsort((flow, who))
        self.flow_of = flow[order]
        self.flow_ptr = np.searchsorted(who[order], np.arange(self.n_addr + 1)).astype(np.int64)
        self.labels = eth_cluster_labels(self.store)
        self.tokens = token_metadata(self.store)
        self.cluster_size = np.bincount(self.labels, minlength=int(self.labels.max()) + 1 if len(self.labels) else 0)
        self._ready = True

    def tags_changed(self) -> None:
        """Tags were added: stops and screens re-read them, kept results are dropped."""
        with self._trace_lock:
            self._tracer = None
            self._tracer_far = None
            self._screeners.clear()
            self._results.clear()

    # -- lookups ------------------------------------------------------------------------------------
    def addr_num(self, address: str) -> int:
        self._require()
        a = self.addr_index.find(_key(address, 20, N_("address")))
        if a is None:
            raise NotFoundError(_("address {address} is not in the store").format(address=address.strip().lower()))
        return a

    def tx_num(self, tx_hash: str) -> int:
        self._require()
        t = self.tx_index.find(_key(tx_hash, 32, N_("transaction hash")))
        if t is None:
            raise NotFoundError(_("transaction {txid} is not in the store").format(txid=tx_hash.strip().lower()))
        return t

    def _sql(self, con, sql: str, params: dict) -> list[dict]:
        return con.sql(sql, params=params).to_arrow_table().to_pylist()

    def _connect(self):
        from chaintrail.store.sql import connect
        return connect(self.store, "eth")

    def _symbols(self, con, assets: set[bytes]) -> dict[bytes, dict]:
        """Name, symbol and decimals of these token contracts (``analysis.eth.tokens``)."""
        return {a: {"name": t.name, "symbol": t.symbol, "decimals": t.decimals}
                for a in assets if (t := self.tokens.get(a)) is not None}

    def account(self, address: str, tags: list[dict]) -> dict:
        """An account: balances per asset (net change over the store's blocks), entity, tags, contract, token."""
        a = self.addr_num(address)
        key = bytes(self.addr_key[a])
        hexa = "0x" + key.hex()
        con = self._connect()
        try:
            bal = self._sql(con, "SELECT * FROM eth_balance_changes WHERE address = $a ORDER BY asset", {"a": hexa})
            token_keys = {bytes.fromhex(r["asset"][2:]) for r in bal if r["asset"] != "ETH"} | {key}
            tokens = self._symbols(con, token_keys)
            first = self._sql(con, "SELECT first_block FROM raw.eth_addresses WHERE addr_num = $n", {"n": a})
            contract = self._sql(con, "SELECT block_number, creator, by_internal_call, is_erc20, is_erc721, "
                                      "is_erc1155, proxy_implementation, bytecode_hash, octet_length(bytecode) AS "
                                      "code_size FROM raw.eth_contracts WHERE address = $k", {"k": key})
            deposit = self._sql(con, "SELECT hot_wallet, kind, first_block, n_customers, evidence FROM "
                                     "raw.eth_deposit_addresses WHERE address = $k", {"k": key})
        finally:
            con.close()
        balances = []
        for r in bal:
            t = tokens.get(bytes.fromhex(r["asset"][2:])) if r["asset"] != "ETH" else None
            balances.append({"asset": r["asset"], "symbol": "ETH" if r["asset"] == "ETH" else
                             (t or {}).get("symbol"), "decimals": 18 if r["asset"] == "ETH" else (t or {}).get("decimals"),
                             "net_change": r["net_change"], "flows": int(r["flows"]),
                             "first_block": r["first_block"], "last_block": r["last_block"]})
        c = contract[0] if contract else None
        tok = tokens.get(key)
        dep = deposit[0] if deposit else None
        cid = int(self.labels[a])
        return {
            "chain": "eth", "address": hexa, "first_block": first[0]["first_block"] if first else None,
            "is_contract": c is not None,
            "contract": None if c is None else {
                "block_number": c["block_number"], "creator": _hex(c["creator"]),
                "by_internal_call": bool(c["by_internal_call"]), "code_size": c["code_size"],
                "bytecode_hash": _hex(c["bytecode_hash"]), "is_erc20": bool(c["is_erc20"]),
                "is_erc721": bool(c["is_erc721"]), "is_erc1155": bool(c["is_erc1155"]),
                "proxy_implementation": _hex(c["proxy_implementation"])},
            "token": None if tok is None else {"name": tok["name"], "symbol": tok["symbol"],
                                               "decimals": tok["decimals"]},
            "deposit_address": None if dep is None else {
                "hot_wallet": _hex(dep["hot_wallet"]), "kind": dep["kind"], "first_block": dep["first_block"],
                "n_customers": dep["n_customers"], "evidence": dep["evidence"]},
            "cluster": cid, "cluster_size": int(self.cluster_size[cid]), "tags": tags, "balances": balances,
            "n_flows": int(self.flow_ptr[a + 1] - self.flow_ptr[a]),
        }

    def flows(self, address: str, offset: int, limit: int) -> dict:
        """A page of the value flows an account sent or received, in chain order."""
        a = self.addr_num(address)
        lo, hi = int(self.flow_ptr[a]), int(self.flow_ptr[a + 1])
        page = self.flow_of[lo + offset:min(hi, lo + offset + limit)].tolist()
        items: list[dict] = []
        if page:
            con = self._connect()
            try:
                rows = self._flow_rows(con, "f.flow_num BETWEEN $lo AND $hi AND list_contains($n, f.flow_num)",
                                       {"lo": page[0], "hi": page[-1], "n": page})
            finally:
                con.close()
            me = "0x" + bytes(self.addr_key[a]).hex()
            for r in rows:
                r["direction"] = "self" if r["from"] == r["to"] == me else "out" if r["from"] == me else "in"
                items.append(r)
        total = hi - lo
        return {"chain": "eth", "address": "0x" + bytes(self.addr_key[a]).hex(), "total": total, "offset": offset,
                "limit": limit, "next_offset": offset + len(page) if offset + len(page) < total else None,
                "items": items}

    def _flow_rows(self, con, where: str, params: dict) -> list[dict]:
        rows = self._sql(con, "SELECT f.flow_num, f.block_number, f.flow_index, f.kind, f.from_address, "
                              "f.to_address, f.asset, f.amount, f.token_id, t.hash AS tx_hash FROM raw.eth_value_flows f "
                              f"LEFT JOIN raw.eth_transactions t USING (tx_num) WHERE {where} ORDER BY f.flow_num",
                         params)
        tokens = self._symbols(con, {bytes(r["asset"]) for r in rows if r["asset"] is not None})
        return [{"flow": r["flow_num"], "tx_hash": _hex(r["tx_hash"]), "block_number": r["block_number"],
                 "kind": r["kind"], "from": _hex(r["from_address"]), "to": _hex(r["to_address"]),
                 "asset": _hex(r["asset"]) or "ETH",
                 "symbol": "ETH" if r["asset"] is None else (tokens.get(bytes(r["asset"])) or {}).get("symbol"),
                 "amount": str(r["amount"]), "token_id": None if r["token_id"] is None else str(r["token_id"])}
                for r in rows]

    def transaction(self, tx_hash: str) -> dict:
        """A transaction: its fields, block hash, value flows, token transfers and conversions (swaps, wraps)."""
        t = self.tx_num(tx_hash)
        con = self._connect()
        try:
            (tx,) = self._sql(con, """
                SELECT t.hash, t.block_number, b.hash AS block_hash, b.timestamp, t.transaction_index, t.nonce,
                       t.from_address, t.to_address, t.value, t.gas, t.gas_price, t.transaction_type,
                       t.receipt_status, t.receipt_gas_used, t.receipt_effective_gas_price,
                       t.receipt_contract_address, t.receipt_logs_count, octet_length(t.input) AS input_size, t.input
                FROM raw.eth_transactions t JOIN raw.eth_blocks b ON b.block_seq = t.block_seq
                WHERE t.tx_num = $t""", {"t": t})
            flows = self._flow_rows(con, "f.tx_num = $t", {"t": t})
            transfers = self._sql(con, "SELECT log_index, batch_index, standard, token_address, from_address, "
                                       "to_address, value, token_id FROM raw.eth_token_transfers WHERE tx_num = $t "
                                       "ORDER BY transfer_num", {"t": t})
            convs = self._sql(con, "SELECT conv_index, kind, trader, recipient, asset_in, amount_in, asset_out, "
                                   "amount_out, venue, n_hops, rate, evidence FROM raw.eth_conversions "
                                   "WHERE tx_num = $t ORDER BY conv_index", {"t": t})
            tokens = self._symbols(con, {bytes(r["token_address"]) for r in transfers if r["token_address"]}
                                   | {bytes(c[k]) for c in convs for k in ("asset_in", "asset_out") if c[k]})
        finally:
            con.close()

        def sym(asset) -> str | None:
            return "ETH" if asset is None else (tokens.get(bytes(asset)) or {}).get("symbol")

        return {
            "chain": "eth", "hash": _hex(tx["hash"]), "block_number": tx["block_number"],
            "block_hash": _hex(tx["block_hash"]), "timestamp": tx["timestamp"],
            "transaction_index": tx["transaction_index"], "nonce": tx["nonce"], "from": _hex(tx["from_address"]),
            "to": _hex(tx["to_address"]), "value": str(tx["value"]), "gas": tx["gas"],
            "gas_price": None if tx["gas_price"] is None else str(tx["gas_price"]),
            "transaction_type": tx["transaction_type"], "status": tx["receipt_status"],
            "gas_used": tx["receipt_gas_used"],
            "effective_gas_price": None if tx["receipt_effective_gas_price"] is None
            else str(tx["receipt_effective_gas_price"]),
            "contract_created": _hex(tx["receipt_contract_address"]), "logs": tx["receipt_logs_count"],
            "input_size": tx["input_size"], "selector": _hex(tx["input"][:4]) if tx["input"] else None,
            "flows": flows,
            "token_transfers": [{"log_index": r["log_index"], "batch_index": r["batch_index"],
                                 "standard": r["standard"], "token": _hex(r["token_address"]),
                                 "symbol": sym(r["token_address"]), "from": _hex(r["from_address"]),
                                 "to": _hex(r["to_address"]), "value": str(r["value"]),
                                 "token_id": None if r["token_id"] is None else str(r["token_id"])}
                                for r in transfers],
            "conversions": [{"kind": c["kind"], "trader": _hex(c["trader"]), "recipient": _hex(c["recipient"]),
                             "asset_in": _hex(c["asset_in"]) or "ETH", "symbol_in": sym(c["asset_in"]),
                             "amount_in": str(c["amount_in"]), "asset_out": _hex(c["asset_out"]) or "ETH",
                             "symbol_out": sym(c["asset_out"]), "amount_out": str(c["amount_out"]),
                             "rate": None if c["rate"] is None else str(c["rate"]), "venue": _hex(c["venue"]),
                             "hops": c["n_hops"], "evidence": c["evidence"]} for c in convs],
        }

    # -- analyses -----------------------------------------------------------------------------------
    def trace(self, spec: str, params, until_exchange: bool, currency: str = "USD") -> dict:
        """The full result, as ``chaintrail trace --chain eth --json`` prints it (endpoint fiat in ``currency``);
        recent ones kept for paging."""
        from chaintrail.analysis.eth.trace import EthTracer
        from chaintrail.analysis.eth.trace_graph import taint_graph
        from chaintrail.analysis.eth.trace_result import records_requests

        self._require()
        params.check()
        self._check_source(spec)
        currency = currency.upper()
        key = (spec, params, until_exchange, currency)
        with self._trace_lock:
            got = self._results.get(key)
            if got is not None:
                self._results.move_to_end(key)
                return got
            if self._tracer is None:
                self._tracer = EthTracer(self.store)
            if self.far is None or params.direction != "forward":
                out = self._tracer.trace(spec, params)
                graph = self._graph(taint_graph(self._tracer, *self._tracer.last_run, out))
            else:
                out, graph = self._across(spec, params)
            if until_exchange:
                out["requests"] = records_requests(out)
                if "other_chain" in out:
                    out["other_chain"]["requests"] = records_requests(out["other_chain"])
            from chaintrail.analysis.eth.accounting import eth_far_fiat, eth_trace_fiat

            eth_trace_fiat(self.store, out, currency)   # as the CLI: each endpoint in its asset's own series
            if "other_chain" in out and self.far is not None and self._tracer_far is not None:
                eth_far_fiat(self.store, self.far.store, out, self._tracer_far.bridge.wrapped_origin, currency)
            out = {**out, "graph": graph}
            self._results[key] = out
            while len(self._results) > RESULTS_KEPT:
                self._results.popitem(last=False)
        return out

    def _across(self, spec: str, params) -> tuple[dict, dict]:
        """A trace that follows bridges onto the far chain's store and back, and its two-chain graph."""
        from chaintrail.analysis.eth.bridge_graph import across_graph
        from chaintrail.analysis.eth.bridge_trace import trace_across
        from chaintrail.analysis.eth.trace import EthTracer

        far = self.far
        assert far is not None
        far._require()
        if self._tracer_far is None:
            self._tracer_far = EthTracer(far.store)
        out = trace_across(self._tracer, self._tracer_far, spec, params)
        graph = across_graph(self._tracer, self._tracer_far, out,
                             decorate=lambda g, tr: (self if tr is self._tracer else far)._graph(g))
        return out, graph

    def _graph(self, graph: dict) -> dict:
        """The trace graph with what the canvas shows beside it: each asset's symbol and decimals, and which
        accounts are contracts, token contracts (with symbol) or exchange deposit addresses."""
        assets = {e["asset"] for e in graph["edges"]} | {c[k] for c in graph["nodes"] if c["kind"] == "conversion"
                                                         for k in ("asset_in", "asset_out")}
        meta = {}
        for a in assets:
            if a == "ETH":
                meta[a] = {"symbol": "ETH", "decimals": 18}
                continue
            t = self.tokens.get(bytes.fromhex(a[2:42]))
            meta[a] = {"symbol": t.symbol if t else None, "decimals": (t.decimals if t else None) if "#" not in a
                       else 0}
        accounts = [n for n in graph["nodes"] if n["kind"] == "account"]
        keys = [bytes.fromhex(n["address"][2:]) for n in accounts]
        con = self._connect()
        try:
            contracts = {bytes(r["address"]) for r in self._sql(
                con, "SELECT address FROM raw.eth_contracts WHERE list_contains($k, address)", {"k": keys})}
            deposits = {bytes(r["address"]): _hex(r["hot_wallet"]) for r in self._sql(
                con, "SELECT address, hot_wallet FROM raw.eth_deposit_addresses WHERE list_contains($k, address)",
                {"k": keys})} if keys else {}
        finally:
            con.close()
        for n, k in zip(accounts, keys):
            t = self.tokens.get(k)
            n["is_contract"] = k in contracts
            n["token"] = None if t is None else {"symbol": t.symbol, "decimals": t.decimals}
            n["deposit_of"] = deposits.get(k)
        return {**graph, "assets": meta}

    def _check_source(self, spec: str) -> None:
        """404 for a source the store lacks, 400 for one that does not parse (before the engine sees it)."""
        s = spec.strip()
        if s.startswith("cluster:"):
            ref = s[8:]
            if not ref.isdigit() or len(ref) > 15:
                raise UsageError(_("not an entity: {spec!r} (cluster:N)").format(spec=s))
            return
        if len(s.lower().removeprefix("0x")) == 40:
            self.addr_num(s)
            return
        txh, _sep, to = s.partition(":")
        self.tx_num(txh)
        if to:
            self.addr_num(to)

    def screen(self, subject: str, hops: int, as_of: dt.date | None, currency: str = "USD") -> dict:
        """As ``chaintrail screen --chain eth --json``: exposure per asset with its fiat in ``currency``, dated
        sanctions, issuer freezes."""
        from chaintrail.analysis.eth.screen import EthScreener

        self._require()
        _key(subject, 20, N_("address"))
        day = (as_of or dt.date.today()).isoformat()
        with self._trace_lock:
            key = f"{day}|{currency.upper()}"
            sc = self._screeners.get(key)
            if sc is None:
                sc = EthScreener(self.store.path, hops=hops, as_of=dt.date.fromisoformat(day), currency=currency)
                self._screeners[key] = sc
                while len(self._screeners) > 2:
                    self._screeners.popitem(last=False)[1].close()
            sc.hops = hops
            return sc.screen(subject).to_dict()

    def leads(self, deposit: str | None, address: str | None) -> dict:
        """As ``chaintrail tornado leads --json``: pools, and the leads of a deposit or an address."""
        from chaintrail.analysis.eth.tornado import find_pools
        from chaintrail.analysis.eth.tornado_links import NOT_PROOF, analyse, lead_rows

        self._require()
        if deposit is not None:
            self.tx_num(deposit)
        if address is not None:
            _key(address, 20, N_("address"))
        with self._trace_lock:
            if not (self.store.path / "analysis" / "eth_tornado_leads.parquet").exists():
                m, _report = analyse(self.store)     # what `chaintrail tornado leads` writes, once
            else:
                m = find_pools(self.store)
            rows = lead_rows(self.store, deposit_tx=deposit, address=address)
        if deposit is not None and not rows and deposit.lower() not in self._deposit_txs():
            raise NotFoundError(_("transaction {txid} holds no deposit into a Tornado-style pool in this store").format(
                txid=deposit))
        pools = [{"pool": "0x" + p.address.hex(), "asset": "ETH" if p.asset is None else "0x" + p.asset.hex(),
                  "denomination": str(p.denomination), "deposits": p.deposits, "withdrawals": p.withdrawals}
                 for p in m.pools]
        return {"chain": "eth", "pools": pools, "leads": rows,
                "note": NOT_PROOF[0].upper() + NOT_PROOF[1:] + ": each lead carries its heuristic's measured "
                        "precision and chance-match rate."}

    def _deposit_txs(self) -> set[str]:
        from chaintrail.store.sql import query
        return {r["transaction_hash"] for r in query(self.store, "SELECT transaction_hash FROM eth_tornado_deposits",
                                                      chain="eth").to_pylist()}

    def explain(self, addr_a: str, addr_b: str) -> dict:
        """As ``chaintrail entity explain --chain eth --json``: why two accounts are one entity."""
        from chaintrail.analysis.eth.entities import explain_eth

        self.addr_num(addr_a)
        self.addr_num(addr_b)
        return {"from": addr_a, "to": addr_b, "links": explain_eth(self.store, addr_a, addr_b)}



def trace_page(out: dict, offset: int, limit: int, steps: bool, graph: bool = False) -> dict:
    """The /eth/trace body: the full result's hash, totals, requests and Tornado demix report, one page of its
    endpoints, and with ``graph`` the fund-flow graph (``analysis.eth.trace_graph``)."""
    eps = out["endpoints"]
    page = eps[offset:offset + limit]
    body = {k: out[k] for k in ("chain", "source", "model", "params", "engine", "trace_hash", "totals", "stats")}
    body.update(endpoints=page, endpoints_total=len(eps), offset=offset, limit=limit,
                next_offset=offset + len(page) if offset + len(page) < len(eps) else None,
                steps_total=len(out["steps"]), steps=out["steps"] if steps else None,
                notes=out.get("notes", []), requests=out.get("requests"), demix=out.get("demix", []),
                graph=out.get("graph") if graph else None, chain_id=out.get("chain_id"), fiat=out.get("fiat"),
                bridges=out.get("bridges", []))
    other = out.get("other_chain")
    if other is not None:      # the far chain's part of the trace: all its endpoints (few: what crossed)
        body["other_chain"] = {**{k: other[k] for k in ("chain", "chain_id", "source", "model", "params", "engine",
                                                        "totals", "stats", "endpoints")},
                               "fiat": other.get("fiat"), "requests": other.get("requests"), "bridges": other.get("bridges", []),
                               "demix": other.get("demix", []), "notes": other.get("notes", []),
                               "steps_total": len(other["steps"]), "steps": other["steps"] if steps else None}
    return body

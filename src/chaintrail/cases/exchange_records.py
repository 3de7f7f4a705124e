"""Exchange records from legal process: CSV legs read strictly and mapped onto the chain store.

An exchange (or an explorer export) answers a request with one row per
transaction leg: the transaction id, the address on that leg, the amount, a
direction, often a date, a fiat value and the account or wallet it belongs to.
Column names differ between providers, so each field accepts the usual names.

Each leg is then looked up in the store: is the transaction there (and in
which block), and does an output or input of it carry that address and that
amount? The answer per leg is one of ``matched_output``, ``matched_input``,
``amount_differs``, ``address_not_in_tx`` or ``tx_not_in_store``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation

from chaintrail.chains.address_case import normalize_address
from chaintrail.errors import DecodeError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

FORMAT = "exchange-records/1"
# field -> accepted column names (lower case), first match wins
COLUMNS = {
    "txid": ("transaction_id", "txid", "tx_hash", "transaction_hash", "hash", "tx_id"),
    "address": ("bitcoin_address", "address", "counterparty_address", "crypto_address", "wallet"),
    "amount_sat": ("amount_satoshi", "amount_sat", "value_sat", "satoshis", "amount_sats"),
    "amount_btc": ("amount_btc", "btc", "amount", "value_btc"),
    "direction": ("type", "direction", "side"),
    "date": ("date", "timestamp", "time", "datetime", "created_at"),
    "amount_usd": ("amount_usd", "usd", "value_usd", "fiat_amount"),
    "account": ("wallet_address", "account", "account_id", "customer_wallet", "target_address"),
    "entity": ("entity_name", "entity", "customer", "holder"),
}


@dataclass(frozen=True)
class Leg:
    line: int                 # 1-based line in the file (the header is line 1)
    txid: str
    address: str
    amount_sat: int
    direction: str | None
    date: str | None
    amount_usd: str | None
    account: str | None
    entity: str | None


def _find_columns(header: list[str], source: str) -> dict[str, int]:
    low = [h.strip().lower() for h in header]
    found = {}
    for fld, names in COLUMNS.items():
        for n in names:
            if n in low:
                found[fld] = low.index(n)
                break
    missing = [f for f in ("txid", "address") if f not in found]
    if "amount_sat" not in found and "amount_btc" not in found:
        missing.append("amount (amount_satoshi or amount_btc)")
    if missing:
        raise DecodeError(f"exchange records lack column(s) {', '.join(missing)}; header is {header}", source, 0)
    return found


def read_legs(data: bytes, source: str = "exchange records") -> list[Leg]:
    """Every leg of a CSV export; a malformed row is an error naming the file and its byte offset."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"exchange records are not UTF-8 ({exc.reason})", source, exc.start) from None
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln.encode()))
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise DecodeError("exchange records file is empty", source, 0) from None
    cols = _find_columns(header, source)
    legs = []
    for row in reader:
        n = reader.line_num
        if not any(c.strip() for c in row):
            continue
        at = offsets[min(n - 1, len(offsets) - 1)]
        if len(row) != len(header):
            raise DecodeError(f"line {n} has {len(row)} fields, the header {len(header)}", source, at)

        def get(f: str) -> str | None:
            i = cols.get(f)
            v = row[i].strip() if i is not None else ""
            return v or None

        txid = (get("txid") or "").lower()
        if len(txid) != 64 or any(c not in "0123456789abcdef" for c in txid):
            hint = " (an Ethereum reply? read it with --chain eth)" if txid.startswith("0x") else ""
            raise DecodeError(f"line {n}: {txid!r} is not a transaction id{hint}", source, at)
        address = get("address")
        if not address:
            raise DecodeError(f"line {n}: no address", source, at)
        legs.append(Leg(n, txid, normalize_address(address), _amount(get("amount_sat"), get("amount_btc"), n, source, at),
                        get("direction"), get("date"), get("amount_usd"),
                        normalize_address(get("account")) if get("account") else None, get("entity")))
    return legs


def _amount(sat: str | None, btc: str | None, n: int, source: str, at: int) -> int:
    try:
        if sat is not None:
            v = Decimal(sat)
        elif btc is not None:
            v = Decimal(btc) * 100_000_000
        else:
            raise InvalidOperation
    except InvalidOperation:
        raise DecodeError(f"line {n}: no readable amount ({sat or btc!r})", source, at) from None
    if v != v.to_integral_value() or v < 0:
        raise DecodeError(f"line {n}: amount {sat or btc} is not a whole, non-negative number of sats", source, at)
    return int(v)


def map_legs(store: ChainStore | None, legs: list[Leg]) -> dict:
    """Each leg's place on chain (or why it has none), with totals; the attachment's ``meta``."""
    txids = sorted({leg.txid for leg in legs})
    blocks: dict[str, tuple[str, int | None]] = {}
    outs: dict[str, list[tuple[int, str | None, int]]] = {}
    ins: dict[str, list[tuple[int, str | None, int | None]]] = {}
    if store is not None and txids:
        for r in query(store, "SELECT txid, block_hash, block_height FROM txs WHERE list_contains($t, txid)",
                       {"t": txids}).to_pylist():
            blocks[r["txid"]] = (r["block_hash"], r["block_height"])
        found = sorted(blocks)
        if found:
            for r in query(store, "SELECT txid, vout, address, value_sat FROM outputs WHERE list_contains($t, txid) "
                                  "ORDER BY txid, vout", {"t": found}).to_pylist():
                outs.setdefault(r["txid"], []).append((r["vout"], r["address"], r["value_sat"]))
            for r in query(store, "SELECT txid, vin, address, value_sat FROM inputs WHERE list_contains($t, txid) "
                                  "ORDER BY txid, vin", {"t": found}).to_pylist():
                ins.setdefault(r["txid"], []).append((r["vin"], r["address"], r["value_sat"]))
    per_leg = []
    counts: dict[str, int] = {}
    matched_sat = 0
    for leg in legs:
        status, side, index = _place(leg, blocks, outs, ins)
        counts[status] = counts.get(status, 0) + 1
        if status.startswith("matched"):
            matched_sat += leg.amount_sat
        bh = blocks.get(leg.txid)
        per_leg.append({"line": leg.line, "txid": leg.txid, "address": leg.address, "amount_sat": leg.amount_sat,
                        "direction": leg.direction, "status": status, "side": side, "index": index,
                        "block_hash": bh[0] if bh else None, "block_height": bh[1] if bh else None})
    dates = sorted(leg.date for leg in legs if leg.date)
    return {"format": FORMAT, "legs": len(legs), "transactions": len(txids),
            "transactions_in_store": len(blocks), "total_sat": sum(leg.amount_sat for leg in legs),
            "matched_sat": matched_sat, "by_status": dict(sorted(counts.items())),
            "accounts": sorted({leg.account for leg in legs if leg.account}),
            "entities": sorted({leg.entity for leg in legs if leg.entity}),
            "first_date": dates[0] if dates else None, "last_date": dates[-1] if dates else None,
            "block_hashes": sorted({v[0] for v in blocks.values()}), "per_leg": per_leg}


def _place(leg: Leg, blocks, outs, ins) -> tuple[str, str | None, int | None]:
    if leg.txid not in blocks:
        return "tx_not_in_store", None, None
    seen_address = False
    for side, items in (("output", outs.get(leg.txid, [])), ("input", ins.get(leg.txid, []))):
        for idx, addr, value in items:
            if addr is not None and normalize_address(addr) == leg.address:
                seen_address = True
                if value == leg.amount_sat:
                    return f"matched_{side}", side, idx
    return ("amount_differs" if seen_address else "address_not_in_tx"), None, None


def legs_as_dicts(legs: list[Leg]) -> list[dict]:
    return [asdict(leg) for leg in legs]


def eth_records_requests(findings: list[dict]) -> list[dict]:
    """What to ask each service for, from a case's Ethereum trace findings: per service and chain, every asset that
    arrived (amount in base units, symbol, decimals), the token contracts by address, and the deposit addresses with
    the transactions that paid them and the finding that traced them. A trace that crossed a bridge adds the far
    chain's services, under that chain's id (its ETH and tokens are other assets than this chain's)."""
    out: dict[tuple, dict] = {}
    for f in findings:
        if f["kind"] != "eth_trace":
            continue
        parts = [f["result"]] + ([f["result"]["other_chain"]] if f["result"].get("other_chain") else [])
        for r in parts:
            _add_requests(out, r, f["finding_hash"])
    return [{**s, "assets": sorted(s["assets"].values(), key=lambda a: a["asset"]),
             "token_contracts": sorted(s["token_contracts"].values(), key=lambda c: c["address"])}
            for _, s in sorted(out.items(), key=lambda kv: (kv[0][1] is not None, str(kv[0][1]), kv[0][0]))]


def _add_requests(out: dict, r: dict, finding_hash: str) -> None:
    info = r.get("asset_info") or {}
    chain = r.get("chain_id")
    for req in r.get("requests") or []:
        svc = out.setdefault((req["service"], chain), {"service": req["service"], "chain_id": chain, "assets": {},
                                                       "token_contracts": {}, "deposit_addresses": [],
                                                       "findings": []})
        for asset, amount in req["assets"].items():
            a = svc["assets"].setdefault(asset, {"asset": asset, "symbol": (info.get(asset) or {}).get("symbol"),
                                                 "decimals": (info.get(asset) or {}).get("decimals"),
                                                 "amount": "0"})
            a["amount"] = str(int(a["amount"]) + int(amount))
        for c in req["token_contracts"]:
            meta = info.get(c) or next((v for k, v in info.items() if k.split("#")[0] == c), {})
            svc["token_contracts"].setdefault(c, {"address": c, "symbol": meta.get("symbol"), "name": meta.get("name")})
        for d in req["deposits"]:
            svc["deposit_addresses"].append({**d, "finding_hash": finding_hash})
        if finding_hash not in svc["findings"]:
            svc["findings"].append(finding_hash)

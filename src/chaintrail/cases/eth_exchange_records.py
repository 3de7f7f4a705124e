"""An exchange's Ethereum reply to legal process: CSV legs read strictly and mapped onto the chain store.

One row per transaction leg, as for Bitcoin (``exchange_records``): the 0x transaction hash, the account on that
leg, the asset (ETH, or a token named by its contract address; a symbol alone is refused, since anyone can deploy a
token called USDT), the amount, a direction, a date, the customer account. Amounts come either in base units
(``amount_base_units``, wei) or in token units (``amount``: ``1234.5`` USDX) converted exactly with the token's
decimals, from the file's ``decimals`` column or the token contract in the store (both given: they must agree).

Reading is all or nothing: every bad row is reported as ``file:line: what is wrong`` and none is kept. Each leg is
then looked up in the store's value flows: ``matched_to`` (the account received that amount of that asset in the
transaction), ``matched_from`` (it sent it), ``amount_differs``, ``asset_differs``, ``address_not_in_tx`` or
``tx_not_in_store``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

from chaintrail.errors import DecodeError
from chaintrail.i18n import N_, _, fmt_number, ngettext
from chaintrail.store.chainstore import ChainStore

FORMAT = "exchange-records-eth/1"
MAX_LISTED = 20          # bad rows named in the error's message (all are in ``problems``)
MAX_FIELD = 10_000       # characters in one cell (csv's own limit is process-wide and other code may raise it)
_U256 = (1 << 256) - 1
COLUMNS = {
    "tx_hash": ("transaction_hash", "tx_hash", "txhash", "hash", "txid", "transaction_id", "tx_id"),
    "address": ("address", "counterparty_address", "crypto_address", "deposit_address", "ethereum_address", "wallet"),
    "contract": ("token_contract", "contract_address", "token_address", "contract"),
    "symbol": ("asset", "currency", "symbol", "token", "coin"),
    "units": ("amount", "quantity", "amount_token", "amount_units", "value"),
    "base": ("amount_base_units", "amount_raw", "raw_amount", "value_raw", "amount_wei", "value_wei", "base_units"),
    "decimals": ("decimals", "token_decimals"),
    "direction": ("type", "direction", "side"),
    "date": ("date", "timestamp", "time", "datetime", "created_at"),
    "amount_usd": ("amount_usd", "usd", "value_usd", "fiat_amount"),
    "account": ("account", "account_id", "customer_wallet", "wallet_address", "target_address"),
    "entity": ("entity_name", "entity", "customer", "holder"),
}
_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDR = re.compile(r"0x[0-9a-fA-F]{40}")
_UNITS = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


class EthRecordsError(DecodeError):
    """A reply with bad rows: ``problems`` holds one ``file:line: reason`` per bad row; nothing was read."""

    def __init__(self, problems: list[str], source: str):
        self.problems = problems
        shown = "; ".join(problems[:MAX_LISTED])
        more = _("; and {n} more").format(n=fmt_number(len(problems) - MAX_LISTED)) \
            if len(problems) > MAX_LISTED else ""
        super().__init__(ngettext("{n} bad row in the Ethereum exchange records, none imported: {shown}{more}",
                                  "{n} bad rows in the Ethereum exchange records, none imported: {shown}{more}",
                                  len(problems)).format(n=fmt_number(len(problems)), shown=shown, more=more), source)


@dataclass(frozen=True)
class Token:
    symbol: str | None
    decimals: int | None


@dataclass(frozen=True)
class EthLeg:
    line: int                 # 1-based line where the row starts (the header is line 1)
    tx_hash: str              # 0x, lower case
    address: str              # 0x, lower case
    asset: str                # "ETH" or the token contract (0x, lower case)
    symbol: str | None
    decimals: int | None      # None: a token the store does not know, its amount given in base units
    amount: int               # base units
    direction: str | None
    date: str | None
    amount_usd: str | None
    account: str | None
    entity: str | None


def store_tokens(store: ChainStore) -> dict[str, Token]:
    """Symbol and decimals of every token contract in the store, by 0x address."""
    from chaintrail.analysis.eth.tokens import token_metadata

    return {"0x" + a.hex(): Token(t.symbol, t.decimals) for a, t in token_metadata(store).items()}


def _account(v: str, what: str) -> str:
    """A 0x account in lower case; mixed case must be a valid EIP-55 checksum (a typo is caught, not mapped)."""
    from chaintrail.chains.ethereum.hexutil import is_checksum_address

    if not _ADDR.fullmatch(v):
        raise ValueError(_("{what} {value} is not 0x and 40 hex digits").format(what=_(what), value=repr(v[:80])))
    if not is_checksum_address(v):
        raise ValueError(_("{what} {value} fails its EIP-55 checksum (mistyped?)").format(what=_(what), value=v))
    return v.lower()


def _find_columns(header: list[str], source: str) -> dict[str, int]:
    low = [h.strip().lower() for h in header]
    found = {f: low.index(n) for f, names in COLUMNS.items() for n in reversed(names) if n in low}
    missing = [f for f in ("tx_hash", "address") if f not in found]
    if "units" not in found and "base" not in found:
        missing.append(_("amount (amount or amount_base_units)"))
    if missing:
        raise DecodeError(_("Ethereum exchange records lack column(s) {columns}; header is {header}").format(
            columns=", ".join(missing), header=[h[:40] for h in header[:30]]), source, 0)
    return found


def _base_units(units: str | None, base: str | None, decimals: int | None) -> int:
    if base is not None:
        if not base.isascii() or not base.isdigit():
            raise ValueError(_("amount in base units {value} is not a whole non-negative number").format(
                value=repr(base[:80])))
        n = int(base)
        if units is not None and decimals is not None and _base_units(units, None, decimals) != n:
            raise ValueError(_("amount {units} and amount in base units {base} disagree at {decimals} decimals").format(
                units=units, base=base, decimals=decimals))
    else:
        if units is None or not units.isascii() or not _UNITS.fullmatch(units):
            raise ValueError(_("amount {value} is not a plain decimal number (no sign, exponent or separators)").format(
                value=repr(units)))
        whole, _dot, frac = units.partition(".")
        frac = frac.rstrip("0")
        assert decimals is not None           # the caller refuses token units of unknown decimals
        if len(frac) > decimals:
            raise ValueError(_("amount {units} has more decimal places than the asset's {decimals} decimals").format(
                units=units, decimals=decimals))
        n = int(whole or "0") * 10 ** decimals + int(frac.ljust(decimals, "0") or "0")
    if n > _U256:
        raise ValueError(_("amount {value} is more than a uint256").format(value=(units or base or "")[:80]))
    return n


def _leg(line: int, get, tokens: Mapping[str, Token]) -> EthLeg:
    tx = (get("tx_hash") or "").lower()
    if not _HASH.fullmatch(tx):
        raise ValueError(_("{value} is not an Ethereum transaction hash (0x and 64 hex digits)").format(
            value=repr(tx[:80])))
    if not get("address"):
        raise ValueError(_("no address"))
    address = _account(get("address"), N_("address"))
    symbol, contract = get("symbol"), get("contract")
    file_dec = get("decimals")
    if file_dec is not None and not (file_dec.isascii() and file_dec.isdigit() and int(file_dec) <= 77):
        raise ValueError(_("decimals {value} is not a whole number from 0 to 77").format(value=repr(file_dec[:20])))
    if contract is None or contract.upper() == "ETH":
        if symbol is not None and symbol.upper() != "ETH":
            raise ValueError(_("token {symbol} named by symbol only: give its contract address (token symbols are "
                               "not unique)").format(symbol=repr(symbol[:40])))
        asset, symbol = "ETH", "ETH"
        decimals: int | None = 18
        if file_dec is not None and int(file_dec) != 18:
            raise ValueError(_("decimals {value} for ETH (ETH has 18)").format(value=file_dec))
    else:
        asset = _account(contract, N_("token contract"))
        known = tokens.get(asset)
        if known is not None and known.symbol and symbol and symbol != known.symbol:
            raise ValueError(_("symbol {symbol} but the contract {asset} in the store is {known}").format(
                symbol=repr(symbol[:40]), asset=asset, known=repr(known.symbol)))
        store_dec = known.decimals if known is not None else None
        if file_dec is not None and store_dec is not None and int(file_dec) != store_dec:
            raise ValueError(_("decimals {value} but the contract {asset} in the store has {decimals}").format(
                value=file_dec, asset=asset, decimals=store_dec))
        decimals = int(file_dec) if file_dec is not None else store_dec
        if decimals is None and get("base") is None:
            raise ValueError(_("decimals of token {asset} unknown (not in the store): add a decimals column or give "
                               "amount_base_units").format(asset=asset))
        symbol = symbol or (known.symbol if known is not None else None)
    amount = _base_units(get("units"), get("base"), decimals)
    account = get("account")
    return EthLeg(line, tx, address, asset, symbol, decimals, amount, get("direction"), get("date"),
                  get("amount_usd"), account.lower() if account and _ADDR.fullmatch(account) else account,
                  get("entity"))


def read_eth_legs(data: bytes, source: str = "exchange records", tokens: Mapping[str, Token] | None = None,
                  ) -> list[EthLeg]:
    """Every leg of an Ethereum reply, or ``EthRecordsError`` naming each bad row (``file:line``) and none read."""
    tokens = tokens or {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecodeError(_("exchange records are not UTF-8 ({reason})").format(reason=exc.reason), source,
                          exc.start) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DecodeError(_("exchange records file is empty"), source, 0) from None
    except csv.Error as exc:
        raise DecodeError(_("the header line does not parse as CSV ({error})").format(error=exc), source, 0) from None
    cols = _find_columns(header, source)
    legs: list[EthLeg] = []
    problems: list[str] = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{source}:{start}: " + _("not CSV ({error})").format(error=exc))
            break                             # the reader cannot resync after a broken quote
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(f"{source}:{start}: " + _("{n} fields, the header has {header}").format(
                n=len(row), header=len(header)))
            continue
        long = next((i for i, c in enumerate(row) if len(c) > MAX_FIELD), None)
        if long is not None:
            problems.append(f"{source}:{start}: " + _("field {i} is {n} characters long (at most {max})").format(
                i=long + 1, n=fmt_number(len(row[long])), max=fmt_number(MAX_FIELD)))
            continue

        def get(f: str, row: list[str] = row) -> str | None:
            i = cols.get(f)
            v = row[i].strip() if i is not None else ""
            return v or None

        try:
            legs.append(_leg(start, get, tokens))
        except ValueError as exc:
            problems.append(f"{source}:{start}: {exc}")
    if problems:
        raise EthRecordsError(problems, source)
    return legs


def map_eth_legs(store: ChainStore | None, legs: list[EthLeg]) -> dict:
    """Each leg's place in the store's value flows (or why it has none), with totals per asset; the attachment's
    ``meta``. Amounts are strings of base units."""
    from chaintrail.store.sql import query

    txs = sorted({leg.tx_hash for leg in legs})
    blocks: dict[str, tuple[str, int]] = {}
    flows: dict[str, list[tuple[str | None, str | None, str, int]]] = {}
    if store is not None and txs:
        rows = query(store, """
            SELECT '0x' || lower(hex(t.hash)) AS tx, '0x' || lower(hex(b.hash)) AS block_hash, b.number,
                   '0x' || lower(hex(f.from_address)) AS frm, '0x' || lower(hex(f.to_address)) AS dst,
                   coalesce('0x' || lower(hex(f.asset)), 'ETH') AS asset, f.amount
            FROM raw.eth_transactions t JOIN raw.eth_blocks b USING (block_seq)
            LEFT JOIN raw.eth_value_flows f ON f.tx_num = t.tx_num
            WHERE list_contains($t, t.hash) ORDER BY b.number, f.flow_index""",
                     {"t": [bytes.fromhex(t[2:]) for t in txs]}, chain="eth").to_pylist()
        for r in rows:
            blocks[r["tx"]] = (r["block_hash"], int(r["number"]))
            if r["amount"] is not None:
                flows.setdefault(r["tx"], []).append((r["frm"], r["dst"], r["asset"], int(r["amount"])))
    per_leg: list[dict] = []
    counts: dict[str, int] = {}
    assets: dict[str, dict] = {}
    for leg in legs:
        status = _place(leg, blocks, flows)
        counts[status] = counts.get(status, 0) + 1
        a = assets.setdefault(leg.asset, {"asset": leg.asset, "symbol": leg.symbol, "decimals": leg.decimals,
                                          "legs": 0, "total": 0, "matched": 0})
        a["legs"] += 1
        a["total"] += leg.amount
        if status.startswith("matched"):
            a["matched"] += leg.amount
        bh = blocks.get(leg.tx_hash)
        per_leg.append({"line": leg.line, "tx_hash": leg.tx_hash, "address": leg.address, "asset": leg.asset,
                        "amount": str(leg.amount), "direction": leg.direction, "status": status,
                        "block_hash": bh[0] if bh else None, "block_number": bh[1] if bh else None})
    dates = sorted(leg.date for leg in legs if leg.date)
    return {"format": FORMAT, "chain": "eth", "legs": len(legs), "transactions": len(txs),
            "transactions_in_store": len(blocks), "by_status": dict(sorted(counts.items())),
            "assets": [{**a, "total": str(a["total"]), "matched": str(a["matched"])}
                       for _, a in sorted(assets.items())],
            "accounts": sorted({leg.account for leg in legs if leg.account}),
            "entities": sorted({leg.entity for leg in legs if leg.entity}),
            "first_date": dates[0] if dates else None, "last_date": dates[-1] if dates else None,
            "block_hashes": sorted({v[0] for v in blocks.values()}), "per_leg": per_leg}


def _place(leg: EthLeg, blocks, flows) -> str:
    if leg.tx_hash not in blocks:
        return "tx_not_in_store"
    mine = [f for f in flows.get(leg.tx_hash, []) if leg.address in (f[0], f[1])]
    if not mine:
        return "address_not_in_tx"
    same = [f for f in mine if f[2] == leg.asset]
    if not same:
        return "asset_differs"
    for frm, dst, _asset, amount in same:
        if amount == leg.amount:
            return "matched_to" if dst == leg.address else "matched_from"
    return "amount_differs"

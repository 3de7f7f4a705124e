"""Forensic accounting of an Ethereum account or entity, per asset: sources and uses, balance, months, FIFO gains.

The subject is one account (0x...) or an entity (``cluster:N``, its accounts from ``analysis/eth_clusters``);
flows between an entity's own accounts are internal and left out. Every value flow into or out of the subject is
one movement (ETH by value or internal call, each ERC-20 transfer, wrap and unwrap, and gas: tip, base fee burnt
and blob fee as network fees). Per asset, exactly in base units (integers, no float):

    opening + sources - uses = closing = the subject's net change in ``eth_balance_changes`` (from genesis).

Fiat comes from ``store.prices`` at the UTC close of the block's day, per asset at its own series
(``priced_tokens``): ETH (and WETH, a 1:1 wrap of it) at ETH's; on mainnet USDT and USDC by their issuers'
contract addresses, elsewhere a token by its symbol where unique (a stablecoin is never assumed to be worth
1.00); any other token says it has no series. Lots are FIFO over the subject's line per asset
(``analysis.lots.fifo_costs_exact``), so in cents and exactly: opening cost + sources - uses + realised gain =
closing cost.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chaintrail.analysis.accounting import group_by_counterparty
from chaintrail.analysis.eth.priced_tokens import chain_id_of, price_series
from chaintrail.analysis.lots import fifo_costs_exact
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.prices import CONVENTION, DAY_S, PriceBook, iso_day
from chaintrail.store.sql import query

GAS_KINDS = ("fee_tip", "fee_burnt", "blob_fee_burnt")
FEES = ("network fee", "gas (tip, base fee burnt, blob fee)")


def _addr(subject: str) -> bytes:
    s = subject.strip().lower()
    if not (s.startswith("0x") and len(s) == 42):
        raise UsageError(f"an Ethereum account is 0x and 40 hex digits (or an entity cluster:N), not {subject!r}")
    try:
        return bytes.fromhex(s[2:])
    except ValueError:
        raise UsageError(f"an Ethereum account is 0x and 40 hex digits (or an entity cluster:N), not {subject!r}") \
            from None


def resolve_eth_subject(store: ChainStore, subject: str) -> tuple[dict, list[bytes]]:
    """(description, member addresses) of ``0xACCOUNT`` or an entity ``cluster:N`` (analysis/eth_clusters.parquet:
    every account whose entity id is N; before clustering an account is its own entity, N its addr_num)."""
    s = subject.strip()
    if not s.startswith(("cluster:", "entity:")):
        a = _addr(s)
        return {"kind": "account", "id": "0x" + a.hex(), "chain": "eth", "addresses": 1}, [a]
    n = s.split(":", 1)[1]
    if not n.isdigit():
        raise UsageError(f"an entity is cluster:N with N a number, not {subject!r}")
    from chaintrail.analysis.eth.entities import eth_cluster_labels

    labels = eth_cluster_labels(store)
    members = np.flatnonzero(labels == int(n))
    if not len(members):
        raise UsageError(f"no Ethereum entity {subject} in this store (chaintrail cluster --chain eth)")
    keys = np.asarray(store.column("eth_addr_key"))
    return ({"kind": "entity", "id": f"cluster:{int(n)}", "chain": "eth", "addresses": int(len(members))},
            sorted(bytes(keys[i]) for i in members.tolist()))


class _Names:
    """Counterparty names: the tag store's label and category, else the deposit address's service."""

    def __init__(self, root: Path):
        from chaintrail.tags.tagstore import TagStore

        self.by: dict[str, tuple[str, str]] = {}
        ts = TagStore(root)
        if len(ts):
            for r in ts.tags.select(["address", "label", "category", "risk_categories"]).to_pylist():
                a = (r["address"] or "").lower()
                if a.startswith("0x") and len(a) == 42 and a not in self.by:
                    cat = (r["risk_categories"] or [None])[0] or r["category"] or "tagged"
                    self.by[a] = (cat, r["label"] or a)
        dep = Path(root) / "analysis" / "eth_deposit_addresses.parquet"
        if dep.exists():
            for r in pq.read_table(dep).to_pylist():
                a, hot = "0x" + bytes(r["address"]).hex(), "0x" + bytes(r["hot_wallet"]).hex()
                if a not in self.by:
                    cat, name = self.by.get(hot, ("untagged", f"hot wallet {hot}"))
                    self.by[a] = (cat, f"{name} (deposit address)")

    def of(self, a: str | None, kind: str) -> tuple[str, str]:
        if kind in GAS_KINDS:
            return FEES
        if a is None:
            return ("minted", "minted or reward") if kind in ("block_reward", "withdrawal", "erc20") else \
                ("burnt", "burnt")
        return self.by.get(a, ("untagged", a))


def eth_account(store: ChainStore, subject: str, *, date_from: str | None = None, date_to: str | None = None,
                currency: str = "USD", book: PriceBook | None = None) -> dict:
    """The schedules of one Ethereum account, per asset (see the module docstring)."""
    from chaintrail.analysis.accounting import _day
    from chaintrail.analysis.eth.tokens import token_metadata

    desc, members = resolve_eth_subject(store, subject)
    mine = {"0x" + m.hex() for m in members}
    book = book if book is not None else PriceBook.open(store.path)
    cur = book.check_currency(currency)
    d0, d1 = _day(date_from, "--from"), _day(date_to, "--to")
    if d0 is not None and d1 is not None and d1 < d0:
        raise UsageError(f"--to {date_to} is before --from {date_from}")
    rows = query(store, """
        SELECT f.block_number, f.flow_index, f.kind, f.from_address, f.to_address, f.asset, f.amount, f.token_id,
               b.timestamp AS time, b.hash AS block_hash, t.hash AS tx_hash
        FROM raw.eth_value_flows f JOIN raw.eth_blocks b ON b.number = f.block_number
        LEFT JOIN raw.eth_transactions t USING (tx_num)
        WHERE f.from_address IN (SELECT unnest($a::BLOB[])) OR f.to_address IN (SELECT unnest($a::BLOB[]))
        ORDER BY f.block_number, f.flow_index""", {"a": members}).to_pylist()
    if not rows:
        raise UsageError(f"{desc['kind']} {desc['id']} has no value flows in this store")
    chain_id = chain_id_of(store)
    names = _Names(store.path)
    tokens = token_metadata(store)
    per: dict[str, list[dict]] = defaultdict(list)
    items: Counter[str] = Counter()
    for r in rows:
        frm = "0x" + bytes(r["from_address"]).hex() if r["from_address"] is not None else None
        to = "0x" + bytes(r["to_address"]).hex() if r["to_address"] is not None else None
        if frm == to or (frm in mine and to in mine):
            continue                                  # to itself, or between the entity's own accounts: no change
        asset = "ETH" if r["asset"] is None else "0x" + bytes(r["asset"]).hex()
        if r["token_id"] is not None:
            items[asset] += 1                         # NFT items are counted, not valued
            continue
        incoming = to in mine
        cat, name = names.of(frm if incoming else to, r["kind"])
        per[asset].append({"dir": "in" if incoming else "out", "amount": int(r["amount"]), "time": int(r["time"]),
                           "tx_hash": None if r["tx_hash"] is None else "0x" + bytes(r["tx_hash"]).hex(),
                           "block_hash": "0x" + bytes(r["block_hash"]).hex(), "kind": r["kind"],
                           "category": cat, "name": name, "counterparty": frm if incoming else to,
                           "account": to if incoming else frm})
    if not per:
        raise UsageError(f"{desc['kind']} {desc['id']} has no value flows in this store but NFT items")
    days = [int(f["time"]) // DAY_S for fl in per.values() for f in fl]
    # one period for every asset: the subject's first to last movement unless given
    d0 = d0 if d0 is not None else min(days)
    d1 = d1 if d1 is not None else max(days)
    assets = [_asset(book, cur, tokens, asset, flows, d0, d1, chain_id) for asset, flows in
              sorted(per.items(), key=lambda kv: (kv[0] != "ETH", kv[0]))]
    used = sorted({x["price_series"] for x in assets if x["price_series"]})
    missing = sorted({d for x in assets for d in x["missing_prices"]})
    return {"subject": desc, "chain": "eth", "chain_id": chain_id, "currency": cur,
            "lot_method": "fifo", "convention": CONVENTION,
            "period": {"from": iso_day(d0) if d0 is not None else None, "to": iso_day(d1) if d1 is not None else None},
            "assets": assets, "nft_items_not_valued": dict(items),
            "prices": book.sources_used(used, cur) if used else [], "missing_prices": missing,
            "block_hashes": list(dict.fromkeys(f["block_hash"] for fl in per.values() for f in fl))}


def _asset(book: PriceBook, cur: str, tokens: dict, asset: str, flows: list[dict], d0, d1,
           chain_id: int | None) -> dict:
    t = tokens.get(bytes.fromhex(asset[2:])) if asset != "ETH" else None
    decimals = 18 if asset == "ETH" else (t.decimals if t is not None else None)
    symbol = "ETH" if asset == "ETH" else (t.symbol if t is not None else None)
    series, how = price_series(book, tokens, asset, chain_id) if decimals is not None else \
        (None, f"token {asset} has no decimals: not valued")
    dec = int(decimals or 0)
    times = np.array([f["time"] for f in flows], np.int64)
    if series is not None:
        v = book.value(series, np.array([float(f["amount"]) for f in flows]), times, cur, dec)
        for i, f in enumerate(flows):
            f["fiat_cents"] = None if np.isnan(v.cents[i]) else int(v.cents[i])
            f["price"] = v.row(i)
    for f in flows:
        f.setdefault("fiat_cents", None)
        f["day"] = iso_day(int(f["time"]) // DAY_S)
    first, last = int(times.min()) // DAY_S, int(times.max()) // DAY_S
    lo, hi = (d0 if d0 is not None else first), (d1 if d1 is not None else last)
    _fifo(flows, series is not None)
    before = [f for f in flows if int(f["time"]) // DAY_S < lo]
    inside = [f for f in flows if lo <= int(f["time"]) // DAY_S <= hi]
    sign = lambda f: f["amount"] if f["dir"] == "in" else -f["amount"]  # noqa: E731
    opening = sum(sign(f) for f in before)
    src = sum(f["amount"] for f in inside if f["dir"] == "in")
    use = sum(f["amount"] for f in inside if f["dir"] == "out")
    c = lambda fs: sum(f["fiat_cents"] or 0 for f in fs)  # noqa: E731
    opening_cost = c([f for f in before if f["dir"] == "in"]) - sum(f.get("cost_cents") or 0 for f in before
                                                                    if f["dir"] == "out")
    src_c, use_c = c([f for f in inside if f["dir"] == "in"]), c([f for f in inside if f["dir"] == "out"])
    gain = sum(f.get("gain_cents") or 0 for f in inside if f["dir"] == "out")
    closing = opening + src - use
    market = None
    if series is not None and closing >= 0:
        mv = book.value(series, np.array([float(closing)]), np.array([hi * DAY_S]), cur, dec)
        market = None if np.isnan(mv.cents[0]) else int(mv.cents[0])
    bal = opening
    points: list[dict] = []
    for f in inside:
        bal += sign(f)
        if points and points[-1]["tx_hash"] == f["tx_hash"] and f["tx_hash"] is not None:
            points[-1]["balance"] = str(bal)
        else:
            points.append({"tx_hash": f["tx_hash"], "time": f["time"], "day": f["day"], "balance": str(bal)})
    return {
        "asset": asset, "symbol": symbol, "decimals": decimals, "price_series": series, "price_note": how,
        "totals": {"opening": str(opening), "sources": str(src), "uses": str(use), "closing": str(closing),
                   "opening_cost_cents": opening_cost, "sources_cents": src_c, "uses_cents": use_c,
                   "realised_gain_cents": gain, "closing_cost_cents": opening_cost + src_c - use_c + gain,
                   "closing_market_cents": market, "closing_day": iso_day(hi)},
        "sources": _group([f for f in inside if f["dir"] == "in"]),
        "uses": _group([f for f in inside if f["dir"] == "out"]),
        "monthly": _monthly(inside), "balance": points,
        "disposals": [{k: f.get(k) for k in ("tx_hash", "day", "amount", "category", "name", "fiat_cents",
                                             "cost_cents", "gain_cents")} | {"amount": str(f["amount"])}
                      for f in inside if f["dir"] == "out"],
        "flows": [{k: f.get(k) for k in ("tx_hash", "day", "dir", "kind", "category", "name", "counterparty",
                                         "account", "fiat_cents", "price")} | {"amount": str(f["amount"])}
                  for f in inside],
        "missing_prices": sorted({f["day"] for f in flows if series is not None and f["fiat_cents"] is None}),
        "note": None if closing >= 0 else ("the account sent more than the store shows it receiving: it held funds "
                                          "before the store's first block (a genesis allocation, or history not "
                                          "ingested); its opening balance is unknown and those uses have no cost"),
    }


def _fifo(flows: list[dict], priced: bool) -> None:
    """Cost and gain of every out-flow under FIFO over the asset's line (exact integers)."""
    ins = [f for f in flows if f["dir"] == "in"]
    outs = [f for f in flows if f["dir"] == "out"]
    costs, known = fifo_costs_exact([f["amount"] for f in ins], [f["fiat_cents"] or 0 for f in ins],
                                    [f["fiat_cents"] is not None for f in ins], [f["amount"] for f in outs])
    for f, cst, k in zip(outs, costs, known):
        f["cost_cents"] = cst if priced else None
        f["gain_cents"] = f["fiat_cents"] - cst if priced and k and f["fiat_cents"] is not None else None


def _group(flows: list[dict]) -> list[dict]:
    return [{**r, "amount": str(r["amount"])} for r in group_by_counterparty(flows, "amount", "flows")]


def _monthly(flows: list[dict]) -> list[dict]:
    m: dict[str, dict] = {}
    for f in flows:
        row = m.setdefault(f["day"][:7], {"month": f["day"][:7], "receipts": 0, "disbursements": 0,
                                         "receipts_cents": 0, "disbursements_cents": 0})
        k = "receipts" if f["dir"] == "in" else "disbursements"
        row[k] += f["amount"]
        row[f"{k}_cents"] += f["fiat_cents"] or 0
    return [{**r, "receipts": str(r["receipts"]), "disbursements": str(r["disbursements"])}
            for _, r in sorted(m.items())]


def eth_trace_fiat(store: ChainStore, out: dict, currency: str = "USD", book: PriceBook | None = None,
                   series_of=price_series) -> None:
    """Fiat on an Ethereum trace's endpoints (in place), the one function the CLI and the API use.

    Each endpoint is valued in its own asset's series (``price_series``) at the UTC close of the day of the last
    transaction that paid it; an endpoint with no transaction (held at the source, burnt) or an asset without a
    series says why it has no value. ``out["fiat"]`` names the currency, the rule and the series used.
    """
    from chaintrail.analysis.eth.tokens import token_metadata

    book = book if book is not None else PriceBook.open(store.path)
    cur = book.check_currency(currency)
    eps = out.get("endpoints") or []
    if not book or not eps:
        return
    tokens = token_metadata(store)
    chain_id = chain_id_of(store)
    last = {e["txs"][-1] for e in eps if e.get("txs")}
    rows = query(store, """SELECT t.hash, b.timestamp FROM raw.eth_transactions t
                           JOIN raw.eth_blocks b ON b.number = t.block_number
                           WHERE t.hash IN (SELECT unhex(unnest($h::VARCHAR[])))""",
                 {"h": sorted(h[2:] for h in last) or [""]}).to_pylist()
    when = {"0x" + bytes(r["hash"]).hex(): int(r["timestamp"]) for r in rows}
    series: dict[str, tuple[str | None, str, int | None]] = {}
    used = set()
    for e in eps:
        asset = e["asset"]
        if "#" in asset:
            e["fiat"] = {"usd": None, "missing": "an NFT item: not valued"}
            continue
        if asset not in series:
            t = tokens.get(bytes.fromhex(asset[2:])) if asset != "ETH" else None
            dec = 18 if asset == "ETH" else (t.decimals if t is not None else None)
            s, how = series_of(book, tokens, asset, chain_id) if dec is not None else \
                (None, f"token {asset} has no decimals")
            series[asset] = (s, how, dec)
        s, how, dec = series[asset]
        tx = (e.get("txs") or [None])[-1]
        if s is None or tx not in when:
            e["fiat"] = {"usd": None, "missing": how if s is None else "no transaction paid it: not valued"}
            continue
        used.add(s)
        v = book.value(s, np.array([float(int(e["amount"]))]), np.array([when[tx]]), cur, int(dec or 0)).row(0)
        e["fiat"] = {**v, "series": s, "tx": tx}
    out["fiat"] = {"currency": cur, "convention": CONVENTION + "; an endpoint at the day of the last transaction "
                   "that paid it", "prices": book.sources_used(sorted(used), cur) if used else []}


def eth_far_fiat(near: ChainStore, far: ChainStore, out: dict, wrapped_origin: dict[bytes, bytes],
                 currency: str = "USD", book: PriceBook | None = None) -> None:
    """Fiat on the far chain's part of a bridged trace (``out["other_chain"]``, in place), as ``eth_trace_fiat``.

    A bridge's wrapped token is valued at the series of the asset it stands for on the traced chain (its
    ``AssetAdded`` origin, ``bridge_legs.ChainBridge.wrapped_origin``), not by its own symbol; any other asset of
    the far chain by ``price_series`` with the far store's tokens and chain id. The prices are the traced store's
    (``book``), the same series its own endpoints use.
    """
    from chaintrail.analysis.eth.tokens import token_metadata

    other = out.get("other_chain")
    if not other:
        return
    book = book if book is not None else PriceBook.open(near.path)
    near_tokens, near_id = token_metadata(near), chain_id_of(near)

    def series_of(bk: PriceBook, tokens: dict, asset: str, chain_id: int | None) -> tuple[str | None, str]:
        origin = wrapped_origin.get(bytes.fromhex(asset[2:42])) if asset != "ETH" else None
        if origin is None:
            return price_series(bk, tokens, asset, chain_id)
        what = "ETH" if origin == bytes(20) else "0x" + origin.hex()
        s, how = price_series(bk, near_tokens, what, near_id)
        return s, (f"{asset} on chain {chain_id} is the bridge's wrapped {what} of chain {near_id} (its AssetAdded "
                   f"event): {how}")

    eth_trace_fiat(far, other, currency, book, series_of)


def eth_rows(result: dict) -> list[dict]:
    """The movements of an Ethereum schedule as flat rows, every asset's (CSV export): exact base units, the
    amount in the asset's units, and the value in the reporting currency at the day's close."""
    cur = result["currency"].lower()
    out = []
    for a in result["assets"]:
        dec = a["decimals"]
        for f in a["flows"]:
            p = f.get("price") or {}
            out.append({"tx_hash": f["tx_hash"] or "", "day": f["day"], "direction": f["dir"], "kind": f["kind"],
                        "asset": a["asset"], "symbol": a["symbol"] or "", "amount_base": f["amount"],
                        "amount": "" if dec is None else _decimal(int(f["amount"]), int(dec)),
                        "account": f.get("account") or "", "counterparty_category": f["category"],
                        "counterparty": f["name"], "counterparty_address": f.get("counterparty") or "",
                        "price_usd": "" if p.get("price_usd") is None else p["price_usd"],
                        "value_usd": "" if p.get("usd") is None else f"{p['usd']:.2f}",
                        **({f"value_{cur}": "" if f["fiat_cents"] is None else f"{f['fiat_cents'] / 100:.2f}"}
                           if cur != "usd" else {}),
                        "price_series": a["price_series"] or "", "fx_note": p.get("fx_note", "")})
    return out


def _decimal(n: int, decimals: int) -> str:
    """Exact base units as a plain decimal string (no float)."""
    whole, frac = divmod(abs(n), 10 ** decimals)
    text = str(whole) + (f".{frac:0{decimals}d}".rstrip("0") if frac and decimals else "")
    return ("-" if n < 0 else "") + text

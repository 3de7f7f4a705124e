"""Ethereum screening: an account's exposure per asset to each risk category, a risk level, freeze options.

For one account of an Ethereum store, with the tags of the same folder:

* its own tags and its entity's (``analysis/eth_clusters.parquet``) definer tags;
* incoming exposure: what it received, followed backward over value flows up to ``hops``; outgoing: what it
  sent, followed forward. Per asset (ETH and each token): at an untagged account, the amount arriving is passed
  over that account's flows of the same asset before it (backward) or after it (forward), in proportion to
  their amounts and never more than arrived (floor, exact integer base units; a branch holds at most 200
  such flows). Gas is no exposure. Swaps are not crossed here (``analysis/eth/trace.py`` follows conversions).
* tagged accounts stop a branch: hop 1 is direct exposure, hops 2..n indirect. Tornado pools are mixers by
  their tags and by their own ``Deposit``/``Withdrawal`` events, tagged or not.
* sanctions are dated: the OFAC list's snapshot date is named, and a designation delisted before ``as_of``
  (Tornado Cash, 2025-03-21) is reported as delisted, not as sanctioned.
* tokens whose contract (or its proxy's implementation) has an issuer blacklist function (USDT's
  ``addBlackList``, USDC's ``blacklist``, ``freeze``) are named with the action: "USDX held at 0x... can be
  frozen by its issuer; request a freeze".
* each exposure's fiat value (``fiat``): every part valued in its asset's price series (``priced_tokens``) at the
  UTC close of the day it reached (outgoing) or left (incoming) the tagged account, summed by
  ``store.prices.exposure_fiat``; a part on a day without a close, or an asset without a series, says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.analysis.risk import LEVELS, RANK, RiskPolicy
from chaintrail.chains.ethereum.hexutil import keccak256, selector
from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.eth_schema import FLOW_KIND
from chaintrail.store.prices import CONVENTION, QUOTE, PriceBook, exposure_fiat
from chaintrail.store.sql import query
from chaintrail.tags import taxonomy as tx
from chaintrail.tags.sanction_dates import status as sanction_status
from chaintrail.tags.tagstore import TagStore

NONE32 = np.uint32(0xFFFFFFFF)
FREEZE_FUNCTIONS = ("addBlackList(address)", "blacklist(address)", "freeze(address)", "addToBlacklist(address)",
                    "blockAccount(address)")
TORNADO_EVENTS = ("Deposit(bytes32,uint32,uint256)", "Withdrawal(address,bytes32,address,uint256)")
_MOVES = np.array([FLOW_KIND[k] for k in ("tx_value", "internal", "create", "selfdestruct", "erc20", "erc721",
                                          "erc1155")], np.uint8)


@dataclass
class EthExposure:
    category: str
    direction: str            # self | incoming | outgoing
    asset: str                # ETH or the token's 0x address
    symbol: str
    amount: int               # base units
    share: float              # of the traced amount of this asset in this direction
    traced: int
    direct: int = 0
    indirect: int = 0
    min_hops: int = 0
    max_hops: int = 0
    counterparty: str | None = None
    path: list[str] = field(default_factory=list)     # tx hashes, subject side first
    tags: list[dict] = field(default_factory=list)
    fiat: dict | None = None  # the parts valued on their days (store.prices.exposure_fiat); None: no prices


@dataclass
class EthScreenResult:
    subject: str
    in_store: bool
    cluster: int | None
    as_of: str
    tags: list[dict]
    exposures: list[EthExposure]
    holdings: dict[str, str]
    freeze: list[dict]
    sanction_lists: list[dict]
    risk: dict
    params: dict
    fiat: dict | None = None      # currency, day convention and the price series used; None without prices

    def to_dict(self) -> dict:
        return {"subject": self.subject, "chain": "eth", "in_store": self.in_store, "cluster": self.cluster,
                "as_of": self.as_of, "risk": self.risk, "tags": self.tags,
                "exposures": [asdict(e) for e in self.exposures], "holdings": self.holdings,
                "freeze": self.freeze, "sanction_lists": self.sanction_lists, "params": self.params, "fiat": self.fiat}


class EthScreener:
    """Screens Ethereum accounts of one store against the tags kept beside it."""

    def __init__(self, root: str | Path, hops: int = 3, as_of: dt.date | None = None,
                 policy: RiskPolicy | None = None, currency: str = QUOTE):
        if hops < 0:
            raise UsageError("hops must not be negative")
        self.root = Path(root)
        if not (self.root / "MANIFEST.json").exists():
            raise UsageError(f"{self.root}: no chain store here (run chaintrail ingest eth first)")
        self.store = ChainStore(self.root)
        if not self.store.counts.get("eth_addresses"):
            raise UsageError(f"{self.root}: the store holds no Ethereum data")
        self.hops, self.as_of, self.policy = hops, as_of or dt.date.today(), policy or RiskPolicy()
        st = self.store
        self.n = st.counts["eth_addresses"]
        self.keys = np.asarray(st.column("eth_addr_key"))
        self.f_tx = np.asarray(st.column("eth_flow_tx"))
        self.f_from = np.asarray(st.column("eth_flow_from"))
        self.f_to = np.asarray(st.column("eth_flow_to"))
        self.f_asset = np.asarray(st.column("eth_flow_asset"))
        kind = np.asarray(st.column("eth_flow_kind"))
        self.f_amt = _amounts(st, kind)
        self.moves = np.isin(kind & np.uint8(0x7F), _MOVES) & (self.f_from != NONE32) & (self.f_to != NONE32)
        self.tx_hash = np.asarray(st.column("eth_tx_hash"))
        mv = np.flatnonzero(self.moves)
        self.out_order = mv[np.lexsort((mv, self.f_from[mv]))]
        self.in_order = mv[np.lexsort((mv, self.f_to[mv]))]
        self.out_key = self.f_from[self.out_order].astype(np.int64)
        self.in_key = self.f_to[self.in_order].astype(np.int64)
        self.tags = TagStore(self.root)
        self._load_tags()
        self._symbols = self._token_symbols()
        self.labels = _labels(st, self.n)
        self.book = PriceBook.open(self.root)
        self.currency = self.book.check_currency(currency)
        self._series: dict[str, tuple[str | None, str, int | None]] = {}

    def close(self) -> None:
        self.store.close()

    # -- tags ----------------------------------------------------------------------------------------
    def hex(self, a: int) -> str:
        return "0x" + bytes(self.keys[a]).hex()

    def num(self, address: str) -> int | None:
        a = address.strip().lower()
        if not (a.startswith("0x") and len(a) == 42):
            raise UsageError(f"{address!r} is not an Ethereum address (0x and 40 hex digits)")
        try:
            key = bytes.fromhex(a[2:])
        except ValueError:
            raise UsageError(f"{address!r} is not an Ethereum address (0x and 40 hex digits)") from None
        return self.key_of.get(key)

    @property
    def key_of(self) -> dict[bytes, int]:
        if not hasattr(self, "_key_of"):
            self._key_of = {bytes(k): i for i, k in enumerate(self.keys)}
        return self._key_of

    def _load_tags(self) -> None:
        """Category bits per account, with dated sanctions applied as of ``as_of``."""
        t = self.tags.tags
        self.bits = np.zeros(self.n, np.uint16)
        self.tag_rows: dict[int, list[int]] = {}
        self.lists: dict[str, dict] = {}
        self.notes: dict[int, list[str]] = {}
        if t.num_rows:
            addr = t["address"]
            hexed = pc.starts_with(addr, "0x")
            rows = np.flatnonzero(pc.fill_null(hexed, False).to_numpy(zero_copy_only=False))
            cats = t["risk_categories"].to_pylist()
            srcs, files, dates = t["source"].to_pylist(), t["origin_file"].to_pylist(), t["lastmod"].to_pylist()
            labels = t["label"].to_pylist()
            addrs = addr.to_pylist()
            for r in rows.tolist():
                a = self.key_of.get(bytes.fromhex(addrs[r][2:])) if len(addrs[r]) == 42 else None
                if a is None:
                    continue
                c = list(cats[r] or [])
                if "sanctioned" in c:
                    name = labels[r] or "sanctions list"
                    st = sanction_status(addrs[r], dates[r], self.as_of, name)
                    self.lists.setdefault(f"{files[r]}", {"list": name, "file": files[r], "source": srcs[r],
                                                          "date": dates[r].isoformat() if dates[r] else None})
                    self.notes.setdefault(a, []).append(st.words)
                    if not st.applies:
                        c.remove("sanctioned")
                self.bits[a] |= np.uint16(tx.bits_of(c))
                self.tag_rows.setdefault(a, []).append(r)
        for pool in self._tornado_pools():
            self.bits[pool] |= np.uint16(tx.BIT["mixer"])
            self.notes.setdefault(pool, []).append("emits Tornado Deposit/Withdrawal events: a mixer pool")

    def _tornado_pools(self) -> list[int]:
        topics = [keccak256(s.encode()) for s in TORNADO_EVENTS]
        logs = self.store.read_table("eth_logs", ["address", "topic0"])
        if not logs.num_rows:
            return []
        hit = [set(logs.filter(pc.equal(logs["topic0"], pa.scalar(tp, pa.binary(32))))["address"].to_pylist())
               for tp in topics]
        return [a for a in (self.num("0x" + x.hex()) for x in hit[0] & hit[1]) if a is not None]

    def _tag_dicts(self, a: int, category: str | None = None, limit: int = 3) -> list[dict]:
        rows = self.tag_rows.get(a, [])
        out = []
        for tg in self.tags.tags_at(rows):
            if category is None or category in tg.risk_categories:
                out.append({"address": tg.address, "label": tg.label, "categories": list(tg.risk_categories),
                            "source": tg.source, "confidence": tg.confidence, "file": tg.origin_file,
                            "date": tg.lastmod.isoformat() if tg.lastmod else None})
        notes = [{"address": self.hex(a), "note": n} for n in self.notes.get(a, [])]
        return (out + notes)[:limit] if limit else out + notes

    def _token_symbols(self) -> dict[int, str]:
        t = self.store.read_table("eth_tokens", ["address", "symbol"]).to_pylist()
        out = {}
        for r in t:
            a = self.num("0x" + r["address"].hex())
            if a is not None and r["symbol"]:
                out[a] = r["symbol"]
        # A proxied token read before its initialize(name, symbol, ...) call has no symbol yet: take it from there.
        init = selector("initialize(string,string,address)").to_bytes(4, "big")
        txs = self.store.read_table("eth_transactions", ["to_address", "input", "receipt_status"]).to_pylist()
        for t in txs:
            data = t["input"] or b""
            if t["to_address"] and data[:4] == init and t["receipt_status"] != 0:
                a = self.num("0x" + t["to_address"].hex())
                sym = _abi_string(data[4:], 1)
                if a is not None and a not in out and sym:
                    out[a] = sym
        return out

    def symbol(self, asset: int) -> str:
        return "ETH" if asset == int(NONE32) else self._symbols.get(asset, self.hex(asset))

    # -- screen --------------------------------------------------------------------------------------
    def screen(self, address: str) -> EthScreenResult:
        a = self.num(address)
        subject = address.strip().lower()
        params = {"hops": self.hops, "as_of": self.as_of.isoformat(), "model": "haircut-share"}
        if a is None:
            tags = []
            for t in self.tags.lookup(subject):
                d = asdict_tag(t)
                if "sanctioned" in d["categories"]:
                    st = sanction_status(subject, t.lastmod, self.as_of, t.label or "sanctions list")
                    d["note"] = st.words
                    self.lists.setdefault(t.origin_file, {"list": t.label, "file": t.origin_file,
                                                          "source": t.source, "date": d["date"]})
                    if not st.applies:
                        d["categories"] = [c for c in d["categories"] if c != "sanctioned"]
                tags.append(d)
            exps = [EthExposure(c, "self", "ETH", "ETH", 0, 1.0, 0, tags=[t for t in tags if c in t["categories"]][:3])
                    for c in tx.CATEGORIES if any(c in t["categories"] for t in tags)]
            exps += [EthExposure("sanctioned", "delisted", "ETH", "ETH", 0, 0.0, 0, tags=[t])
                     for t in tags if "sanctioned" not in t["categories"] and t.get("note")][:1]
            return EthScreenResult(subject, False, None, self.as_of.isoformat(), tags, exps, {}, [],
                                   list(self.lists.values()), self._risk(subject, exps), params)
        cluster = int(self.labels[a])
        own_bits = int(self.bits[a])
        exps = [EthExposure(c, "self", "ETH", "ETH", 0, 1.0, 0, tags=self._tag_dicts(a, c))
                for c in tx.categories_from_bits(own_bits)]
        members = set(np.flatnonzero(self.labels == cluster).tolist())
        for forward in (False, True):
            exps += self._exposures(a, members, forward)
        holdings = self._holdings(a)
        freeze = self._freeze(a, holdings, exps)
        return EthScreenResult(subject, True, cluster, self.as_of.isoformat(), self._tag_dicts(a, limit=0), exps,
                               {self.symbol(k): str(v) for k, v in holdings.items()}, freeze,
                               list(self.lists.values()), self._risk(subject, exps, freeze), params,
                               self._fiat_header(exps))

    def _flows(self, x: int, forward: bool) -> np.ndarray:
        order, key = (self.out_order, self.out_key) if forward else (self.in_order, self.in_key)
        lo, hi = np.searchsorted(key, x, "left"), np.searchsorted(key, x, "right")
        return order[lo:hi]

    def _exposures(self, a: int, members: set[int], forward: bool) -> list[EthExposure]:
        """Follow what ``a`` sent (forward) or received (backward) per asset, until tagged accounts."""
        direction = "outgoing" if forward else "incoming"
        first = self._flows(a, forward)
        traced: dict[int, int] = {}
        found: dict[tuple[str, int], list] = {}      # (category, asset) -> [amount, direct, hops..., best]
        # frontier: (account, asset, amount, flow it arrived by, hops, path of flows)
        frontier = []
        for f in first.tolist():
            asset, amt = int(self.f_asset[f]), int(self.f_amt[f])
            traced[asset] = traced.get(asset, 0) + amt
            other = int(self.f_to[f] if forward else self.f_from[f])
            if other != a:
                frontier.append((other, asset, amt, f, 1, [f]))
        budget = 50_000
        while frontier and budget > 0:
            nxt = []
            for x, asset, amt, f, hop, path in frontier:
                budget -= 1
                bits = int(self.bits[x]) if x not in members else 0
                if bits:
                    for c in tx.categories_from_bits(bits):
                        rec = found.setdefault((c, asset), [0, 0, 99, 0, None, 0, None, []])
                        rec[7].append((amt, f))
                        rec[0] += amt
                        rec[1] += amt if hop == 1 else 0
                        rec[2], rec[3] = min(rec[2], hop), max(rec[3], hop)
                        if amt > rec[5]:
                            rec[4], rec[5], rec[6] = x, amt, path
                    continue
                if hop >= self.hops or amt <= 0:
                    continue
                nxt += self._spread(x, asset, amt, f, hop, path, forward)
            frontier = nxt
        out = []
        when = self._times({f for rec in found.values() for _a, f in rec[7]})
        for (c, asset), (amount, direct, lo, hi, cp, _, path, parts) in sorted(found.items()):
            t = traced.get(asset, 0)
            name = "ETH" if asset == int(NONE32) else self.hex(asset)
            out.append(EthExposure(c, direction, name, self.symbol(asset), amount, amount / t if t else 0.0, t,
                                   direct, amount - direct, lo, hi, self.hex(cp) if cp is not None else None,
                                   ["0x" + bytes(self.tx_hash[int(self.f_tx[p])]).hex() for p in path
                                    if self.f_tx[p] != NONE32], self._tag_dicts(cp, c) if cp is not None else [],
                                   self._fiat(name, parts, when)))
        return out

    # -- fiat ----------------------------------------------------------------------------------------
    def _times(self, flows: set[int]) -> dict[int, int]:
        """Block time (unix s) of each flow's transaction, by flow; flows without a transaction are left out."""
        if not self.book or not flows:
            return {}
        txs = {int(f): int(self.f_tx[f]) for f in flows if self.f_tx[f] != NONE32}
        rows = query(self.store, """SELECT t.tx_num, b.timestamp FROM raw.eth_transactions t
                                     JOIN raw.eth_blocks b ON b.number = t.block_number
                                     WHERE list_contains($n, t.tx_num)""",
                     {"n": sorted(set(txs.values())) or [-1]}).to_pylist()
        at = {int(r["tx_num"]): int(r["timestamp"]) for r in rows}
        return {f: at[t] for f, t in txs.items() if t in at}

    def series_of(self, asset: str) -> tuple[str | None, str, int | None]:
        """(price series, why, decimals) of ETH or a token's 0x address (``priced_tokens.price_series``)."""
        if asset not in self._series:
            from chaintrail.analysis.eth.priced_tokens import chain_id_of, price_series
            from chaintrail.analysis.eth.tokens import token_metadata

            if not hasattr(self, "_tokens"):
                self._tokens, self._chain_id = token_metadata(self.store), chain_id_of(self.store)
            t = self._tokens.get(bytes.fromhex(asset[2:])) if asset != "ETH" else None
            dec = 18 if asset == "ETH" else (t.decimals if t is not None else None)
            s, how = price_series(self.book, self._tokens, asset, self._chain_id) if dec is not None else \
                (None, f"token {asset} has no decimals")
            self._series[asset] = (s, how, dec)
        return self._series[asset]

    def _fiat(self, asset: str, parts: list[tuple[int, int]], when: dict[int, int]) -> dict | None:
        """The parts of one exposure, each on the day it reached or left the tagged account; None without prices."""
        if not self.book:
            return None
        s, how, dec = self.series_of(asset)
        if s is None:
            return {"usd": None, "missing": how}
        dated = [(a, when[f]) for a, f in parts if f in when]
        out = exposure_fiat(self.book, np.array([float(a) for a, _t in dated]), np.array([t for _a, t in dated],
                            np.int64), self.currency, s, int(dec or 0))
        if len(dated) < len(parts):
            out.update({"usd": None, "missing": f"{len(parts) - len(dated)} part(s) moved without a transaction "
                        "(no day to value them on)", **({self.currency.lower(): None} if self.currency != QUOTE
                                                        else {})})
        return {**out, "series": s}

    def _fiat_header(self, exps: list[EthExposure]) -> dict | None:
        if not self.book:
            return None
        used = sorted({e.fiat["series"] for e in exps if e.fiat and e.fiat.get("series")})
        return {"currency": self.currency, "convention": CONVENTION + "; each part of an exposure at the day it "
                "reached or left the tagged account", "prices": self.book.sources_used(used, self.currency)}

    def _spread(self, x, asset, amt, f, hop, path, forward) -> list:
        """The share ``amt`` of x's flows of ``asset`` on the far side of flow ``f`` (haircut share, floored)."""
        flows = self._flows(x, forward)
        flows = flows[self.f_asset[flows] == asset]
        later = flows[flows > f] if forward else flows[flows < f]
        total = int(self.f_amt[later].sum()) if len(later) else 0
        if total <= 0:
            return []
        out = []
        for g in later[:200].tolist():
            share = int(self.f_amt[g]) * min(amt, total) // total
            other = int(self.f_to[g] if forward else self.f_from[g])
            if share > 0 and other != x:
                out.append((other, asset, share, g, hop + 1, path + [g]))
        return out

    def _holdings(self, a: int) -> dict[int, int]:
        """Net balance change per asset over the store (the balance when the store starts at genesis)."""
        out: dict[int, int] = {}
        for f in self._flows(a, False).tolist():
            out[int(self.f_asset[f])] = out.get(int(self.f_asset[f]), 0) + int(self.f_amt[f])
        for f in self._flows(a, True).tolist():
            out[int(self.f_asset[f])] = out.get(int(self.f_asset[f]), 0) - int(self.f_amt[f])
        return {k: v for k, v in out.items() if v > 0}

    def _freeze(self, a: int, holdings: dict[int, int], exps: list[EthExposure]) -> list[dict]:
        freezable = self._freezable()
        out = []
        for asset, amount in sorted(holdings.items()):
            if asset in freezable:
                sym = self.symbol(asset)
                out.append({"asset": self.hex(asset), "symbol": sym, "held": str(amount), "at": self.hex(a),
                            "function": freezable[asset],
                            "action": f"{sym} held at {self.hex(a)} can be frozen by its issuer "
                                      f"({freezable[asset]} on {self.hex(asset)}); request a freeze"})
        flagged = {e.asset for e in exps if e.direction != "self" and e.category != "exchange"}
        for asset, fn in sorted(freezable.items()):
            h = self.hex(asset)
            if h in flagged and asset not in holdings:
                out.append({"asset": h, "symbol": self.symbol(asset), "held": "0", "at": None, "function": fn,
                            "action": f"the exposure in {self.symbol(asset)} is in a token its issuer can freeze "
                                      f"({fn} on {h}); ask the issuer to freeze where it now sits"})
        return out

    def _freezable(self) -> dict[int, str]:
        if hasattr(self, "_frz"):
            return self._frz
        sel = {selector(s): s for s in FREEZE_FUNCTIONS}
        con = self.store.read_table("eth_contracts", ["address", "function_sighashes",
                                                      "proxy_implementation"]).to_pylist()
        fns = {r["address"]: set(r["function_sighashes"] or []) for r in con}
        self._frz = {}
        for r in con:
            hashes = fns[r["address"]] | fns.get(r["proxy_implementation"], set())
            hit = [sel[h] for h in hashes if h in sel]
            if hit:
                a = self.num("0x" + r["address"].hex())
                if a is not None:
                    self._frz[a] = hit[0]
        return self._frz

    def _risk(self, subject: str, exps: list[EthExposure], freeze: list[dict] | None = None) -> dict:
        p = self.policy
        reasons = []
        for e in exps:
            if e.direction == "delisted":
                continue
            if e.direction == "self":
                why = e.tags[0] if e.tags else {}
                reasons.append((p.self_level[e.category], e.category,
                                f"{subject} is tagged {tx.TITLE[e.category]}: "
                                f"{why.get('label') or ''} {why.get('note') or ''} ({why.get('source') or 'events'})"))
                continue
            direct = e.direct > 0 and e.direct / max(e.traced, 1) >= p.min_share
            level = p.direct_level[e.category] if direct or e.share >= p.escalate_share \
                else p.indirect_level[e.category]
            if e.share < p.min_share and not direct:
                level = "low"
            verb = "came from" if e.direction == "incoming" else "went to"
            tag = e.tags[0] if e.tags else {}
            reasons.append((level, e.category,
                            f"{e.amount} base units of {e.symbol} ({e.share:.2%} of the {e.symbol} traced) {verb} "
                            f"{tx.TITLE[e.category]} {e.counterparty} within {e.max_hops} hops (nearest {e.min_hops}"
                            f", {e.direct} directly); tag {tag.get('label') or tag.get('note', '')} "
                            f"({tag.get('source') or 'events'})"))
        for n in sorted({n for e in exps for t in e.tags for n in [t.get("note")]
                         if n and ("DELISTED" in n or "designated only" in n)}):
            reasons.append(("low", None, n))
        for f in freeze or []:
            reasons.append(("low", None, f["action"]))
        level = max((r[0] for r in reasons), key=RANK.__getitem__, default="low")
        if not reasons:
            reasons.append(("low", None, f"no tagged exposure within {self.hops} hops"))
        reasons.sort(key=lambda r: -RANK[r[0]])
        return {"level": level, "reasons": [{"level": lv, "category": c, "text": t} for lv, c, t in reasons]}


def _abi_string(args: bytes, k: int) -> str | None:
    """The k-th argument of ABI-encoded calldata, read as a dynamic string (None if it is not one)."""
    try:
        off = int.from_bytes(args[32 * k:32 * k + 32], "big")
        n = int.from_bytes(args[off:off + 32], "big")
        raw = args[off + 32:off + 32 + n]
        return raw.decode("utf-8") if len(raw) == n and n <= 64 else None
    except (ValueError, UnicodeDecodeError):
        return None


def asdict_tag(t) -> dict:
    return {"address": t.address, "label": t.label, "categories": list(t.risk_categories), "source": t.source,
            "confidence": t.confidence, "file": t.origin_file, "date": t.lastmod.isoformat() if t.lastmod else None}


def _amounts(st: ChainStore, kind: np.ndarray) -> np.ndarray:
    """Exact amounts as Python-int-capable object array when any exceeds 64 bits, else uint64."""
    lo = np.asarray(st.column("eth_flow_amount_lo"))
    hi = np.asarray(st.column("eth_flow_amount_hi"))
    if not hi.any():
        return lo.astype(object)
    return np.array([int(l_) + (int(h) << 64) for l_, h in zip(lo.tolist(), hi.tolist())], dtype=object)


def _labels(st: ChainStore, n: int) -> np.ndarray:
    from chaintrail.analysis.eth.entities import eth_cluster_labels
    return eth_cluster_labels(st)


__all__ = ["EthExposure", "EthScreenResult", "EthScreener", "FREEZE_FUNCTIONS", "LEVELS"]

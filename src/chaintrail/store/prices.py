"""Daily prices from the store's ``prices`` table: fiat values on a transaction's UTC day, never interpolated.

Every fiat figure in chaintrail comes from here (trace endpoints, screening, entity summaries, accounting
schedules, CSV exports, reports). The convention, stated wherever a figure is shown:

* a transaction is valued at the close of the UTC day of its block's timestamp;
* value = coins x close, in the quote currency (USD), kept in whole cents per transaction;
* a reporting currency other than USD is USD / (USD per unit of that currency) on the same day. A series
  published on working days only (the ECB's EUR/USD fixing) gives the last fixing on or before the day, and
  the figure says which day it used and why;
* a crypto asset's close missing on the day is a missing value (``None``), reported as missing, never filled.

Lookups are vectorised: each series is a sorted array of days, searched with ``numpy.searchsorted``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chaintrail.errors import UsageError

QUOTE = "USD"
DAY_S = 86_400
EPOCH = dt.date(1970, 1, 1)
# Series published on working days only: an earlier day's fixing is used, and said to be used.
FIXING_SERIES = {"EUR"}
CONVENTION = "UTC daily close of the transaction's block day"


def day_of(unix_s) -> np.ndarray:
    """UTC day numbers (days since 1970-01-01) of unix timestamps."""
    return np.floor_divide(np.asarray(unix_s, np.int64), DAY_S)


def iso_day(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


@dataclass
class Series:
    """One asset's closes in one quote currency, by UTC day."""

    asset: str
    currency: str
    days: np.ndarray            # int64, sorted, unique
    close: np.ndarray           # float64
    source: dict = field(default_factory=dict)   # price_sources row: source, licence, file, sha256, ...

    def exact(self, days: np.ndarray) -> np.ndarray:
        """Close on each day, NaN where the series has no row for it."""
        days = np.asarray(days, np.int64)
        out = np.full(days.shape, np.nan)
        if not len(self.days):
            return out
        i = np.clip(np.searchsorted(self.days, days), 0, len(self.days) - 1)
        hit = self.days[i] == days
        out[hit] = self.close[i[hit]]
        return out

    def on_or_before(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(close, day used) of the last row on or before each day; NaN and -1 where there is none."""
        days = np.asarray(days, np.int64)
        i = np.searchsorted(self.days, days, side="right") - 1
        ok = i >= 0
        close = np.full(days.shape, np.nan)
        used = np.full(days.shape, -1, np.int64)
        close[ok] = self.close[i[ok]]
        used[ok] = self.days[i[ok]]
        return close, used


@dataclass
class Valuation:
    """Fiat values of many amounts (vectorised); cents are None where a price is missing."""

    currency: str
    days: np.ndarray
    usd_cents: np.ndarray       # float64 whole cents, NaN where the asset's close is missing
    cents: np.ndarray           # in ``currency``, NaN where missing
    close_usd: np.ndarray
    fx_usd: np.ndarray          # USD per unit of ``currency`` (1 for USD)
    fx_day: np.ndarray          # the day the rate was taken from (-1 none)

    def row(self, i: int) -> dict:
        """One amount's fiat figures, as every JSON output carries them."""
        d = int(self.days[i])
        out: dict = {"day": iso_day(d), "price_usd": _f(self.close_usd[i]), "usd": _cents(self.usd_cents[i])}
        if np.isnan(self.close_usd[i]):
            out["missing"] = f"no close for {iso_day(d)} in the price series"
        if self.currency != QUOTE:
            out[self.currency.lower()] = _cents(self.cents[i])
            out["fx_usd_per_unit"] = _f(self.fx_usd[i])
            fd = int(self.fx_day[i])
            if fd < 0:
                out["fx_missing"] = f"no {self.currency} rate on or before {iso_day(d)}"
            elif fd != d:
                out["fx_day"] = iso_day(fd)
                out["fx_note"] = (f"{self.currency} rate of {iso_day(fd)} used for {iso_day(d)}: the series is "
                                  f"published on working days only")
        return out


def _f(x) -> float | None:
    return None if np.isnan(x) else float(x)


def _cents(x) -> float | None:
    return None if np.isnan(x) else round(float(x) / 100, 2)


def usd_cents(amount_base: np.ndarray, close: np.ndarray, decimals: int = 8) -> np.ndarray:
    """Whole cents of ``amount / 10**decimals x close`` (round half to even), NaN where close is NaN."""
    coins = np.asarray(amount_base, np.float64) * np.asarray(close, np.float64) / float(10 ** decimals)
    return np.rint(coins * 100.0)


class PriceBook:
    """Every price series in a store, for valuing amounts on their day."""

    def __init__(self, series: dict[tuple[str, str], Series]):
        self.series = series

    @classmethod
    def open(cls, store_path: str | Path) -> "PriceBook":
        """The ``prices`` table of the store at ``store_path`` (empty book if none was imported)."""
        root = Path(store_path) / "analysis"
        prices, sources = root / "prices.parquet", root / "price_sources.parquet"
        if not prices.exists():
            return cls({})
        t = pq.read_table(prices).sort_by([("asset", "ascending"), ("currency", "ascending"), ("day", "ascending")])
        src = {r["sha256"]: r for r in pq.read_table(sources).to_pylist()} if sources.exists() else {}
        asset, cur = t["asset"].to_pylist(), t["currency"].to_pylist()
        days = t["day"].cast("int32").to_numpy().astype(np.int64)
        close = t["close"].to_numpy()
        shas = t["source_sha256"].to_pylist()
        out: dict[tuple[str, str], Series] = {}
        start = 0
        for i in range(1, len(asset) + 1):
            if i == len(asset) or (asset[i], cur[i]) != (asset[start], cur[start]):
                s = src.get(shas[start], {"sha256": shas[start]})
                out[(asset[start], cur[start])] = Series(asset[start], cur[start], days[start:i], close[start:i],
                                                         _plain(s))
                start = i
        return cls(out)

    def __bool__(self) -> bool:
        return bool(self.series)

    def get(self, asset: str) -> Series | None:
        return self.series.get((asset.upper(), QUOTE))

    def currencies(self) -> list[str]:
        """Reporting currencies this book can give: USD and every currency with a USD series."""
        return [QUOTE] + sorted(a for (a, c) in self.series if c == QUOTE and a in FIXING_SERIES | _FIAT)

    def check_currency(self, currency: str) -> str:
        cur = (currency or QUOTE).upper()
        if cur != QUOTE and (cur, QUOTE) not in self.series:
            raise UsageError(f"no {cur} price series in the store (have: {', '.join(self.currencies())}); import "
                             f"one with `chaintrail prices import FILE --asset {cur}` (never invented)")
        return cur

    def value(self, asset: str, amounts_base, times_unix, currency: str = QUOTE, decimals: int = 8) -> Valuation:
        """Fiat values of ``amounts_base`` (integer base units) at the UTC close of each timestamp's day."""
        cur = self.check_currency(currency)
        days = day_of(times_unix)
        s = self.get(asset)
        close = s.exact(days) if s is not None else np.full(days.shape, np.nan)
        usd = usd_cents(amounts_base, close, decimals)
        if cur == QUOTE:
            return Valuation(cur, days, usd, usd, close, np.ones(days.shape), days.copy())
        fx, fx_day = self.series[(cur, QUOTE)].on_or_before(days)
        return Valuation(cur, days, usd, np.rint(usd / fx), close, fx, fx_day)

    def sources_used(self, assets: list[str], currency: str = QUOTE) -> list[dict]:
        """Provenance of every series a figure in ``currency`` for these assets rests on."""
        keys = [(a.upper(), QUOTE) for a in dict.fromkeys(assets)]
        if currency.upper() != QUOTE:
            keys.append((currency.upper(), QUOTE))
        out = []
        for k in keys:
            s = self.series.get(k)
            if s is not None:
                out.append({"asset": k[0], "currency": k[1], **{x: s.source.get(x) for x in
                            ("source", "licence", "file", "sha256", "first_day", "last_day", "missing_days")}})
        return out


_FIAT = {"EUR", "GBP", "UAH", "CHF", "JPY", "CAD", "AUD"}


def _plain(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}


def annotate_endpoints(book: PriceBook, endpoints: list[dict], time_of, currency: str = QUOTE) -> list[dict]:
    """Copies of trace endpoints with ``fiat``: each output reached valued on its own tx's day, summed.

    ``time_of(txids)`` gives the block times of the txids (an array). An endpoint whose outputs lack a price
    gets ``usd: None`` and says which day is missing.
    """
    txids, amounts, owner = [], [], []
    for k, e in enumerate(endpoints):
        outs = e.get("outputs") or []
        amts = e.get("output_amounts") or ([e["amount_sat"]] if len(outs) == 1 else [])
        if len(amts) != len(outs) or not outs:        # no per-output split: the endpoint's last tx
            outs, amts = [(e.get("path") or [""])[-1]], [e["amount_sat"]]
        for o, a in zip(outs, amts):
            txids.append(o.split(":")[0])
            amounts.append(int(a))
            owner.append(k)
    if not txids or not book:
        return [dict(e) for e in endpoints]
    v = book.value("BTC", np.array(amounts, np.int64), np.asarray(time_of(txids), np.int64), currency)
    owner_a = np.array(owner)
    out = []
    for k, e in enumerate(endpoints):
        idx = np.flatnonzero(owner_a == k)
        rows = [v.row(int(i)) for i in idx]
        missing = [r["missing"] for r in rows if "missing" in r]
        cur = currency.upper()
        fiat: dict = {"usd": None if missing else round(float(np.sum(v.usd_cents[idx])) / 100, 2),
                      "days": sorted({r["day"] for r in rows}), "prices_usd": sorted({r["price_usd"] for r in rows
                                                                                      if r["price_usd"]})}
        if cur != QUOTE:
            fiat[cur.lower()] = None if missing or np.isnan(v.cents[idx]).any() else \
                round(float(np.sum(v.cents[idx])) / 100, 2)
        if missing:
            fiat["missing"] = "; ".join(sorted(set(missing)))
        notes = sorted({r[k] for r in rows for k in ("fx_note", "fx_missing") if k in r})
        if notes:
            fiat["fx_notes"] = notes
        out.append({**e, "fiat": fiat})
    return out


def value_trace(book: PriceBook, endpoints: list[dict], steps: list[dict] | None, time_of,
                currency: str = QUOTE) -> tuple[list[dict], list[dict] | None, dict | None]:
    """Fiat of a trace result, the one function the CLI (``trace --json``), the API and the CSV share.

    Returns (endpoints with ``fiat``, steps with their day and BTC close, the header: currency, convention and
    the series used). Without prices in the store the endpoints and steps come back unchanged and the header
    is None. ``time_of(txids)`` gives block times (unix seconds) of hex txids.
    """
    cur = book.check_currency(currency)
    if not book:
        return [dict(e) for e in endpoints], steps, None
    eps = annotate_endpoints(book, endpoints, time_of, cur)
    if steps:
        steps = [{**s, **p} for s, p in zip(steps, price_on(book, np.asarray(time_of([s["txid"] for s in steps]),
                                                                               np.int64)))]
    header = {"currency": cur, "convention": CONVENTION, "prices": book.sources_used(["BTC"], cur)}
    return eps, steps, header


def exposure_fiat(book: PriceBook, amounts_base: np.ndarray, times_unix: np.ndarray, currency: str = QUOTE,
                  asset: str = "BTC", decimals: int = 8) -> dict:
    """Fiat of a sum of parts, each valued on its own UTC day (screening exposure, entity totals).

    ``usd`` (and the reporting currency's value) is None if any part's day has no price, and ``missing`` says
    how many parts and which days; ``days`` is the first and last day valued.
    """
    cur = book.check_currency(currency)
    amounts_base = np.asarray(amounts_base)
    if amounts_base.dtype == object:          # token or wei amounts past 64 bits: valued as floats, as usd_cents does
        amounts_base = amounts_base.astype(np.float64)
    if not len(amounts_base):
        return {"usd": 0.0, "days": []}
    v = book.value(asset, amounts_base, times_unix, cur, decimals)
    gap = np.isnan(v.usd_cents)
    out: dict = {"usd": None if gap.any() else round(float(v.usd_cents.sum()) / 100, 2),
                 "days": [iso_day(int(v.days.min())), iso_day(int(v.days.max()))]}
    if cur != QUOTE:
        out[cur.lower()] = None if np.isnan(v.cents).any() else round(float(v.cents.sum()) / 100, 2)
        earlier = (v.fx_day >= 0) & (v.fx_day != v.days)
        if earlier.any():
            out["fx_note"] = (f"{int(earlier.sum())} part(s) valued at the last {cur} fixing before their day "
                              f"(the series is published on working days only)")
    if gap.any():
        days = sorted({iso_day(int(d)) for d in v.days[gap]})
        out["missing"] = f"{int(gap.sum())} part(s) on days without a close: {', '.join(days[:5])}" + \
            (" ..." if len(days) > 5 else "")
    return out


def holdings_fiat(book: PriceBook, received: tuple | None, sent: tuple | None, balance_sat: int, tip_time: int,
                  currency: str = QUOTE) -> dict | None:
    """Fiat of an address's or an entity's summary: what it received and sent, each part on its own day, and
    its balance at the close of the store's last day. ``received``/``sent`` are (amounts, times) or None (not
    valued: a large entity is summarised from its totals). None without prices."""
    if not book:
        return None
    cur = book.check_currency(currency)
    bal = book.value("BTC", np.array([balance_sat], np.int64), np.array([tip_time], np.int64), cur)
    out: dict = {"currency": cur, "convention": CONVENTION, "balance": {**bal.row(0), "note": "at the close of the "
                 "store's last block day"}}
    for name, parts in (("received", received), ("sent", sent)):
        out[name] = None if parts is None else exposure_fiat(book, parts[0], parts[1], cur)
    return out


def price_on(book: PriceBook, times_unix, asset: str = "BTC") -> list[dict]:
    """The day and close of each timestamp (trace steps, tooltips); ``price_usd`` None where missing."""
    days = day_of(times_unix)
    s = book.get(asset)
    close = s.exact(days) if s is not None else np.full(days.shape, np.nan)
    return [{"day": iso_day(int(d)), "price_usd": _f(c)} for d, c in zip(days.tolist(), close)]

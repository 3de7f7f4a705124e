"""Import a daily price series (CSV of ``date,close``) into the store's ``prices`` table, with its provenance.

The file is read strictly and all or nothing: a header ``date,<close column>``, then one ISO date (a UTC day)
and a positive finite close per line, days strictly increasing. The first bad row stops the import with one
line naming ``file:line``; nothing is written. A later import of the same asset and currency replaces that
series whole. Gaps are kept as gaps (counted in ``price_sources.missing_days``), never filled.

Where ``--source``/``--licence`` are not given, they are read from a ``<stem>.PROVENANCE.txt`` beside the file
(the layout of ``shared/data/prices``), else recorded as not stated.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import math
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chaintrail.errors import DecodeError, UsageError
from chaintrail.store.schema import ANALYSIS_TABLES

PRICES = ANALYSIS_TABLES["prices"]
SOURCES = ANALYSIS_TABLES["price_sources"]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ASSET = re.compile(r"^[A-Z][A-Z0-9.]{1,11}$")
NOT_STATED = "not stated at import"


class PriceFileError(DecodeError):
    """A price CSV that cannot be read; names the file and line."""

    def _render(self) -> str:
        return f"{self.source}:{self.offset}: {self.reason}" if self.offset is not None else \
            f"{self.source}: {self.reason}"


@dataclass
class PriceImport:
    """What one import wrote."""

    asset: str
    currency: str
    file: str
    sha256: str
    rows: int
    first_day: str
    last_day: str
    missing_days: int
    source: str
    licence: str
    replaced: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def guess_asset(path: Path) -> str | None:
    """``btc_usd_daily.csv`` -> BTC."""
    m = re.match(r"^([A-Za-z0-9]+)[_-]usd", path.name)
    return m.group(1).upper() if m else None


def read_series(path: Path) -> tuple[list[dt.date], list[float], str]:
    """(days, closes, quote currency) of a ``date,close`` CSV; raises ``PriceFileError`` at the first bad row."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read price file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PriceFileError("not UTF-8 text", name) from None
    lines = text.splitlines()
    if not lines:
        raise PriceFileError("empty file (expected a header date,close_usd)", name)
    head = [h.strip().lower() for h in lines[0].split(",")]
    if len(head) != 2 or head[0] != "date" or not head[1].startswith("close"):
        raise PriceFileError(f"header must be date,close or date,close_<currency>, not {lines[0][:60]!r}", name, 1)
    currency = head[1][len("close_"):].upper() if head[1].startswith("close_") else "USD"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise PriceFileError(f"quote currency {currency!r} in the header is not a 3-letter code", name, 1)
    days: list[dt.date] = []
    closes: list[float] = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != 2:
            raise PriceFileError(f"expected 2 columns (date,close), got {len(cells)}", name, n)
        d, c = cells[0].strip(), cells[1].strip()
        if not _DATE.match(d):
            raise PriceFileError(f"date {d[:40]!r} is not YYYY-MM-DD", name, n)
        try:
            day = dt.date.fromisoformat(d)
        except ValueError:
            raise PriceFileError(f"date {d!r} does not exist", name, n) from None
        try:
            close = float(c)
        except ValueError:
            raise PriceFileError(f"close {c[:40]!r} is not a number", name, n) from None
        if not math.isfinite(close) or close <= 0:
            raise PriceFileError(f"close {c[:40]!r} must be a positive finite number", name, n)
        if days and day <= days[-1]:
            what = "repeats" if day == days[-1] else "goes back before"
            raise PriceFileError(f"date {d} {what} {days[-1].isoformat()} (days must increase)", name, n)
        days.append(day)
        closes.append(close)
    if not days:
        raise PriceFileError("no price rows after the header", name)
    return days, closes, currency


def provenance_beside(path: Path) -> dict[str, str]:
    """Source and licence from ``<stem>.PROVENANCE.txt`` beside the file (empty if there is none)."""
    prov = path.with_name(path.stem + ".PROVENANCE.txt")
    if not prov.is_file():
        return {}
    sections: dict[str, list[str]] = {}
    current = None
    for line in prov.read_text(errors="replace").splitlines():
        if line and not line[0].isspace():
            current = line.split("(")[0].strip().upper()
            sections[current] = []
        elif current and line.strip():
            sections[current].append(line.strip())
    out = {}
    origin = sections.get("ORIGIN OF THE DATA")
    if origin:
        text = " ".join(origin)
        first = text.split(". ")[0].rstrip(".")
        out["source"] = f"{first} (per {prov.name})"
    lic = sections.get("LICENSE") or sections.get("LICENCE")
    if lic:
        out["licence"] = " ".join(lic[:2])
    return out


@contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "prices.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd", compression_level=1)
    os.replace(tmp, path)


def import_prices(store_path: str | Path, file: str | Path, *, asset: str | None = None,
                  source: str | None = None, licence: str | None = None) -> PriceImport:
    """Read ``file`` and replace the store's series for its asset and quote currency."""
    path = Path(file)
    store = Path(store_path)
    if not (store / "MANIFEST.json").exists():
        from chaintrail.errors import StoreError
        raise StoreError(f"no chain store at {store} (run `chaintrail ingest` first)")
    asset = (asset or guess_asset(path) or "").upper()
    if not _ASSET.match(asset):
        raise UsageError(f"name the asset of {path.name} with --asset (BTC, ETH, EUR, ...)" if not asset
                         else f"--asset {asset!r} is not an asset symbol (2-12 letters or digits)")
    days, closes, currency = read_series(path)
    if asset == currency:
        raise UsageError(f"{path.name}: a {asset} series quoted in {currency} says nothing")
    beside = provenance_beside(path)
    source = source or beside.get("source") or NOT_STATED
    licence = licence or beside.get("licence") or NOT_STATED
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    span = (days[-1] - days[0]).days + 1
    folder = store / "analysis"
    with _locked(folder):
        old = pq.read_table(folder / "prices.parquet") if (folder / "prices.parquet").exists() else PRICES.empty_table()
        olds = pq.read_table(folder / "price_sources.parquet") if (folder / "price_sources.parquet").exists() \
            else SOURCES.empty_table()
        same = pc.and_(pc.equal(old["asset"], asset), pc.equal(old["currency"], currency))
        replaced = bool(pc.any(same).as_py()) if old.num_rows else False
        keep = old.filter(pc.invert(same)) if old.num_rows else old
        new = pa.table({"asset": [asset] * len(days), "currency": [currency] * len(days), "day": days,
                        "close": closes, "source_sha256": [sha] * len(days)}, schema=PRICES)
        sames = pc.and_(pc.equal(olds["asset"], asset), pc.equal(olds["currency"], currency))
        keeps = olds.filter(pc.invert(sames)) if olds.num_rows else olds
        row = {"sha256": sha, "asset": asset, "currency": currency, "file": path.name, "source": source,
               "licence": licence, "rows": len(days), "first_day": days[0], "last_day": days[-1],
               "missing_days": span - len(days), "imported_at": int(time.time())}
        _write(folder / "prices.parquet", pa.concat_tables([keep.cast(PRICES), new]))
        _write(folder / "price_sources.parquet",
               pa.concat_tables([keeps.cast(SOURCES), pa.Table.from_pylist([row], schema=SOURCES)]))
    return PriceImport(asset, currency, path.name, sha, len(days), days[0].isoformat(), days[-1].isoformat(),
                       span - len(days), source, licence, replaced)


def write_series_csv(path: Path, days: list[dt.date], closes: list[float], currency: str = "USD") -> None:
    """A ``date,close_<currency>`` CSV, the format ``import_prices`` reads (scenarios write their own)."""
    lines = [f"date,close_{currency.lower()}"] + [f"{d.isoformat()},{c!r}" for d, c in zip(days, closes)]
    path.write_text("\n".join(lines) + "\n")

"""A generated Ethereum chain's own daily price series: ETH and each stablecoin, deterministic, labelled synthetic.

Written beside the journals as ``prices/<asset>_usd_daily.csv`` (the format ``chaintrail prices import`` reads)
with a ``PROVENANCE.txt`` each saying it is not a market price. ETH is a random walk (daily log-return sigma
4 %) from ``ETH_USD``; a stablecoin is its own series, 1.00 plus a small daily deviation (sigma 0.2 %, an
occasional wider wobble), so a program that assumes 1.00 gets a different figure. One row per UTC day the chain
spans; seeded by the scenario's seed through generators of their own (the chain does not depend on them).
Other tokens (LP shares, the airdrop's token, the bridge's) get no series: their values are reported missing.
"""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

import numpy as np

from chaintrail.ingest.prices import write_series_csv

ETH_USD = 2_000.0
ETH_SIGMA = 0.04
STABLE_SIGMA = 0.002


def _rng(seed: int, asset: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0xE7E, zlib.crc32(asset.encode())])))


def closes(seed: int, asset: str, n: int, stable: bool) -> list[float]:
    """The ``n`` daily closes of one asset (ETH: a walk; a stablecoin: 1.00 plus its own deviation)."""
    rng = _rng(seed, asset)
    if stable:
        dev = rng.normal(0.0, STABLE_SIGMA, n) + np.where(rng.random(n) < 0.05, rng.normal(0.0, 0.01, n), 0.0)
        return [round(float(1.0 + d), 6) for d in dev]
    return [round(float(ETH_USD * w), 2) for w in np.exp(np.cumsum(rng.normal(0.0, ETH_SIGMA, n)))]


def write_eth_prices(out_dir: Path, seed: int, first_time: int, last_time: int,
                     stablecoins: list[str]) -> list[Path]:
    """Write ``out_dir/prices/{eth,<stable>}_usd_daily.csv`` covering every UTC day from first to last time."""
    d0, d1 = first_time // 86_400, last_time // 86_400
    n = d1 - d0 + 1
    days = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in range(d0, d1 + 1)]
    folder = Path(out_dir) / "prices"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for asset, stable in [("ETH", False)] + [(s, True) for s in sorted(stablecoins)]:
        name = f"{asset.lower()}_usd_daily.csv"
        path = folder / name
        write_series_csv(path, days, closes(seed, asset, n, stable))
        how = (f"1.00 plus a daily deviation (sigma {STABLE_SIGMA:g}, and on about 5 % of days a wider one): a "
               "stablecoin of the generated chain, valued at its own series, never assumed to be 1.00") if stable \
            else f"a random walk (daily log-return sigma {ETH_SIGMA:g}) from {ETH_USD:,.0f} USD"
        (folder / f"{asset.lower()}_usd_daily.PROVENANCE.txt").write_text(
            f"FILE: {name}   (header: date,close_usd)\n"
            f"ASSET: {asset} on a generated Ethereum chain, USD per 1 {asset}, one row per UTC day\n"
            "ORIGIN OF THE DATA\n"
            f"  Synthetic series from the chaintrail Ethereum scenario generator, seed {seed}. Not a market price: "
            f"{how}.\n"
            "LICENSE\n"
            "  Generated data, no rights reserved (same terms as the generated chain).\n")
        paths.append(path)
    return paths

"""A generated chain's own daily BTC/USD series: small, deterministic, and labelled synthetic.

Written beside the blocks as ``prices/btc_usd_daily.csv`` (the format ``chaintrail prices import`` reads) with a
``PROVENANCE.txt`` that says it is not a market price: a random walk (daily log-return sigma 3 %) from the
price the economy's amounts were drawn at (``params.USD_PER_BTC``), one row per UTC day the chain spans, seeded
by the scenario's seed through a generator of its own (the chain's bytes do not depend on it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from chaintrail.ingest.prices import write_series_csv
from chaintrail.scenario import params as P

DAILY_SIGMA = 0.03
FILE = "btc_usd_daily.csv"


def write_scenario_prices(out_dir: Path, seed: int, first_time: int, last_time: int) -> Path:
    """Write ``out_dir/prices/btc_usd_daily.csv`` covering every UTC day from ``first_time`` to ``last_time``."""
    d0, d1 = first_time // 86_400, last_time // 86_400
    n = d1 - d0 + 1
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0x9121CE5])))
    walk = np.exp(np.cumsum(rng.normal(0.0, DAILY_SIGMA, n)))
    closes = [round(float(P.USD_PER_BTC * w), 2) for w in walk]
    days = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in range(d0, d1 + 1)]
    folder = Path(out_dir) / "prices"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    write_series_csv(path, days, closes)
    (folder / "btc_usd_daily.PROVENANCE.txt").write_text(
        f"FILE: {FILE}   (header: date,close_usd)\n"
        "ASSET: Bitcoin (BTC) on a generated regtest chain, USD per 1 BTC, one row per UTC day\n"
        "ORIGIN OF THE DATA\n"
        f"  Synthetic series from the chaintrail scenario generator, seed {seed}. Not a market price: a random walk "
        f"(daily log-return sigma {DAILY_SIGMA:g}) from {P.USD_PER_BTC:,.0f} USD.\n"
        "LICENSE\n"
        "  Generated data, no rights reserved (same terms as the generated chain).\n")
    return path

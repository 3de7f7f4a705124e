"""A small real store with real price series, for the accounting and valuation tests."""

from __future__ import annotations

from pathlib import Path


def priced_store(path: Path, btc_data: Path, shared_data: Path, series: tuple[str, ...]) -> Path:
    """Mainnet block 1 ingested at ``path``, then each of ``series`` (file names in ../shared/data/prices)."""
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.ingest.prices import import_prices

    with BtcIngest(path) as job:
        job.ingest_raw([btc_data / "mainnet" / "raw" / "block1.raw"])
    for name in series:
        import_prices(path, shared_data / "prices" / name)
    return path

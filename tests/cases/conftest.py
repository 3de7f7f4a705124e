"""Fixtures for the case tests: a real chain store, case databases on SQLite and PostgreSQL.

PostgreSQL comes from ``$CHAINTRAIL_TEST_PG_DSN`` (``scripts/postgres.sh`` prints it; ``.ci/run`` and
``scripts/test.sh`` export it). Without it the PostgreSQL cases fail when ``CI`` is set and skip otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ct_cases import (
    CB9,
    DIR_0_599,
    EXCHANGE_ADDR,
    RANSOM_ADDR,
    PgDatabases,
    pg_admin_dsn,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_db(request, tmp_path):
    """A factory of empty case-database DSNs on the parametrised backend."""
    if request.param == "sqlite":
        n = iter(range(1000))
        yield lambda: str(tmp_path / f"cases-{next(n)}.sqlite")
        return
    pg = PgDatabases(pg_admin_dsn())
    yield pg.new
    pg.drop_all()


@pytest.fixture
def repos():
    """Open repositories and close them all at the end (pooled connections must not leak)."""
    from chaintrail.cases.repository import CaseRepository
    opened: list[CaseRepository] = []

    def open_(dsn: str) -> CaseRepository:
        r = CaseRepository.open(dsn)
        opened.append(r)
        return r
    yield open_
    for r in opened:
        r.close()


@pytest.fixture(scope="session")
def chain_store(tmp_path_factory) -> Path:
    """Mainnet blocks 0-599, labelled and clustered, with two tags: an exchange deposit and a ransom address."""
    from chaintrail.analysis.clustering import update_clusters
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.analysis.tx_labels import label_transactions
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.tags.tagstore import TagStore

    path = tmp_path_factory.mktemp("cases") / "store"
    with BtcIngest(path) as job:
        assert job.ingest_blocks_dir(DIR_0_599).blocks == 600
    with ChainStore(path, writable=True) as st:
        label_transactions(st)
        update_clusters(st, mixer_tx_mask(st))
    ts = TagStore(path)
    ts.add_tag(EXCHANGE_ADDR, "Exchange Bravo", category="exchange", source="https://example.org/attribution",
               confidence="service_data", user="tester")
    ts.add_tag(RANSOM_ADDR, "LockBit-like operator", category="ransomware", source="https://example.org/ransomwhere",
               confidence="forensic", user="tester")
    return path


@pytest.fixture(scope="session")
def trace9(chain_store) -> dict:
    """The forward trace of block 9's coinbase as a finding (computed once per session)."""
    from chaintrail.analysis.tracing import TraceParams
    from chaintrail.cases.findings import trace_finding
    from chaintrail.store.chainstore import ChainStore
    with ChainStore(chain_store) as st:
        return trace_finding(st, f"{CB9}:0", TraceParams(max_hops=20))

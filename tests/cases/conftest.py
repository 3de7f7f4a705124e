"""Fixtures for the case tests: a real chain store, case databases on SQLite and PostgreSQL.

PostgreSQL comes from ``$CHAINTRAIL_TEST_PG_DSN`` (``scripts/postgres.sh`` prints it; ``.ci/run`` and
``scripts/test.sh`` export it). Without it the PostgreSQL cases fail when ``CI`` is set and skip otherwise.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DIR_0_599 = DATA / "btc" / "mainnet" / "core-blocks-0-599"
SYNTAGMA = DATA / "labels" / "syntagma-btc-entity-txs"
CB9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"   # block 9's coinbase
TX170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"  # block 170: 10 BTC to Hal
BLOCK170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
SATOSHI9 = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
EXCHANGE_ADDR = "1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW"   # tagged as an exchange deposit in the test store
RANSOM_ADDR = "1BBz9Z15YpELQ4QP5sEKb1SwxkcmPb5TMs"    # tagged as ransomware in the test store
COIN = 100_000_000


def pg_admin_dsn() -> str | None:
    dsn = os.environ.get("CHAINTRAIL_TEST_PG_DSN")
    if dsn:
        return dsn
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL is required in CI: scripts/postgres.sh did not provide CHAINTRAIL_TEST_PG_DSN "
                    "(run it to see why)")
    pytest.skip("no PostgreSQL (set CHAINTRAIL_TEST_PG_DSN, e.g. from scripts/postgres.sh)")
    return None


class PgDatabases:
    """Fresh databases on the test cluster, dropped at the end."""

    def __init__(self, admin: str):
        self.admin = admin
        self.made: list[str] = []

    def _exec(self, sql: str) -> None:
        import psycopg
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)

    def new(self) -> str:
        name = "ct_" + secrets.token_hex(6)
        self._exec(f"CREATE DATABASE {name}")
        self.made.append(name)
        return self.admin.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        for name in self.made:
            self._exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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

"""Shared constants and helpers of the case tests (fixtures are in conftest.py): data paths, PostgreSQL.

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

"""A node URL's password, query string and provider API key never reach the follower's log (issue 23)."""

from __future__ import annotations

import logging

from chaintrail.cases.repository import CaseRepository
from chaintrail.monitor.follow import Follower

KEY = "0123456789abcdef0123456789abcdef"          # an Infura-style project key, carried in the URL's path
URL = f"https://alice:s3cret-pass@127.0.0.1:1/v3/{KEY}?apikey=query-secret"


def test_a_failing_node_is_logged_without_the_secrets_in_its_url(tmp_path, caplog):
    with CaseRepository.open(tmp_path / "cases.sqlite") as repo:
        f = Follower(tmp_path / "store", URL, "eth", repo.db, timeout=1.0, retry_max_s=0.01)
        with caplog.at_level(logging.WARNING, logger="chaintrail.monitor.follow"):
            stats = f.run(stop_after=0)
    assert stats.node_errors == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "chaintrail.monitor.follow"]
    assert len(logged) == 1 and "127.0.0.1:1" in logged[0]
    for secret in (KEY, "s3cret-pass", "alice", "query-secret"):
        assert secret not in logged[0]
        assert secret not in f.public_url
        assert secret not in (stats.last_error or "")


def test_the_bitcoin_follower_names_its_node_without_the_key_either(tmp_path):
    with CaseRepository.open(tmp_path / "cases.sqlite") as repo:
        f = Follower(tmp_path / "store", URL.replace("https", "http"), "btc", repo.db)
    assert f.public_url.startswith("http://127.0.0.1:1/")
    for secret in (KEY, "s3cret-pass", "query-secret"):
        assert secret not in f.public_url

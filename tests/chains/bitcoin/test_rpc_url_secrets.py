"""A Bitcoin RPC URL's provider key (path, query) and user:password never reach messages, logs or the store."""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/ holds fakenode.py

from fakenode import FakeNode, mainnet_blocks  # noqa: E402

from chaintrail.chains.bitcoin.rpc import RpcClient, RpcError  # noqa: E402
from chaintrail.cli.main import app  # noqa: E402
from chaintrail.errors import SourceError  # noqa: E402
from chaintrail.store.chainstore import ChainStore  # noqa: E402

KEY = "0123456789abcdef0123456789abcdef"   # a GetBlock/Alchemy-style key, carried in the URL's path
SECRETS = (KEY, "query-secret", "alice", "s3cret-pass")


def _key_url(port: int, user: str = "alice", password: str = "s3cret-pass") -> str:
    return f"http://{user}:{password}@127.0.0.1:{port}/v2/{KEY}?apikey=query-secret"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into: {text}"


def test_closed_port_error_names_the_host_not_the_key() -> None:
    port = _closed_port()
    with RpcClient.from_url(_key_url(port), timeout=2) as c, pytest.raises(SourceError) as info:
        c.getblockhash(0)
    msg = str(info.value)
    assert "connection refused" in msg and f"http://127.0.0.1:{port}/v2/***?***" in msg
    assert c.url == f"http://127.0.0.1:{port}/v2/***?***"
    _clean(msg)


def test_garbage_answer_401_and_node_error_hide_key_and_credentials() -> None:
    with FakeNode(blocks=mainnet_blocks()[:3]) as node:
        with RpcClient.from_url(_key_url(node.port), timeout=5) as c, pytest.raises(SourceError) as info:
            c.getblockchaininfo()  # alice is not the node's user: HTTP 401
        assert "authentication failed" in str(info.value)
        _clean(str(info.value))
        url = _key_url(node.port, node.user, node.password)
        with RpcClient.from_url(url, timeout=5) as c:
            with pytest.raises(RpcError) as err:
                c.getblockhash(99)
            assert err.value.code == -8
            assert node.last_path == f"/v2/{KEY}?apikey=query-secret"  # the key still reaches the provider
            _clean(str(err.value))
            _clean(err.value.url)
            node.canned = (200, b"<html>garbage from a proxy</html>")
            with pytest.raises(SourceError, match="non-JSON answer") as info:
                c.getblockhash(1)
            _clean(str(info.value))


def test_cli_ingest_keeps_the_key_out_of_json_errors_logs_and_block_source(tmp_path: Path, caplog) -> None:
    store = tmp_path / "s"
    with FakeNode(blocks=mainnet_blocks()[:5]) as node:
        url = _key_url(node.port, node.user, node.password)
        with caplog.at_level(logging.DEBUG):
            res = CliRunner().invoke(app, ["ingest", "btc", "--store", str(store), "--json", "--rpc", url])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout.strip().splitlines()[-1])["ingested"]["blocks"] == 5
        _clean(res.output)
        node.canned = (200, b"not json at all")
        res = CliRunner().invoke(app, ["ingest", "btc", "--store", str(store), "--json", "--rpc", url])
        assert res.exit_code == 3 and "non-JSON answer" in res.stderr
        _clean(res.output)
    for record in caplog.records:
        _clean(record.getMessage())
    with ChainStore(store) as st:
        sources = set(st.read_table("blocks", ["source"])["source"].to_pylist())
    assert sources == {f"rpc:127.0.0.1:{node.port}"}


def test_bitcoin_follower_logs_a_failing_node_without_the_key(tmp_path: Path, caplog) -> None:
    from chaintrail.cases.repository import CaseRepository
    from chaintrail.monitor.follow import Follower

    port = _closed_port()
    with CaseRepository.open(tmp_path / "cases.sqlite") as repo:
        f = Follower(tmp_path / "store", _key_url(port), "btc", repo.db, timeout=1.0, retry_max_s=0.01)
        with caplog.at_level(logging.WARNING, logger="chaintrail.monitor.follow"):
            stats = f.run(stop_after=0)
    assert stats.node_errors == 1 and "connection refused" in (stats.last_error or "")
    logged = [r.getMessage() for r in caplog.records if r.name == "chaintrail.monitor.follow"]
    assert logged and all(f"127.0.0.1:{port}" in m for m in logged)
    for text in [*logged, stats.last_error or ""]:
        _clean(text)

"""RpcClient against FakeNode: auth paths, batching, keep-alive, and every failure mode."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/ holds fakenode.py

from fakenode import FakeNode, block_hash, mainnet_blocks  # noqa: E402

from chaintrail.chains.bitcoin.network import MAINNET, REGTEST  # noqa: E402
from chaintrail.chains.bitcoin.rpc import RpcClient, RpcError, default_cookie_file  # noqa: E402
from chaintrail.errors import SourceError  # noqa: E402

HAL_BLOCK_170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
TIP_599 = "0000000042844571bc6bce8e1c0fbec99466971eaff89fef8c0d123582181d4d"


@pytest.fixture
def node() -> Iterator[FakeNode]:
    with FakeNode(blocks=mainnet_blocks()) as n:
        yield n


@pytest.fixture
def client(node: FakeNode) -> Iterator[RpcClient]:
    with RpcClient.from_url(node.auth_url) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_blockchaininfo_and_hashes_from_real_chain(client: RpcClient) -> None:
    info = client.getblockchaininfo()
    assert (info["chain"], info["blocks"], info["bestblockhash"]) == ("main", 599, TIP_599)
    assert client.getblockhash(0)[::-1].hex() == MAINNET.genesis_hash
    assert client.getblockhash(170) == bytes.fromhex(HAL_BLOCK_170)[::-1]
    assert client.network() is MAINNET


def test_getblock_raw_is_the_exact_block(client: RpcClient) -> None:
    raw = client.getblock_raw(bytes.fromhex(HAL_BLOCK_170)[::-1])
    assert raw == mainnet_blocks()[170]
    assert len(raw) == 490  # block 170: coinbase + the 10 BTC payment to Hal Finney


def test_batches_cut_round_trips_and_keep_one_connection(node: FakeNode, client: RpcClient) -> None:
    hashes = client.getblockhashes(range(100, 150))
    raws = client.getblocks_raw(hashes)
    assert raws == list(mainnet_blocks()[100:150])
    assert [block_hash(r) for r in raws] == hashes
    assert node.http_requests == 2
    assert node.calls["getblockhash"] == 50 and node.calls["getblock"] == 50
    client.getblockchaininfo()
    assert node.connections == 1  # keep-alive: three requests, one TCP connection


def test_batch_results_follow_request_order(client: RpcClient) -> None:
    got = client.batch([("getblockhash", [5]), ("getblockchaininfo", []), ("getblockhash", [3])])
    assert got[0] == block_hash(mainnet_blocks()[5])[::-1].hex()
    assert got[1]["blocks"] == 599
    assert got[2] == block_hash(mainnet_blocks()[3])[::-1].hex()
    assert client.batch([]) == []


def test_reconnects_when_node_drops_idle_connection(node: FakeNode, client: RpcClient) -> None:
    client.getblockhash(1)
    node.drop_connections()
    assert client.getblockhash(2) == block_hash(mainnet_blocks()[2])
    assert node.connections == 2


def test_auth_by_explicit_user_and_password(node: FakeNode) -> None:
    with RpcClient.from_url(node.url, user=node.user, password=node.password) as c:
        assert c.getblockchaininfo()["blocks"] == 599


def test_auth_by_cookie_file_and_rotated_cookie(node: FakeNode) -> None:
    with RpcClient.from_url(node.url, cookie_file=str(node.cookie_file)) as c:
        assert c.getblockhash(9) == block_hash(mainnet_blocks()[9])
        node.rotate_cookie()  # the node restarted: the old cookie no longer works
        assert c.getblockhash(10) == block_hash(mainnet_blocks()[10])


def test_default_cookie_found_under_home(node: FakeNode, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    regtest = tmp_path / ".bitcoin" / "regtest"
    regtest.mkdir(parents=True)
    (regtest / ".cookie").write_text(node.cookie_file.read_text())
    monkeypatch.setenv("HOME", str(tmp_path))
    with RpcClient.from_url(node.url) as c:
        assert c.getblockchaininfo()["bestblockhash"] == TIP_599


def test_default_cookie_prefers_the_network_of_the_port(tmp_path: Path) -> None:
    assert default_cookie_file(8332, home=tmp_path) is None
    for sub in ("", "signet", "regtest"):
        (tmp_path / ".bitcoin" / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / ".bitcoin" / sub / ".cookie").write_text("__cookie__:00")
    base = tmp_path / ".bitcoin"
    assert default_cookie_file(18443, home=tmp_path) == base / "regtest" / ".cookie"
    assert default_cookie_file(38332, home=tmp_path) == base / "signet" / ".cookie"
    assert default_cookie_file(8332, home=tmp_path) == base / ".cookie"
    assert default_cookie_file(18332, home=tmp_path) == base / ".cookie"  # testnet3 absent


def test_wrong_password_says_authentication_and_hides_password(node: FakeNode) -> None:
    url = f"http://{node.user}:hunter2-wrong@127.0.0.1:{node.port}/"
    with RpcClient.from_url(url) as c, pytest.raises(SourceError) as info:
        c.getblockchaininfo()
    msg = str(info.value)
    assert "authentication failed" in msg and "getblockchaininfo" in msg
    assert f"127.0.0.1:{node.port}" in msg and "hunter2" not in msg and "\n" not in msg


def test_no_credentials_at_all(node: FakeNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with RpcClient.from_url(node.url) as c, pytest.raises(SourceError, match="no cookie found"):
        c.getblockchaininfo()


def test_unreachable_port() -> None:
    port = _free_port()
    with RpcClient.from_url(f"http://u:topsecret@127.0.0.1:{port}", timeout=2) as c:
        with pytest.raises(SourceError) as info:
            c.getblockhash(0)
    msg = str(info.value)
    assert "connection refused" in msg and f"127.0.0.1:{port}" in msg
    assert "getblockhash" in msg and "topsecret" not in msg


def test_node_errors_pass_through_with_code(client: RpcClient) -> None:
    with pytest.raises(RpcError) as info:
        client.getblockhash(600)
    assert info.value.code == -8 and info.value.method == "getblockhash"
    assert "Block height out of range" in str(info.value)
    with pytest.raises(RpcError) as info:
        client.call("getblock", HAL_BLOCK_170, 1)
    assert info.value.code == -8
    with pytest.raises(RpcError) as info:
        client.call("getbestblockhash_typo")
    assert info.value.code == -32601 and "Method not found" in str(info.value)
    with pytest.raises(RpcError, match="Block not found"):
        client.getblock_raw(bytes(32))


def test_error_inside_a_batch_names_its_method(client: RpcClient) -> None:
    with pytest.raises(RpcError) as info:
        client.getblockhashes([598, 599, 600])
    assert info.value.code == -8 and "getblockhash" in str(info.value)


def test_multiline_node_message_becomes_one_line(client: RpcClient) -> None:
    with pytest.raises(RpcError) as info:
        client.call("getblockhash")
    assert info.value.code == -1 and "\n" not in str(info.value)


def test_non_json_answer(node: FakeNode, client: RpcClient) -> None:
    node.canned = (503, b"<html>Work queue depth exceeded</html>")
    with pytest.raises(SourceError, match=r"non-JSON answer \(HTTP 503\): <html>Work queue"):
        client.getblockchaininfo()


def test_bad_hex_and_wrong_block_are_refused(node: FakeNode, client: RpcClient) -> None:
    wanted = bytes.fromhex(HAL_BLOCK_170)[::-1]
    node.canned = (200, json.dumps({"result": "zz" * 80, "error": None, "id": 1}).encode())
    with pytest.raises(SourceError, match="not valid hex"):
        client.getblock_raw(wanted)
    other = mainnet_blocks()[171].hex()
    node.canned = (200, json.dumps({"result": other, "error": None, "id": 1}).encode())
    with pytest.raises(SourceError, match="does not hash to " + HAL_BLOCK_170):
        client.getblock_raw(wanted)
    node.canned = (200, json.dumps({"result": "abc", "error": None, "id": 1}).encode())
    with pytest.raises(SourceError, match="64-digit hex hash"):
        client.getblockhash(170)


def test_network_follows_node_chain(node: FakeNode, client: RpcClient) -> None:
    node.set_chain(mainnet_blocks()[:3], network_name="regtest")
    assert client.network() is REGTEST
    assert client.getblockchaininfo()["blocks"] == 2


def test_bad_url_is_refused() -> None:
    with pytest.raises(SourceError, match="expected http://host:port"):
        RpcClient.from_url("ftp://127.0.0.1:8332")
    c = RpcClient.from_url("127.0.0.1", user="u", password="p")
    assert c.url == "http://127.0.0.1:8332/"

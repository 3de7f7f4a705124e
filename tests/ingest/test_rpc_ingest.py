"""`chaintrail ingest btc --rpc` against FakeNode serving real blocks: growth, reorgs, auth."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakenode import FakeNode, alt_branch, block_hash, mainnet_blocks
from typer.testing import CliRunner

from chaintrail.cli.main import app
from chaintrail.ingest.btc_job import BtcIngest
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.sql import query

REAL = mainnet_blocks()
CLI = Path(sys.executable).with_name("chaintrail")
CONTRACT = {
    "blocks": "SELECT * FROM blocks ORDER BY height",
    "txs": "SELECT * FROM txs ORDER BY block_height, tx_index",
    "outputs": "SELECT * FROM outputs ORDER BY txid, vout",
    "inputs": "SELECT * FROM inputs ORDER BY txid, vin",
    "addresses": "SELECT * FROM addresses ORDER BY address",
}


def contract_rows(store: Path) -> dict[str, list[dict]]:
    with ChainStore(store) as st:
        return {name: query(st, q).to_pylist() for name, q in CONTRACT.items()}


def folder_store(tmp: Path, blocks: list[bytes]) -> Path:
    """The same blocks ingested from a Core-style blocks folder."""
    folder = tmp / "blocks"
    folder.mkdir(parents=True)
    magic = bytes.fromhex("f9beb4d9")
    (folder / "blk00000.dat").write_bytes(b"".join(magic + len(b).to_bytes(4, "little") + b for b in blocks))
    store = tmp / "store"
    with BtcIngest(store, check_pow=False) as job:   # forks of real blocks cannot meet the real target
        job.ingest_blocks_dir(folder)
    return store


def sync(store: Path, *args: str) -> dict:
    res = CliRunner().invoke(app, ["ingest", "btc", "--store", str(store), "--json", *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture
def node() -> Iterator[FakeNode]:
    with FakeNode(blocks=REAL[:301]) as n:
        yield n


def test_rpc_sync_grow_reorg_and_back_equals_folder_ingest(node: FakeNode, tmp_path: Path):
    store = tmp_path / "rpc-store"
    # First sync with the cookie file, as against a local Core.
    out = sync(store, "--rpc", node.url, "--rpc-cookie", str(node.cookie_file))
    assert out["ingested"]["tip_height"] == 300 and out["ingested"]["blocks"] == 301
    assert out["ingested"]["tip_hash"] == block_hash(REAL[300])[::-1].hex()
    assert out["store_counts"]["blocks"] == 301

    # The node grows to 599: only the new blocks are fetched.
    node.set_chain(REAL)
    node.calls.clear()
    out = sync(store, "--rpc", node.auth_url)
    assert out["ingested"]["blocks"] == 299 and out["ingested"]["rolled_back"] == 0
    assert node.calls["getblock"] == 299
    assert contract_rows(store) == contract_rows(folder_store(tmp_path / "f599", list(REAL)))

    # A reorganisation replaces 590-599 with another branch of the same length.
    alts = alt_branch(REAL, 589, 10, tag=4)
    reorged = list(REAL[:590]) + alts
    node.set_chain(reorged)
    out = sync(store, "--rpc", node.auth_url)
    assert out["ingested"]["rolled_back"] == 10 and out["ingested"]["fork_height"] == 589
    assert out["ingested"]["tip_hash"] == block_hash(alts[-1])[::-1].hex()
    assert contract_rows(store) == contract_rows(folder_store(tmp_path / "falt", reorged))

    # ...and back to the real chain.
    node.set_chain(REAL)
    out = sync(store, "--rpc", node.auth_url)
    assert out["ingested"]["rolled_back"] == 10 and out["ingested"]["blocks"] == 10
    assert contract_rows(store) == contract_rows(folder_store(tmp_path / "fback", list(REAL)))

    # Synced again with nothing new: the store does not change.
    with ChainStore(store) as st:
        before = st.content_hash()
    node.calls.clear()
    out = sync(store, "--rpc", node.auth_url)
    assert out["ingested"]["blocks"] == 0 and node.calls["getblock"] == 0
    with ChainStore(store) as st:
        assert st.content_hash() == before


def test_rpc_user_and_password_options(node: FakeNode, tmp_path: Path):
    store = tmp_path / "s"
    node.set_chain(REAL[:171])
    sync(store, "--rpc", node.url, "--rpc-user", node.user, "--rpc-password", node.password)
    with ChainStore(store) as st:
        rows = query(st, "SELECT value_sat, address FROM outputs WHERE txid = "
                         "'f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16' ORDER BY vout").to_pylist()
    assert rows == [{"value_sat": 10 * 10**8, "address": "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"},
                    {"value_sat": 40 * 10**8, "address": "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}]


def test_rpc_wrong_password_exits_3_with_one_line(node: FakeNode, tmp_path: Path):
    store = tmp_path / "s"
    url = f"http://{node.user}:wrong-password@127.0.0.1:{node.port}/"
    res = subprocess.run([str(CLI), "ingest", "btc", "--store", str(store), "--rpc", url],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 3
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "wrong-password" not in res.stderr  # never echo the secret
    assert "401" in lines[0] or "auth" in lines[0].lower()
    assert node.calls["getblock"] == 0
    if (store / "MANIFEST.json").exists():
        with ChainStore(store) as st:
            assert st.counts["blocks"] == 0


def test_rpc_unreachable_node_exits_3(tmp_path: Path):
    with FakeNode(blocks=REAL[:2]) as n:
        port = n.port
    res = CliRunner().invoke(app, ["ingest", "btc", "--store", str(tmp_path / "s"),
                                   "--rpc", f"http://u:p@127.0.0.1:{port}/"])
    assert res.exit_code == 3
    assert len(res.stderr.strip().splitlines()) == 1

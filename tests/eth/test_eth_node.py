"""AnvilNode: a real anvil started on a free loopback port, answering, and gone after stop."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from anvil_needed import need_anvil

from chaintrail.chains.ethereum.node import AnvilNode, anvil_binary
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import SourceError

DEV0 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"  # anvil's first funded, unlocked account
DEAD = "0x000000000000000000000000000000000000dead"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_start_answers_its_chain_id_and_stop_frees_the_port(tmp_path: Path) -> None:
    need_anvil()
    node = AnvilNode(chain_id=4242, log_dir=str(tmp_path))
    with node:
        assert node.url == f"http://127.0.0.1:{node.port}"
        assert node.running
        assert not _port_free(node.port)
        with EthRpc(node.url) as rpc:
            assert rpc.chain_id() == 4242
            assert rpc.head() == 0
        pid = node._proc.pid if node._proc else -1
    assert not node.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not a zombie
    assert _port_free(node.port)
    assert (tmp_path / f"anvil-{node.port}.log").is_file()  # kept: it is in the caller's log_dir
    with EthRpc(node.url, retries=0) as rpc, pytest.raises(SourceError, match="connection refused"):
        rpc.chain_id()
    node.stop()  # twice is harmless


def test_two_nodes_get_two_ports() -> None:
    need_anvil()
    with AnvilNode() as a, AnvilNode(chain_id=7) as b:
        assert a.port != b.port
        with EthRpc(a.url) as ra, EthRpc(b.url) as rb:
            assert (ra.chain_id(), rb.chain_id()) == (31337, 7)


def test_no_mining_mines_on_demand_only() -> None:
    need_anvil()
    with AnvilNode(no_mining=True) as node, EthRpc(node.url) as rpc:
        rpc.call("eth_sendTransaction", [{"from": DEV0, "to": DEAD, "value": hex(5)}])
        time.sleep(0.3)
        assert rpc.head() == 0
        rpc.call("evm_mine", [])
        assert rpc.head() == 1
        assert len(rpc.blocks([1])[0]["transactions"]) == 1


def test_block_time_mines_on_its_own() -> None:
    need_anvil()
    with AnvilNode(block_time=0.2) as node, EthRpc(node.url) as rpc:
        deadline = time.monotonic() + 10
        while rpc.head() < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rpc.head() >= 2


def test_stopped_even_when_the_block_raises() -> None:
    need_anvil()
    node = AnvilNode()
    with pytest.raises(RuntimeError), node:
        raise RuntimeError("boom")
    assert not node.running and _port_free(node.port)


def test_missing_binary_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINTRAIL_ANVIL", "/nonexistent")
    with pytest.raises(SourceError) as err:
        anvil_binary()
    assert str(err.value).startswith("CHAINTRAIL_ANVIL=/nonexistent is not an executable file")
    with pytest.raises(SourceError, match="CHAINTRAIL_ANVIL=/nonexistent"):
        AnvilNode().start()


def test_anvil_refusing_to_start_quotes_its_output() -> None:
    need_anvil()
    node = AnvilNode(extra_args=("--no-such-flag",))
    with pytest.raises(SourceError) as err:
        node.start()
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("anvil exited with code 2 before answering on http://127.0.0.1:")
    assert "--no-such-flag" in msg
    assert not node.running


def test_start_timeout_kills_the_whole_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node that never answers: the error quotes its last lines, and its children die with it."""
    child_pid = tmp_path / "child.pid"
    fake = tmp_path / "anvil"
    fake.write_text(f"#!/bin/sh\necho 'warming up'\necho 'still warming up'\nsleep 60 &\necho $! > {child_pid}\n"
                    "wait\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CHAINTRAIL_ANVIL", str(fake))
    node = AnvilNode(start_timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        node.start()
    assert time.monotonic() - t0 < 10
    assert str(err.value) == (f"anvil did not answer eth_chainId on {node.url} within 0.5 s: "
                              "warming up | still warming up")
    pid = int(child_pid.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the fake node's child outlived stop()")
    assert not node.running

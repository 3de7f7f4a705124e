"""Solidity compiled with the pinned solcjs (cached by input hash), and the driver's ABI encoder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaintrail.chains.ethereum import solc
from chaintrail.errors import SourceError
from chaintrail.scenario.eth_calls import calldata, constructor_data, encode

TINY = {"Tiny.sol": "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\n"
                    "contract Tiny { uint256 public x; function set(uint256 v) external { x = v; } }\n"}


def _need_solc() -> None:
    try:
        solc.solc_package()
    except SourceError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"solc is required in CI: {exc}")
        pytest.skip(str(exc))


def test_abi_encoding_matches_the_solidity_docs_examples():
    # docs.soliditylang.org, "Contract ABI Specification", Examples
    assert calldata("baz(uint32,bool)", 69, True) == "0xcdcd77c0" + "%064x" % 69 + "%064x" % 1
    words = ["60", "1", "a0", "4", "6461766500000000000000000000000000000000000000000000000000000000",
             "3", "1", "2", "3"]
    assert calldata("sam(bytes,bool,uint256[])", b"dave", True, [1, 2, 3]) == \
        "0xa5643bf2" + "".join(w.rjust(64, "0") if len(w) < 64 else w for w in words)
    assert encode(["address"], ["0x" + "ab" * 20]) == bytes(12) + bytes.fromhex("ab" * 20)
    assert constructor_data("0x6080", ["string"], "hi") == "0x6080" + "%064x" % 32 + "%064x" % 2 + "6869".ljust(64, "0")
    with pytest.raises(ValueError, match="uint8 out of range"):
        encode(["uint8"], [256])
    with pytest.raises(ValueError, match="not supported"):
        encode(["int256"], [-1])


def test_compile_caches_by_input_hash(tmp_path, monkeypatch):
    _need_solc()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    compiled = solc.compile_sources(TINY)
    abi, bytecode = compiled["Tiny"]
    assert {f["name"] for f in abi if f["type"] == "function"} == {"x", "set"}
    assert bytecode.startswith("0x6080") and len(bytecode) > 100
    cached = list((tmp_path / "chaintrail" / "solc").glob("*.json"))
    assert len(cached) == 1
    assert solc.method_identifiers(TINY)["Tiny"] == {"set(uint256)": "60fe47b1", "x()": "0c55699c"}
    # from the cache, node is never run; another setting is another compile, which now cannot run
    monkeypatch.setenv("CHAINTRAIL_NODE", str(tmp_path / "no-node"))
    assert solc.compile_sources(TINY) == compiled
    with pytest.raises(SourceError, match="could not run"):
        solc.compile_sources(TINY, optimizer_runs=1)
    # a damaged cache entry is compiled again, not trusted
    monkeypatch.delenv("CHAINTRAIL_NODE")
    cached[0].write_text("{not json")
    assert solc.compile_sources(TINY) == compiled


def test_the_test_contracts_compile():
    _need_solc()
    contracts_dir = Path(solc.__file__).resolve().parents[2] / "scenario" / "eth_contracts"
    compiled = solc.compile_files(sorted(contracts_dir.glob("*.sol")))
    assert {"Stablecoin", "WETH9", "Collectible", "MultiToken", "Router", "RejectingSink", "Factory", "ChildWallet",
            "PiggyBank", "Proxy", "OddToken"} <= set(compiled)
    functions = {f["name"] for f in compiled["OddToken"][0] if f["type"] == "function"}
    assert "decimals" not in functions and "name" in functions
    weth_events = {e["name"] for e in compiled["WETH9"][0] if e["type"] == "event"}
    assert weth_events == {"Deposit", "Withdrawal", "Transfer", "Approval"}


def test_compile_errors_and_missing_tools_are_one_line(tmp_path, monkeypatch):
    _need_solc()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bad = {"Bad.sol": "pragma solidity ^0.8.20;\ncontract Bad { function f() external { undefined_thing(); } }\n"}
    with pytest.raises(SourceError, match=r"error\(s\) compiling Bad.sol: .*Undeclared identifier") as err:
        solc.compile_sources(bad)
    assert "\n" not in str(err.value)
    monkeypatch.setenv("CHAINTRAIL_SOLC", str(tmp_path / "nowhere"))
    with pytest.raises(SourceError, match="solc .* not found at .*nowhere; run scripts/setup.sh"):
        solc.compile_sources(TINY)
    monkeypatch.delenv("CHAINTRAIL_SOLC")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SourceError, match=r"node \(Node.js\) not found"):
        solc.compile_sources(TINY, cache=False)

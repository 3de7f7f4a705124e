"""What the Ethereum scenario's wrappers share: the compiled contracts, the send callable, calls and decoding.

A wrapper never sends a transaction itself: it is handed ``send(frm, to, value, data, gas)``, a callable that
puts one transaction from ``frm`` on chain and returns its mined receipt (``to`` None deploys ``data``). The
fast batch sender (``scenario/eth/sender.py``) and the plain one here (``RpcSend``) both fit, so the same wrapper
code serves tests and large generations. Reads go through ``EthRpc`` ``eth_call``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from chaintrail.chains.ethereum.hexutil import event_topic, keccak256
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.chains.ethereum.solc import compile_files, solc_package
from chaintrail.errors import SourceError
from chaintrail.scenario.eth_calls import calldata, encode

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "eth_contracts"

Send = Callable[[str, "str | None", int, str, int], dict]
"""send(frm, to, value, data, gas) -> the mined receipt of that transaction (to None: a creation)."""


class TxFailed(SourceError):
    """A transaction the scenario planned to succeed was mined with status 0."""


@lru_cache(maxsize=1)
def _ours() -> dict[str, tuple[list, str]]:
    return compile_files(sorted(CONTRACTS_DIR.glob("*.sol")))


def bytecode(name: str) -> str:
    """Creation code (0x hex) of one of scenario/eth_contracts' contracts, compiled by the pinned solc."""
    compiled = _ours()
    if name not in compiled:
        raise SourceError(f"no contract {name} in {CONTRACTS_DIR}")
    return compiled[name][1]


def npm_artifact(package: str, name: str) -> tuple[list, str]:
    """(ABI, creation code) of a published npm build, e.g. ("@uniswap/v2-core", "UniswapV2Pair").

    Read from ``<package>/build/<name>.json`` beside the pinned solc in scripts/eth/node_modules.
    """
    path = solc_package().parent / package / "build" / f"{name}.json"
    try:
        art = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SourceError(f"npm build {path} could not be read ({exc}); run scripts/setup.sh") from exc
    code = art.get("bytecode") or art.get("evm", {}).get("bytecode", {}).get("object", "")
    if not code or "__" in code:
        raise SourceError(f"npm build {path} has no linked creation bytecode")
    return art["abi"], code if code.startswith("0x") else "0x" + code


def check(receipt: dict, what: str) -> dict:
    """``receipt`` if its status is 1, else TxFailed naming ``what`` and the transaction."""
    if receipt.get("status") != "0x1":
        raise TxFailed(f"{what}: tx {receipt.get('transactionHash')} failed (status {receipt.get('status')})")
    return receipt


def deploy(send: Send, frm: str, code: str, gas: int = 6_000_000, *, what: str = "deploy") -> str:
    """Deploy creation ``code`` (constructor arguments already appended) from ``frm``; the new address."""
    receipt = check(send(frm, None, 0, code, gas), what)
    address = receipt.get("contractAddress")
    if not address:
        raise SourceError(f"{what}: receipt {receipt.get('transactionHash')} names no contract address")
    return address.lower()


def call(rpc: EthRpc, to: str, signature: str, *args: object, returns: list[str] | None = None,
         block: int | str = "latest") -> list:
    """eth_call ``signature`` on ``to`` and decode the answer as ``returns`` (default: one uint256)."""
    (answer,) = rpc.eth_calls([(to, calldata(signature, *args))], block)
    if isinstance(answer, Exception):
        raise SourceError(f"eth_call {signature} on {to}: {answer}")
    return decode(returns or ["uint256"], bytes.fromhex(answer[2:]))


def call_int(rpc: EthRpc, to: str, signature: str, *args: object, block: int | str = "latest") -> int:
    return int(call(rpc, to, signature, *args, block=block)[0])


def decode(types: list[str], data: bytes) -> list:
    """ABI-decode ``data`` as a tuple of ``types``: address, uintN, bool, bytes32 and uint256[]/address[]."""
    out: list = []
    for i, kind in enumerate(types):
        word = data[32 * i:32 * i + 32]
        if len(word) != 32:
            raise SourceError(f"ABI data of {len(data)} bytes too short for {types}")
        if kind.endswith("[]"):
            at = int.from_bytes(word, "big")
            n = int.from_bytes(data[at:at + 32], "big")
            out.append(decode([kind[:-2]] * n, data[at + 32:at + 32 + 32 * n]))
        else:
            out.append(_static(kind, word))
    return out


def _static(kind: str, word: bytes) -> object:
    if kind == "address":
        return "0x" + word[12:].hex()
    if kind == "bool":
        return word[-1] == 1
    if kind == "bytes32":
        return "0x" + word.hex()
    if kind.startswith("uint"):
        return int.from_bytes(word, "big")
    raise SourceError(f"ABI type not supported by the scenario's decoder: {kind}")


def logs_of(receipt: dict, address: str, signature: str) -> list[dict]:
    """The receipt's logs emitted by ``address`` with event ``signature`` as topic 0."""
    topic = event_topic(signature)
    return [log for log in receipt.get("logs", ())
            if log["address"].lower() == address.lower() and log["topics"][0] == topic]


def create2_address(deployer: str, salt: bytes, init_code: bytes) -> str:
    """The address CREATE2 gives: keccak(0xff ++ deployer ++ salt ++ keccak(init_code))[12:]."""
    raw = b"\xff" + bytes.fromhex(deployer[2:]) + salt + keccak256(init_code)
    return "0x" + keccak256(raw)[12:].hex()


def derived_address(seed: bytes, label: str, i: int) -> str:
    """A fresh address derived from a seed (no key: the scenario's node sends from it by impersonation)."""
    return "0x" + keccak256(seed + label.encode() + i.to_bytes(8, "big"))[12:].hex()


__all__ = ["CONTRACTS_DIR", "Send", "TxFailed", "bytecode", "call", "call_int", "calldata", "check",
           "create2_address", "decode", "deploy", "derived_address", "encode", "logs_of", "npm_artifact"]

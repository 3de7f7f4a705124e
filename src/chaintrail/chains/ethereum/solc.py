"""Compile Solidity with the project's pinned solcjs (npm ``solc``), cached by a hash of what went in.

The compiler is the npm package installed by ``scripts/setup.sh`` under ``scripts/eth/node_modules/solc``
(or the package folder named by ``$CHAINTRAIL_SOLC``), run by ``node`` with solc's standard-JSON interface.
Compiled output is kept in ``~/.cache/chaintrail/solc/<sha256>.json`` (``$XDG_CACHE_HOME`` honoured), the
hash covering the sources, the compiler version and the settings, so that tests compile once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from chaintrail.errors import SourceError

EVM_VERSION = "cancun"  # anvil 1.7.1 runs a later fork by default; cancun bytecode runs on it unchanged
OPTIMIZER_RUNS = 200

# solc's standard-JSON interface: input on stdin, output on stdout (the solcjs CLI adds nothing we need).
_RUNNER = "const solc = require(process.argv[1]); const input = require('fs').readFileSync(0, 'utf8');" \
          "process.stdout.write(solc.compile(input));"

Compiled = dict[str, tuple[list, str]]  # contract name -> (ABI, creation bytecode as 0x hex)


def solc_package() -> Path:
    """The folder of the npm ``solc`` package: $CHAINTRAIL_SOLC, else the repo's scripts/eth/node_modules/solc."""
    env = os.environ.get("CHAINTRAIL_SOLC")
    path = Path(env) if env else Path(__file__).resolve().parents[4] / "scripts" / "eth" / "node_modules" / "solc"
    if not (path / "package.json").is_file():
        raise SourceError(f"solc (npm solcjs) not found at {path}; run scripts/setup.sh")
    return path


def solc_version(package: Path | None = None) -> str:
    """The version of the solc package, as its package.json says."""
    package = package or solc_package()
    return str(json.loads((package / "package.json").read_text())["version"])


def _node() -> str:
    node = os.environ.get("CHAINTRAIL_NODE") or shutil.which("node")
    if not node:
        raise SourceError("node (Node.js) not found on PATH, needed to run solc; run scripts/setup.sh")
    return node


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chaintrail" / "solc"


def standard_input(sources: dict[str, str], *, evm_version: str = EVM_VERSION,
                   optimizer_runs: int = OPTIMIZER_RUNS) -> dict:
    """solc's standard-JSON input for ``sources`` (file name -> text): ABI, bytecode and selectors out."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "optimizer": {"enabled": True, "runs": optimizer_runs},
            "evmVersion": evm_version,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.methodIdentifiers"]}},
        },
    }


def compile_sources(sources: dict[str, str], *, evm_version: str = EVM_VERSION,
                    optimizer_runs: int = OPTIMIZER_RUNS, cache: bool = True) -> Compiled:
    """Compile ``sources`` (file name -> Solidity text) and return {contract name: (abi, bytecode)}.

    Contract names must be unique across the files. A compile error raises SourceError naming file and line.
    """
    found: Compiled = {}
    for file_name, name, item in _compiled(sources, evm_version, optimizer_runs, cache):
        if name in found:
            raise SourceError(f"solc output: contract {name} is defined twice (again in {file_name})")
        found[name] = (item["abi"], "0x" + item["evm"]["bytecode"]["object"])
    return found


def method_identifiers(sources: dict[str, str], *, evm_version: str = EVM_VERSION,
                       optimizer_runs: int = OPTIMIZER_RUNS, cache: bool = True) -> dict[str, dict[str, str]]:
    """{contract name: {'transfer(address,uint256)': 'a9059cbb', ...}}, from the same (cached) compile."""
    return {name: dict(item["evm"]["methodIdentifiers"])
            for _, name, item in _compiled(sources, evm_version, optimizer_runs, cache)}


def compile_files(paths: list[Path], **options) -> Compiled:
    """Compile Solidity files (named by their base name inside the compile) with compile_sources."""
    return compile_sources({Path(p).name: Path(p).read_text() for p in paths}, **options)


def _compiled(sources: dict[str, str], evm_version: str, optimizer_runs: int,
              cache: bool) -> list[tuple[str, str, dict]]:
    """(file, contract, output) for every contract, from the cache when the same compile was done before."""
    package = solc_package()
    version = solc_version(package)
    request = standard_input(sources, evm_version=evm_version, optimizer_runs=optimizer_runs)
    key_text = json.dumps({"solc": version, "input": request}, sort_keys=True, separators=(",", ":"))
    path = _cache_dir() / f"{hashlib.sha256(key_text.encode()).hexdigest()}.json"
    by_file = None
    if cache and path.is_file():
        try:
            by_file = json.loads(path.read_text())
        except ValueError:
            by_file = None  # a damaged cache entry is recompiled and rewritten
    if not isinstance(by_file, dict):
        by_file = _run_solc(package, json.dumps(request), version).get("contracts", {})
        if cache:
            _write_atomic(path, json.dumps(by_file, sort_keys=True))
    return [(file_name, name, item) for file_name, contracts in sorted(by_file.items())
            for name, item in sorted(contracts.items())]


def _run_solc(package: Path, request: str, version: str) -> dict:
    try:
        done = subprocess.run([_node(), "-e", _RUNNER, str(package)], input=request, capture_output=True,
                              text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceError(f"solc {version} at {package} could not run: {exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SourceError(f"solc {version} at {package} failed (exit {done.returncode}): {last}")
    try:
        output = json.loads(done.stdout)
    except ValueError as exc:
        raise SourceError(f"solc {version} at {package} printed something other than JSON") from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        first = errors[0]
        loc = first.get("sourceLocation") or {}
        where = loc.get("file", "?")
        line = " ".join((first.get("formattedMessage") or first.get("message", "")).split())
        raise SourceError(f"solc {version}: {len(errors)} error(s) compiling {where}: {line}")
    return output


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

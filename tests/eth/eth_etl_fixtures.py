"""Reading ethereum-etl's recorded mainnet fixtures in place (../shared/data/eth/ethereum-etl-fixtures)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = (ROOT / ".." / "shared" / "data" / "eth" / "ethereum-etl-fixtures" / "tests" / "resources").resolve()


def case(*parts: str) -> Path:
    """The folder of one recorded case; the test fails (not skips) when the shared data is missing."""
    path = RESOURCES.joinpath(*parts)
    if not path.is_dir():
        pytest.fail(f"ethereum-etl fixtures not found at {path}; clone the project beside shared/")
    return path


def rpc_result(path: Path) -> object:
    """The ``result`` of a recorded JSON-RPC answer."""
    return json.loads(path.read_text())["result"]


def one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"{pattern} in {folder}: {found}"
    return found[0]


def records(path: Path) -> list[dict]:
    """ethereum-etl's newline-delimited JSON records."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def csv_int(text: str) -> int | None:
    return None if text == "" else int(text)


def csv_str(text: str) -> str | None:
    return None if text == "" else text


def columns_to_rows(columns: dict[str, list]) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]

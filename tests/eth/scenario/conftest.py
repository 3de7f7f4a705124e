"""Fixtures of the Ethereum scenario tests: ``chain``, a fresh anvil with its EthRpc and the plain sender."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_scen_chain import Chain, open_chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    yield from open_chain(tmp_path)

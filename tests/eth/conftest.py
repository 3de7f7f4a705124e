"""Ethereum test fixtures: a fresh anvil (``need_anvil``: CI fails without it, a bare dev machine skips)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from chaintrail.chains.ethereum.node import AnvilNode


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    """A fresh anvil (chain id 31337, automine) on a free loopback port, its log under tmp_path."""
    from anvil_needed import need_anvil

    from chaintrail.chains.ethereum.node import AnvilNode

    need_anvil()
    with AnvilNode(log_dir=str(tmp_path)) as node:
        yield node

"""Ethereum test fixtures: the pinned anvil must be there (CI fails without it; a bare dev machine skips)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def anvil_available() -> str:
    from chaintrail.chains.ethereum.node import anvil_binary
    from chaintrail.errors import SourceError

    try:
        return anvil_binary()
    except SourceError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"anvil is required in CI: {exc}")
        pytest.skip(f"anvil not installed: {exc}")

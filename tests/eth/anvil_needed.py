"""Whether anvil is here: tests that need it skip locally without it and fail in CI (``CI`` set)."""

from __future__ import annotations

import os

import pytest

from chaintrail.chains.ethereum.node import anvil_binary
from chaintrail.errors import SourceError


def need_anvil() -> str:
    """anvil's path; without one the test skips, or fails when ``CI`` is set (setup.sh must have installed it)."""
    try:
        return anvil_binary()
    except SourceError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"anvil is required in CI: {exc}")
        pytest.skip(str(exc))
        raise

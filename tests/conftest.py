"""Shared fixtures: where the real data lives, and fresh stores."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/fakenode.py and friends


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test data not found at {SHARED_DATA}; clone the project beside shared/")
    return SHARED_DATA


@pytest.fixture(scope="session")
def btc_data(shared_data: Path) -> Path:
    return shared_data / "btc"


@pytest.fixture(autouse=True)
def _language_reset():
    """A test that switches the message language (``--lang`` run in-process) must not leak it into the next."""
    from chaintrail.i18n.catalogs import _language

    token = _language.set(None)
    yield
    _language.reset(token)

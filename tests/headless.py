"""The headless Chromium the browser tests drive: Debian's (installed by scripts/setup.sh), through Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: run `bash scripts/setup.sh` (it installs it)")


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (import this fixture into the module that uses it)."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()

"""The browser tests share the API tests' fixtures (real stores, the demo case, live servers)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from ct_workbench import demo, demo_api  # noqa: F401

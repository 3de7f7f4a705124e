"""Fixtures of the API tests live in ct_workbench (shared with tests/web)."""

from ct_workbench import demo, demo_api, mainnet_api, mainnet_store  # noqa: F401

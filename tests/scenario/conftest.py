"""One generated scenario per test session (seed 11, every kind, about 1,000 transactions)."""

from __future__ import annotations

import json

import pytest
from scenario_view import ChainView, read_folder

from chaintrail.scenario.generator import generate

SEED = 11


@pytest.fixture(scope="session")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenario_all")
    sc = generate(folder, seed=SEED, kind="all", scale=1.0)
    return sc


@pytest.fixture(scope="session")
def view(scenario) -> ChainView:
    return read_folder(scenario.out_dir)


@pytest.fixture(scope="session")
def key(scenario) -> dict:
    return json.loads((scenario.out_dir / "answer_key.json").read_text())

"""A trace worker's warm-up leaves nothing O(chain) for its first trace: the engine's whole-chain facts are
persisted for the read model's state (and shared with the CLI's engine), and the first trace equals the CLI's."""

from __future__ import annotations

import json

import pytest

from chaintrail.analysis import demix as demix_mod
from chaintrail.analysis import trace_facts
from chaintrail.analysis import tracing as tracing_mod
from chaintrail.analysis.trace_eval import prepare_store
from chaintrail.analysis.tracing import TraceEngine, TraceParams
from chaintrail.api.workbench import Workbench
from chaintrail.scenario.generator import generate
from chaintrail.store import readmodel
from chaintrail.store.chainstore import ChainStore


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("warm")
    generate(root / "g", seed=27, kind="ransomware", scale=1.0)
    prepare_store(root / "g", root / "store")
    readmodel.build(ChainStore(root / "store"))
    return root / "g", root / "store"


def test_warm_worker_persists_facts_and_traces_as_the_cli(chain, monkeypatch):
    folder, path = chain
    key = json.loads((folder / "answer_key.json").read_text())
    victim = key["cases"][0]["victim_payments"][0]["address"]
    wb = Workbench(path)
    wb.warm_tracer()
    for group in ("demix", "swept"):
        got = trace_facts.folder_for(wb.tracer, group)
        assert got is not None and (got / "META.json").exists(), group

    def refuse(*a, **k):
        raise AssertionError("a whole-chain pass ran inside a trace")
    for name in ("_funded_by", "_paying_chips", "_customer_chips", "_chip_split_stats"):
        monkeypatch.setattr(demix_mod, name, refuse)
    monkeypatch.setattr(tracing_mod, "swept_deposits", refuse)
    params = TraceParams(max_hops=6)
    got = wb.trace(victim, params).to_dict()
    assert got["demix"]
    cli = TraceEngine.open(ChainStore(path), prefault=False)      # loads the same facts
    assert trace_facts.folder_for(cli, "demix") == trace_facts.folder_for(wb.tracer, "demix")
    assert cli.trace(victim, params).to_dict()["trace_hash"] == got["trace_hash"]

"""A trace engine over the store's current read model: its lookups equal the store tables' answers, a trace
never scans the chain for an address or builds the per-address output index, the demixer's whole-chain facts
are found once per state and tags and loaded by later engines, and every trace hash stays the same."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from chaintrail.analysis import demix as demix_mod
from chaintrail.analysis import trace_facts
from chaintrail.analysis import tracing as tracing_mod
from chaintrail.analysis.clustering import cluster_labels
from chaintrail.analysis.model_lookups import ModelLookups
from chaintrail.analysis.sparse_tx_labels import mixer_tx_list, tx_label_list
from chaintrail.analysis.trace_eval import prepare_store
from chaintrail.analysis.tracing import TraceEngine, TraceParams
from chaintrail.errors import UsageError
from chaintrail.scenario.generator import generate
from chaintrail.store import readmodel
from chaintrail.store import sql as sql_mod
from chaintrail.store.chainstore import ChainStore


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Seed 27 ransomware at scale 1 (laundered through the chip mixer), clustered, tagged, with its read model."""
    root = tmp_path_factory.mktemp("lookups")
    generate(root / "g", seed=27, kind="ransomware", scale=1.0)
    prepare_store(root / "g", root / "store")
    readmodel.build(ChainStore(root / "store"))
    return root / "g", root / "store"


def _victims(folder) -> list[str]:
    key = json.loads((folder / "answer_key.json").read_text())
    return [p["address"] for c in key["cases"] for p in c.get("victim_payments", [])[:1]]


def _specs(folder) -> list[tuple[str, TraceParams]]:
    a = _victims(folder)
    return [(x, TraceParams(max_hops=6)) for x in a] + [
        (a[0], TraceParams(max_hops=3, model="fifo", mixer_policy="haircut")),
        (a[0], TraceParams(max_hops=4, model="poison", mixer_policy="stop")),
        (a[0], TraceParams(direction="backward", max_hops=3)),
        ("cluster:3", TraceParams(max_hops=2, mixer_policy="haircut"))]


def _no_read_model(store_path, tmp_path):
    """A copy of the store without its read model (the engine falls back to the store's tables)."""
    copy = tmp_path / "plain"
    shutil.copytree(store_path, copy, ignore=shutil.ignore_patterns("readmodel", "tracemaps"))
    return copy


def test_lookups_equal_the_store_tables(chain):
    _, path = chain
    st = ChainStore(path)
    lk = ModelLookups.open(st)
    assert lk is not None
    names = sql_mod.query(st, "SELECT addr_num, address FROM raw.addresses ORDER BY addr_num").to_pylist()
    rng = np.random.default_rng(1)
    out_addr = np.asarray(st.column("out_addr"))
    for row in [names[i] for i in rng.choice(len(names), 300, replace=False)]:
        assert lk.addr_num(row["address"]) == row["addr_num"]
        np.testing.assert_array_equal(lk.outputs_of(row["addr_num"]),
                                      np.flatnonzero(out_addr == row["addr_num"]))
    assert lk.addr_num("bcrt1qnotanaddressatall") is None and lk.addr_num("") is None
    some = [names[i] for i in rng.choice(len(names), 500, replace=False)]
    assert lk.address_names([r["addr_num"] for r in some] + [-1]) == [r["address"] for r in some] + [None]
    np.testing.assert_array_equal(lk.labels(), cluster_labels(st))
    want, got = tx_label_list(st), lk.tx_labels()
    assert len(want.txs) > 50 and (want.codes == 8).any()           # chip splits among them
    np.testing.assert_array_equal(got.txs, want.txs)
    np.testing.assert_array_equal(got.codes, want.codes)
    np.testing.assert_array_equal(lk.mixer_txs().txs, mixer_tx_list(st).txs)


def test_stale_or_missing_read_model_is_not_used(chain, tmp_path):
    _, path = chain
    assert ModelLookups.open(ChainStore(_no_read_model(path, tmp_path))) is None
    assert TraceEngine.open(ChainStore(path), prefault=False).lookups is not None


def test_trace_scans_nothing_per_address_and_hashes_stay(chain, tmp_path, monkeypatch):
    """Same hashes as an engine over the store's tables; with the read model no SQL scan, no output index."""
    folder, path = chain
    plain = TraceEngine.open(ChainStore(_no_read_model(path, tmp_path)), prefault=False)
    assert plain.lookups is None
    want = [plain.trace(s, p).to_dict()["trace_hash"] for s, p in _specs(folder)]

    def refuse(*a, **k):
        raise AssertionError("a trace scanned the addresses table")
    monkeypatch.setattr(sql_mod, "query", refuse)
    eng = TraceEngine.open(ChainStore(path), prefault=False)
    got = [eng.trace(s, p).to_dict()["trace_hash"] for s, p in _specs(folder)]
    assert got == want
    assert eng._outs_of is None                      # the O(outputs) index was never built
    with pytest.raises(UsageError, match="not in the store"):
        eng.trace("bcrt1qnotanaddressatall", TraceParams(max_hops=2))
    # bech32 in capitals is the same address (as the workbench finds it)
    a = _victims(folder)[0]
    assert eng.resolve(a.upper(), "forward")[0].tolist() == eng.resolve(a, "forward")[0].tolist()


def test_demix_facts_found_once_per_state_then_loaded(chain, monkeypatch):
    folder, path = chain
    spec, params = _victims(folder)[0], TraceParams(max_hops=6)
    for old in (path / "readmodel").glob("*/demix-*"):
        shutil.rmtree(old)
    first = TraceEngine.open(ChainStore(path), prefault=False)
    want = first.trace(spec, params).to_dict()
    assert want["demix"] and any(d["kind"] == "custodial" for d in want["demix"])
    saved = trace_facts.folder_for(first, "demix")
    assert saved is not None and (saved / "META.json").exists() and saved.name.startswith("demix-v")
    dm = first.demixer()
    facts = {n: np.load(saved / f"{n}.npy") for n in trace_facts.GROUPS["demix"]}
    np.testing.assert_array_equal(facts["custodial"], np.flatnonzero(dm.custodial_addresses()))
    assert facts["chip_splits"].tolist() == dm.chip_splits() and len(facts["chip_txs"]) > 0

    def refuse(*a, **k):
        raise AssertionError("a whole-chain pass ran again")
    for name in ("_funded_by", "_paying_chips", "_customer_chips", "_chip_split_stats"):
        monkeypatch.setattr(demix_mod, name, refuse)
    second = TraceEngine.open(ChainStore(path), prefault=False)
    assert second.trace(spec, params).to_dict()["trace_hash"] == want["trace_hash"]


def test_swept_deposits_found_once_per_state_then_loaded(chain, monkeypatch):
    """Deposit addresses swept into tagged hot wallets: persisted by the first engine, loaded by the next."""
    folder, path = chain
    spec, params = _victims(folder)[0], TraceParams(max_hops=6, mixer_policy="haircut")
    for old in (path / "readmodel").glob("*/swept-*"):
        shutil.rmtree(old)
    first = TraceEngine.open(ChainStore(path), prefault=False)
    want = first.trace(spec, params).to_dict()["trace_hash"]
    swept = first.swept_into()
    assert len(swept.keys) > 0                       # the realistic tags name hot wallets: sweeps are found
    saved = trace_facts.folder_for(first, "swept")
    np.testing.assert_array_equal(np.load(saved / "keys.npy"), swept.keys)
    np.testing.assert_array_equal(np.load(saved / "into.npy"), swept.into)

    def refuse(*a, **k):
        raise AssertionError("swept deposits found again")
    monkeypatch.setattr(tracing_mod, "swept_deposits", refuse)
    second = TraceEngine.open(ChainStore(path), prefault=False)
    assert second.trace(spec, params).to_dict()["trace_hash"] == want
    assert second.swept_into()[int(swept.keys[0])] == int(swept.into[0])


def test_demix_facts_follow_the_tags(chain, tmp_path):
    """Other tags (an engine without them) get their own folder; the older one goes."""
    folder, path = chain
    eng = TraceEngine.open(ChainStore(path), prefault=False)
    eng.demixer().prepare()
    tagged = trace_facts.folder_for(eng, "demix")
    assert tagged.exists() and "notags" not in tagged.name
    bare = TraceEngine.open(ChainStore(path), prefault=False)
    bare.stop_addr_for = None
    bare.demixer().prepare()
    untagged = trace_facts.folder_for(bare, "demix")
    assert untagged.name.endswith("-notags") and untagged.exists() and not tagged.exists()
    # An engine whose tags are not the store's own (a stand-in) shares nothing.
    from chaintrail.analysis.tracing import StopAddresses
    other = TraceEngine.open(ChainStore(path), prefault=False)
    other.stop_addr_for = StopAddresses(len(other.labels), {})
    assert trace_facts.folder_for(other, "demix") is None

"""The workbench's tags persisted beside the read model (tags/tagmodel.py): a second open maps them (no address
search, no Parquet decoding) and answers as tags opened in memory do; new tags get a new copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from chaintrail.api.chainview import ChainView
from chaintrail.tags.tagmodel import MappedTagStore
from chaintrail.api.workbench import Workbench
from chaintrail.store.readmodel import FOLDER, key_of
from chaintrail.tags.propagation import Attribution
from chaintrail.tags.tagstore import TagStore


@pytest.fixture()
def store(demo, tmp_path) -> Path:
    path = tmp_path / "store"
    shutil.copytree(demo.store, path)
    return path


def _copies(wb) -> list[Path]:
    return sorted((wb.store.path / FOLDER / key_of(wb.store)).glob("tags-*"))


def _mapped_open(path: Path, monkeypatch) -> Workbench:
    """A workbench opened while searching addresses and reading the tags' Parquet are refused."""
    with monkeypatch.context() as mp:
        def no_search(self, addresses):
            raise AssertionError("opening the workbench searched the tagged addresses again")

        real = TagStore._read

        def no_parquet(self, name, schema):
            if name == "tags":
                raise AssertionError("opening the workbench decoded tags.parquet")
            return real(self, name, schema)

        mp.setattr(ChainView, "addr_nums", no_search)
        mp.setattr(TagStore, "_read", no_parquet)
        return Workbench(path)


def test_second_open_maps_the_tags_and_answers_as_in_memory(store, monkeypatch):
    first = Workbench(store)
    assert len(_copies(first)) == 1
    first.close()
    wb = _mapped_open(store, monkeypatch)
    assert isinstance(wb.tags.tagstore, MappedTagStore)
    v, at = wb.view, wb.tags.attribution
    ref = Attribution(TagStore(store), wb.store, v.labels, v.addr_nums)        # in memory, from Parquet
    assert np.array_equal(at.slot_addr, ref.slot_addr) and (ref.slot_addr >= 0).sum() > 10
    every = np.arange(v.n_addr)
    assert np.array_equal(at.addr_bits[every], ref.addr_bits[every])
    assert np.array_equal(at(("exchange",)), ref(("exchange",)))
    assert at.tagstore.tags.equals(ref.tagstore.tags)
    tagged = np.flatnonzero(ref.addr_bits[every] != 0)[:40].tolist()
    for a in tagged:
        assert [(h.row, h.via, h.tag) for h in at.hits(a)] == [(h.row, h.via, h.tag) for h in ref.hits(a)]
        assert wb.tags.count_hits(a) >= len(wb.tags.hits(a)) > 0
    label = ref.tagstore.tags["label"][0].as_py()
    assert wb.tags.search_labels(label[:4], 5)[0]["label"].lower().find(label[:4].lower()) >= 0
    wb.close()


def test_new_tags_get_a_new_copy_and_the_old_one_goes(store, monkeypatch):
    wb = Workbench(store)
    before = _copies(wb)
    untagged = next(a for a in range(wb.view.n_addr) if not wb.tags.is_tagged(a) and wb.view.address(a))
    name = wb.view.address(untagged)
    wb.close()
    TagStore(store).add_tag(name, "Fresh Exchange", category="exchange", is_cluster_definer=True)
    wb = Workbench(store)
    after = _copies(wb)
    assert len(after) == 1 and after != before and not before[0].exists()
    assert [h["label"] for h in wb.tags.hits(untagged)][:1] == ["Fresh Exchange"]
    assert wb.tags.attribution(("exchange",))[untagged]
    wb.close()
    again = _mapped_open(store, monkeypatch)
    assert [h["label"] for h in again.tags.hits(untagged)][:1] == ["Fresh Exchange"]
    again.close()


def test_cli_tags_import_lays_the_tags_out_for_the_next_serve(store, monkeypatch):
    from typer.testing import CliRunner

    from chaintrail.cli.main import app

    Workbench(store).close()
    wb = Workbench(store)
    a = next(a for a in range(wb.view.n_addr) if not wb.tags.is_tagged(a) and wb.view.address(a))
    name = wb.view.address(a)
    wb.close()
    csv = store.parent / "more.csv"
    csv.write_text(f"address,label,category\n{name},Imported Desk,exchange\n")
    res = CliRunner().invoke(app, ["tags", "import", str(csv), "--store", str(store), "--json"])
    assert res.exit_code == 0, res.output
    wb = _mapped_open(store, monkeypatch)          # the import persisted them: no search, no Parquet
    assert [h["label"] for h in wb.tags.hits(a)] == ["Imported Desk"]
    wb.close()


def test_trace_engine_maps_the_tags_and_finds_conflicts_per_cluster(store, monkeypatch):
    """A trace engine (CLI trace, screening, reports) opens the tags as the workbench does: mapped from beside
    the read model, never matched against the whole addresses table; its stop masks, hits and conflicts (found
    one cluster at a time) equal the in-memory attribution's."""
    from chaintrail.analysis.tracing import TraceEngine
    from chaintrail.store.chainstore import ChainStore

    wb = Workbench(store)
    v = wb.view
    sizes = np.asarray(v.cluster_size)
    big = int(np.flatnonzero(sizes >= 2)[0])
    two = [a for a in range(v.n_addr) if int(v.labels[a]) == big][:2]
    wb.close()
    ts = TagStore(store)                    # a planted conflict: two exchanges define one cluster
    ts.add_tag(v.address(two[0]), "Alpha Exchange", category="exchange", is_cluster_definer=True)
    ts.add_tag(v.address(two[1]), "Beta Exchange", category="exchange", is_cluster_definer=True)
    Workbench(store).close()                # lays the new tags out beside the read model
    with ChainStore(store) as st:
        with monkeypatch.context() as mp:
            real = ChainStore.read_table

            def no_addresses(self, table, columns=None):
                if table == "addresses":
                    raise AssertionError("the trace engine read the whole addresses table")
                return real(self, table, columns)

            mp.setattr(ChainStore, "read_table", no_addresses)
            at = TraceEngine.open(st).stop_addr_for
        assert isinstance(at.tagstore, MappedTagStore)
        ref = Attribution(TagStore(store), st, at.labels)            # in memory, by the table scan
        assert np.array_equal(at.slot_addr, ref.slot_addr)
        for cats in (("exchange",), ("mixer",), ("ransomware", "exchange")):
            assert np.array_equal(at(cats), ref(cats))
        clusters = np.unique(ref.definer_cluster).tolist()
        found = ref.conflicts_by_cluster()
        assert big in found
        for c in clusters:
            got = at.conflict_of(c)
            assert (got is None) == (c not in found)
            if got is not None:
                assert (got.entities, got.tags) == (found[c].entities, found[c].tags)
        assert [h.row for h in at.hits(two[0])] == [h.row for h in ref.hits(two[0])]
        assert all(h.conflict for h in at.hits(two[0]) if h.tag.is_cluster_definer)


def test_endpoint_names_equal_the_hits_order(store):
    """tags_of (a trace endpoint's short names, a cluster's part worked out once) names exactly what the
    address's hits say, in their order, for every tagged address and a few of each cluster's members."""
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store) as st:
        at = Attribution.open(st)
        ref = Attribution(TagStore(store), st, at.labels)
        every = np.arange(at.n)
        tagged = np.flatnonzero((ref.addr_bits[every] != 0) | (ref.addr_slot[every] >= 0))
        assert len(tagged) > 100
        for a in tagged.tolist():
            names = []
            for h in ref.hits(a):
                kind = h.tag.risk_categories[0] if h.tag.risk_categories else h.tag.kind
                names.append(f"{kind}:{h.tag.label or h.tag.actor or '?'}")
            assert at.tags_of(a) == list(dict.fromkeys(names)), a
        assert not at.named(np.array([-1]))[0]
        assert np.array_equal(at.named(tagged), np.ones(len(tagged), np.bool_))

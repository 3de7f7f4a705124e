"""Tags on a chain store: cluster propagation by is_cluster_definer, conflicts shown, trace stop masks.

The chain (tags/chain_builder.planted_cashout) puts ``deposit`` and
``hot_wallet`` in one cluster (the exchange sweeps them together) and
``intermediary`` and ``clean2`` in another.
"""

from __future__ import annotations

import numpy as np
import pytest

from chaintrail.analysis.clustering import update_clusters
from chaintrail.analysis.tracing import TraceEngine, TraceParams
from chaintrail.store.chainstore import ChainStore
from chaintrail.tags.propagation import Attribution
from chaintrail.tags.tagstore import TagStore
from tags.chain_builder import address_of, planted_cashout

NAMES = ("ransom", "intermediary", "clean2", "deposit", "hot_wallet", "victim1")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop")
    b = planted_cashout()
    path = b.ingest(folder)
    with ChainStore(path) as st:
        update_clusters(st, np.zeros(st.counts["txs"], np.bool_))
    return path, b


def num(store: ChainStore, name: str) -> int:
    from chaintrail.analysis.screening import Screener
    return Screener(TagStore(store.path), store).addr_num(address_of(name))


@pytest.fixture
def store(built, tmp_path):
    path, _ = built
    # A fresh tag store per test (the chain store is shared and read-only).
    for f in ("tags", "tag_actors", "tag_sources"):
        (path / "analysis" / f"{f}.parquet").unlink(missing_ok=True)
    with ChainStore(path) as st:
        yield st


def test_definer_tags_spread_to_the_cluster_and_others_do_not(store):
    ts = TagStore(store.path)
    ts.add_tag(address_of("hot_wallet"), "Example Exchange", category="exchange", actor="exex",
               is_cluster_definer=True, user="t")
    ts.add_tag(address_of("clean2"), "Casino deposit", category="gambling", is_cluster_definer=False, user="t")
    ts.add_tag(address_of("ransom"), "Locky", category="ransomware", user="t")
    attr = Attribution(TagStore(store.path), store)
    n = {k: num(store, k) for k in NAMES}
    assert attr.labels[n["deposit"]] == attr.labels[n["hot_wallet"]]
    assert attr.labels[n["intermediary"]] == attr.labels[n["clean2"]]
    ex = attr(("exchange",))
    assert {k for k in NAMES if ex[n[k]]} == {"deposit", "hot_wallet"}       # definer: whole cluster
    gm = attr(("gambling",))
    assert {k for k in NAMES if gm[n[k]]} == {"clean2"}                      # not a definer: its address only
    assert {k for k in NAMES if attr(("ransomware",))[n[k]]} == {"ransom"}
    assert not attr(("mixer",)).any()
    assert int(attr(("exchange", "ransomware")).sum()) == 3
    (hit,) = attr.hits(n["deposit"])
    assert (hit.via, hit.via_address, hit.tag.label, hit.conflict) == ("cluster", address_of("hot_wallet"),
                                                                       "Example Exchange", False)
    assert attr.tags_of(n["deposit"]) == ["exchange:Example Exchange"]
    assert attr.conflicts() == []


def test_two_exchanges_on_one_cluster_are_a_conflict(store):
    ts = TagStore(store.path)
    ts.add_tag(address_of("hot_wallet"), "Example Exchange", category="exchange", actor="exex",
               is_cluster_definer=True, user="t")
    ts.add_tag(address_of("hot_wallet"), "Example Exchange hot wallet", category="exchange", actor="exex",
               is_cluster_definer=True, user="u")                              # same actor: no conflict
    attr = Attribution(TagStore(store.path), store)
    assert attr.conflicts() == []
    ts.add_tag(address_of("deposit"), "Other Exchange", category="exchange", is_cluster_definer=True, user="t")
    attr = Attribution(TagStore(store.path), store)
    (c,) = attr.conflicts()
    n = num(store, "deposit")
    assert c.cluster == int(attr.labels[n]) and c.entities == ["exex", "otherexchange"]
    assert sorted(t.label for t in c.tags) == ["Example Exchange", "Example Exchange hot wallet", "Other Exchange"]
    assert "conflicting" in c.describe() and "Other Exchange" in c.describe()
    hits = attr.hits(n)
    assert {h.tag.label for h in hits} == {"Example Exchange", "Example Exchange hot wallet", "Other Exchange"}
    assert all(h.conflict for h in hits)                                      # both kept, both flagged
    assert sorted(attr.tags_of(n)) == ["exchange:Example Exchange", "exchange:Example Exchange hot wallet",
                                       "exchange:Other Exchange"]


def test_trace_engine_stops_at_tagged_clusters(store, built):
    _, b = built
    TagStore(store.path).add_tag(address_of("hot_wallet"), "Example Exchange", category="exchange",
                                 is_cluster_definer=True, user="t")
    engine = TraceEngine.open(store)
    res = engine.trace(f"{b.txids['sweep']}:0", TraceParams(direction="forward", stop_categories=("exchange",)))
    tagged = [e for e in res.endpoints if e.kind == "tagged"]
    # 1.5 BTC of the sweep, then 1.5 / 2.0 of the 1.9999 BTC deposit output: 1.499925 BTC reaches the exchange.
    assert [(e.address, e.amount_sat, e.hops, e.tags) for e in tagged] == \
        [(address_of("deposit"), 149_992_500, 1, ["exchange:Example Exchange"])]
    assert tagged[0].path == [b.txids["sweep"], b.txids["to_deposit"]]

"""Large entities: summaries and pages instead of loading or drawing millions (GraphSense-REST #46, dashboard #131)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from ct_workbench import serve_store

from chaintrail.api import present
from chaintrail.api.chainview import gather
from chaintrail.api.tracing import valued
from chaintrail.api.workbench import Limits
from chaintrail.errors import UsageError
from chaintrail.store.csr import csr


@pytest.fixture(scope="module")
def super_api(mainnet_store):
    """The mainnet store with every address merged into one entity (a supercluster), and small limits."""
    with serve_store(mainnet_store, limits=Limits(large_entity=1000, expand_members=50)) as api:
        wb = api.app.state.wb
        wb.view.set_labels(np.zeros(wb.view.n_addr, np.int64))
        yield api


def test_supercluster_summary_pages_and_stream(super_api):
    wb = super_api.app.state.wb
    n = wb.view.n_addr
    e = super_api.ok("/entities/0")
    assert e["size"] == n and e["large"]
    paid = np.asarray(wb.view.out_addr) != 0xFFFFFFFF          # outputs with an address
    assert e["received_sat"] == int(np.asarray(wb.view.out_value)[paid].sum())
    # A page deep inside is as cheap as the first one.
    t = time.perf_counter()
    page = super_api.ok("/entities/0/members", offset=n - 10, limit=1000)
    assert time.perf_counter() - t < 1.0
    assert len(page["items"]) == 10 and page["next_offset"] is None and page["total"] == n
    # The stream delivers every member exactly once.
    with super_api.http.stream("GET", "/api/v1/entities/0/members.ndjson") as r:
        lines = [json.loads(x) for x in r.iter_lines() if x]
    assert len(lines) == n and len({x["address"] for x in lines}) == n


def test_large_entity_is_never_expanded(super_api):
    g = super_api.ok("/graph/expand", node="e:0")
    assert [n["id"] for n in g["nodes"]] == ["e:0"] and g["edges"] == [] and g["truncated"]
    assert "shown as a summary" in g["note"]
    addr = super_api.app.state.wb.view.address(5)
    node = super_api.ok("/graph/expand", node=f"a:{addr}", limit=3)["nodes"][0]
    assert node["large_entity"] and node["cluster_size"] == super_api.app.state.wb.view.n_addr


def test_small_entity_opens_into_its_addresses(mainnet_api):
    wb = mainnet_api.app.state.wb
    sizes = np.asarray(wb.view.cluster_size)
    cid = int(np.flatnonzero((sizes > 2) & (sizes <= 50))[0])
    g = mainnet_api.ok("/graph/expand", node=f"e:{cid}")
    members = sorted(n["address"] for n in g["nodes"] if n["kind"] == "address")
    assert members == sorted(wb.view.addresses(wb.view.members(cid)))
    assert all(e["kind"] == "member" and e["source"] == f"e:{cid}" for e in g["edges"])


def test_member_page_of_millions_costs_the_page(monkeypatch):
    """Three million members: a page and the first streamed chunk take the same time as for ten."""
    n = 3_000_000
    labels = np.zeros(n, np.int64)
    labels[n // 2:] = 1
    order, ptr = csr(labels, n)
    view = SimpleNamespace(member_order=order, member_ptr=ptr, addr_received=np.arange(n, dtype=np.int64),
                           addr_sent=np.zeros(n, np.int64),
                           addresses=lambda nums: [f"addr{int(x)}" for x in nums],
                           members=lambda cid: order[ptr[cid]:ptr[cid + 1]])
    wb = SimpleNamespace(view=view, tags=SimpleNamespace(attribution=None), member_cache={})
    t = time.perf_counter()
    page = present.members_page(wb, 1, offset=1_400_000, limit=100, order="id")
    took = time.perf_counter() - t
    assert page["total"] == n // 2 and page["items"][0]["address"] == f"addr{n // 2 + 1_400_000}"
    # A workbench without a store has no price series: members carry no fiat, and a reporting currency is refused.
    assert "fiat" not in page["items"][0]
    with pytest.raises(UsageError, match="no EUR price series"):
        valued(wb, [], None, "EUR")
    # Generous on purpose (CI machines are loaded): a per-member Python pass over 1.5M members takes far longer.
    assert took < 2.0, took
    assert [r["address"] for r in present.member_rows(wb, order[:3])] == ["addr0", "addr1", "addr2"]


def test_csr_gather_matches_a_plain_loop():
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 50, 2000)
    valid = rng.random(2000) > 0.1
    order, ptr = csr(np.where(valid, keys, -2), 50, skip=-2)
    pick = np.array([3, 7, 7, 49, 0])
    want = np.concatenate([np.flatnonzero(valid & (keys == k)) for k in pick])
    assert np.array_equal(gather(order, ptr, pick), want)
    assert pa.array(order).type == pa.int64()

"""Agencies are isolated on the watch and alert routes: agency B cannot list, add, remove, read, mark or stream
agency A's watches and alerts, gets the same answer as for ones that do not exist, and each attempt is logged as
denied; B's server-sent event stream carries B's alerts (and those of a case A shared with B), never A's, even as
A's alerts are raised and retracted while the stream is open. Alerts come from a real follow of mainnet blocks."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from fakenode import FakeNode, mainnet_blocks

from chaintrail.cases.audit import entries
from chaintrail.monitor import alerts as A
from chaintrail.monitor.follow import Follower
from chaintrail.monitor.watch_spec import check_spec
from chaintrail.monitor.watches import add_watch

TOKEN = "monitor-iso-token-0123456789"
SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"      # pays Hal in block 170
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.repository import CaseRepository

    tmp = tmp_path_factory.mktemp("monitor-iso")
    repo = CaseRepository.open(tmp / "cases.sqlite")
    root, _ = repo.bootstrap("NCA", "root")
    repo.add_agency(root.username, "BKA")
    tokens = {"alice": repo.add_user(root, "alice", "NCA", "investigator")[1],
              "carol": repo.add_user(root, "carol", "BKA", "admin")[1]}
    tokens["bob"] = repo.add_user(repo.principal("carol"), "bob", "BKA", "investigator")[1]
    alice, bob = repo.principal("alice"), repo.principal("bob")
    a_ref = repo.create_case(alice, "Operation Harbour", "", "red")["ref"]
    shared = repo.create_case(alice, "Joint case", "", "amber")["ref"]
    repo.share(alice, shared, "BKA", "amber")
    b_ref = repo.create_case(bob, "Operation Rhine")["ref"]
    w = {"a": add_watch(repo, alice, a_ref, check_spec("btc", "address", SATOSHI, {"direction": "out"}), "red"),
         "shared": add_watch(repo, alice, shared, check_spec("btc", "address", SATOSHI)),
         "b": add_watch(repo, bob, b_ref, check_spec("btc", "address", HAL, {"direction": "in"}))}
    with FakeNode(blocks=mainnet_blocks()[:171]) as node:
        f = Follower(tmp / "store", node.auth_url, "btc", repo.db, check_pow=False)
        raised = f.look().raised
        f._drop_source()
    alert: dict[str, list[dict]] = {}
    for x in raised:
        alert.setdefault(x["case_ref"], []).append(x)
    # A's out-watch fires on block 170; B's in-watch on Hal's 10 BTC there; the shared any-watch on the block 9
    # reward and on both sides of block 170 (Satoshi's change comes back to the same address).
    assert {r: len(x) for r, x in alert.items()} == {a_ref: 1, b_ref: 1, shared: 3}
    app = create_app(tmp / "store", token=TOKEN)
    app.state.cases = repo
    with ServerThread(app) as url:
        clients = {u: httpx.Client(base_url=url + "/api/v1", timeout=30,
                                   headers={"Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": t})
                   for u, t in tokens.items()}
        try:
            yield {"repo": repo, "c": clients, "a": a_ref, "b": b_ref, "shared": shared, "w": w, "alert": alert}
        finally:
            for c in clients.values():
                c.close()
    repo.close()


def _denied(repo, user: str, ref: str) -> list[str]:
    with repo.db.read() as conn:
        return [e.action for e in entries(conn, case_ref=ref) if e.actor == user and e.outcome == "denied"]


def test_b_cannot_list_add_remove_or_read_a_s_watches_and_alerts(team):
    bob, alice, repo = team["c"]["bob"], team["c"]["alice"], team["repo"]
    a, b, shared, w, alert = team["a"], team["b"], team["shared"], team["w"], team["alert"]

    # Listing everything B may see: its own case and the one A shared, nothing of A's own case.
    got = bob.get("/watches").json()
    assert sorted(x["id"] for x in got) == sorted([w["b"]["id"], w["shared"]["id"]])
    alerts = bob.get("/alerts").json()
    assert sorted(x["id"] for x in alerts) == sorted(x["id"] for x in alert[b] + alert[shared])
    assert a not in json.dumps(got) + json.dumps(alerts)
    assert bob.get("/alerts/unread").json() == {b: 1, shared: 3}

    # A's case by name: the same answer as for a case that does not exist.
    for method, path, kw in [("GET", "/watches", {"params": {"case": "{ref}"}}),
                             ("GET", "/alerts", {"params": {"case": "{ref}"}}),
                             ("POST", "/watches", {"json": {"case": "{ref}", "kind": "address", "target": HAL}})]:
        def call(ref: str) -> httpx.Response:
            k = json.loads(json.dumps(kw).replace("{ref}", ref))
            return bob.request(method, path, **k)
        theirs, nobody = call(a), call("NCA-2026-9999")
        assert (theirs.status_code, nobody.status_code) == (404, 404), (method, path)
        assert theirs.json()["error"] == f"no case {a}" and nobody.json()["error"] == "no case NCA-2026-9999"

    # Removing A's watch by id: the answer of a watch id that does not exist (names neither case nor owner).
    theirs, nobody = bob.delete(f"/watches/{w['a']['id']}"), bob.delete("/watches/999999")
    assert (theirs.status_code, nobody.status_code) == (404, 404)
    assert theirs.json() == {"error": f"no watch {w['a']['id']}"} and nobody.json() == {"error": "no watch 999999"}
    assert [x["id"] for x in alice.get("/watches", params={"case": a}).json()] == [w["a"]["id"]]   # still active

    # Marking A's alert read does nothing; A's own reader still has it unread.
    assert bob.post("/alerts/read", json={"ids": [alert[a][0]["id"]]}).json() == {"marked": 0}
    assert alice.get("/alerts/unread").json() == {a: 1, shared: 3}
    assert bob.post("/alerts/read", json={"ids": [alert[b][0]["id"]]}).json() == {"marked": 1}

    assert sorted(_denied(repo, "bob", a)) == ["alert.list", "watch.add", "watch.list", "watch.remove"]


def _stream(client: httpx.Client, seconds: float, events: list[dict], ready: threading.Event) -> None:
    with client.stream("GET", "/alerts/stream", params={"max_s": seconds}) as r:
        assert r.status_code == 200
        kind = None
        for line in r.iter_lines():
            if line.startswith(": chaintrail"):
                ready.set()
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append({"event": kind, "data": json.loads(line[6:])})


def test_the_stream_never_carries_another_agency_s_alerts(team):
    repo, a, b, shared, w, alert = (team[k] for k in ("repo", "a", "b", "shared", "w", "alert"))
    got: dict[str, list[dict]] = {"bob": [], "alice": []}
    ready = {u: threading.Event() for u in got}
    threads = [threading.Thread(target=_stream, args=(team["c"][u], 3.0, got[u], ready[u])) for u in got]
    for t in threads:
        t.start()
    for e in ready.values():
        assert e.wait(10)
    time.sleep(0.6)
    # While both streams are open: A raises a new alert in its own case and B in its, then A's first is retracted.
    later = []
    for key, ref in (("a", a), ("b", b)):
        x = dict(alert[ref][0])
        later += A.raise_alerts(repo.db, [{**{k: x[k] for k in A._FIELDS}, "block_hash": "00" * 32, "case_id":
                                           w[key]["case_id"], "case_ref": ref, "agency": "NCA" if key == "a" else
                                           "BKA", "tlp": w[key]["tlp"]}])
    A.retract(repo.db, "btc", lambda n, h: h != alert[a][0]["block_hash"], "test: block 170 dropped")
    for t in threads:
        t.join(15)
    new_a, new_b = later

    def seen(user: str) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for e in got[user]:
            if e["event"] == "alert":
                out.setdefault(e["data"]["id"], set()).add(e["data"]["status"])
        return out

    bob_saw, alice_saw = seen("bob"), seen("alice")
    ids = {ref: {x["id"] for x in xs} for ref, xs in alert.items()}
    assert set(bob_saw) == ids[b] | ids[shared] | {new_b["id"]}
    assert set(alice_saw) == ids[a] | ids[shared] | {new_a["id"]}
    assert "retracted" in alice_saw[alert[a][0]["id"]] and "retracted" in bob_saw[alert[b][0]["id"]]
    leaked = [e for e in got["bob"] if a in json.dumps(e)]
    assert leaked == []
    unread = [e["data"] for e in got["bob"] if e["event"] == "unread"]
    assert unread and all(set(u) <= {b, shared} for u in unread)

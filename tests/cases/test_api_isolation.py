"""Team-server isolation over the REST API: agency B cannot read agency A's TLP:RED case by any route.

Every case route from the app's own OpenAPI document is called as a user of B with A's case reference: the
answer is the same "no case" as for a case that does not exist, nothing of the case leaks, and each attempt
is in the audit log as denied. Runs against SQLite and PostgreSQL.
"""

from __future__ import annotations

import httpx
import pytest
from ct_cases import CB9, HAL, PgDatabases, pg_admin_dsn

from chaintrail.cases.audit import entries

TOKEN = "case-test-token-0123456789"
SECRET = "Source VIOLET met the suspect at the harbour"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory, chain_store, trace9):
    """One server per backend for the whole module (the tests only add to what it holds)."""
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.repository import CaseRepository

    pg = None
    if request.param == "sqlite":
        dsn = str(tmp_path_factory.mktemp("iso") / "cases.sqlite")
    else:
        pg = PgDatabases(pg_admin_dsn())
        dsn = pg.new()
    repo = CaseRepository.open(dsn)
    root, _ = repo.bootstrap("NCA", "root")          # the first admin enrols everyone else
    repo.add_agency(root.username, "BKA")
    tokens = {}
    for user, agency, role in [("carol", "BKA", "admin"), ("alice", "NCA", "investigator"),
                               ("dave", "NCA", "viewer"), ("bob", "BKA", "investigator"), ("erin", "BKA", "viewer")]:
        actor = repo.principal("carol") if agency == "BKA" and user != "carol" else root
        tokens[user] = repo.add_user(actor, user, agency, role)[1]
    alice = repo.principal("alice")
    red = repo.create_case(alice, "Operation Harbour", SECRET, "red")["ref"]
    repo.add_subject(alice, red, "address", HAL)
    repo.add_finding(alice, red, trace9)
    repo.add_note(alice, red, SECRET)
    repo.add_attachment(alice, red, "intercept.txt", SECRET.encode())
    repo.add_tag(alice, red, HAL, "Suspect wallet", source="intercept")
    shared = repo.create_case(alice, "Joint case", "Shared with BKA", "amber")["ref"]
    repo.add_note(alice, shared, "Open note for partners", level="green")
    repo.add_note(alice, shared, SECRET, level="red")
    repo.share(alice, shared, "BKA", "amber")
    app = create_app(chain_store, token=TOKEN)
    app.state.cases = repo
    with ServerThread(app) as url:
        clients = {u: httpx.Client(base_url=url + "/api/v1", timeout=60,
                                   headers={"Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": t})
                   for u, t in tokens.items()}
        try:
            yield {"app": app, "repo": repo, "c": clients, "red": red, "shared": shared, "url": url}
        finally:
            for c in clients.values():
                c.close()
    repo.close()
    if pg is not None:
        pg.drop_all()


_BODIES = {"subjects": {"value": HAL}, "notes": {"body": "x"}, "tags": {"address": HAL, "label": "x"},
           "findings": {"kind": "trace", "source": f"{CB9}:0"}, "shares": {"agency": "BKA", "tlp_max": "red"}}


def _case_routes(app, ref: str) -> list[tuple[str, str, dict]]:
    out = []
    for path, ops in app.openapi()["paths"].items():
        if "{ref}" not in path:
            continue
        url = (path.replace("/api/v1", "").replace("{ref}", ref).replace("{finding_id}", "1")
               .replace("{attachment_id}", "1").replace("{agency}", "BKA"))
        for method in ops:
            kw: dict = {}
            if method == "post":
                last = url.rstrip("/").split("/")[-1]
                if last == "attachments":
                    kw = {"params": {"filename": "x.txt"}, "content": b"x"}
                elif last in _BODIES:
                    kw = {"json": _BODIES[last]}
            out.append((method.upper(), url, kw))
    return out


def test_b_cannot_reach_a_red_case_by_any_route_and_each_attempt_is_logged(server):
    app, repo, bob, red = server["app"], server["repo"], server["c"]["bob"], server["red"]
    routes = _case_routes(app, red)
    assert len(routes) >= 18     # every case route of the API, reads and writes
    with repo.db.read() as conn:
        before = len(entries(conn))
    for method, url, kw in routes:
        r = bob.request(method, url, **kw)
        ghost = bob.request(method, url.replace(red, "NCA-2099-9999"), **kw)
        assert r.status_code == 404 == ghost.status_code, (method, url, r.status_code, r.text[:200])
        assert r.json() == {"error": f"no case {red}"} and ghost.json() == {"error": "no case NCA-2099-9999"}
        assert SECRET not in r.text and "Operation Harbour" not in r.text
    with repo.db.read() as conn:
        new = entries(conn)[before:]
    denied = [e for e in new if e.case_ref == red and e.outcome == "denied"]
    assert all(e.actor == "bob" and e.agency == "BKA" for e in denied)
    assert len(denied) == len(routes)
    assert not [e for e in new if e.case_ref == red and e.outcome == "ok"]
    # The list shows B only what was shared with it.
    assert [c["ref"] for c in bob.get("/cases").json()] == [server["shared"]]
    # A's own users see the case.
    assert server["c"]["alice"].get(f"/cases/{red}").json()["case"]["summary"] == SECRET


def test_shared_case_is_read_only_and_redacted_for_the_partner(server):
    bob, carol, shared = server["c"]["bob"], server["c"]["carol"], server["shared"]
    v = bob.get(f"/cases/{shared}").json()
    assert v["access"] == "shared" and v["level"] == "amber" and v["withheld"] == {"note": 1}
    assert [n["body"] for n in v["notes"]] == ["Open note for partners"] and SECRET not in str(v)
    for method, url, kw in [("POST", f"/cases/{shared}/notes", {"json": {"body": "x"}}),
                            ("GET", f"/cases/{shared}/export", {}), ("GET", f"/cases/{shared}/audit", {}),
                            ("POST", f"/cases/{shared}/shares", {"json": {"agency": "BKA", "tlp_max": "red"}})]:
        for who in (bob, carol):   # an admin of B is still not an owner of A's case
            r = who.request(method, url, **kw)
            assert r.status_code == 403, (url, r.status_code, r.text[:200])
    html = bob.get(f"/cases/{shared}/report", params={"format": "html"})
    assert html.status_code == 200 and "Open note for partners" in html.text and SECRET not in html.text


def test_roles_and_identity(server):
    c = server["c"]
    assert c["dave"].post("/cases", json={"title": "x"}).status_code == 403          # viewer
    assert c["dave"].get(f"/cases/{server['red']}").status_code == 200               # but may read its agency's
    assert c["dave"].post(f"/cases/{server['red']}/notes", json={"body": "x"}).status_code == 403
    assert c["alice"].get("/cases/whoami").json() == {"username": "alice", "agency": "NCA", "role": "investigator"}
    r = c["alice"].get("/cases", headers={"X-Chaintrail-User-Token": "not-a-token"})
    assert r.status_code == 401
    created = c["bob"].post("/cases", json={"title": "BKA case", "tlp": "amber"})
    assert created.status_code == 201 and created.json()["ref"].startswith("BKA-")


def test_no_user_token_is_refused_on_every_case_route(server, monkeypatch):
    """Without X-Chaintrail-User-Token nobody acts: not the login name, not an admin of $CHAINTRAIL_AGENCY."""
    monkeypatch.setenv("CHAINTRAIL_AGENCY", "NCA")       # what an implicit local user would have acted for
    monkeypatch.setenv("CHAINTRAIL_USER", "mallory")
    app, repo, red = server["app"], server["repo"], server["red"]
    routes = _case_routes(app, red) + [("GET", "/cases", {}), ("POST", "/cases", {"json": {"title": "x"}}),
                                       ("GET", "/cases/whoami", {}), ("POST", "/cases/import", {"content": b"x"})]
    with httpx.Client(base_url=server["url"] + "/api/v1", timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as anon:
        for method, url, kw in routes:
            for extra in ({}, {"X-Chaintrail-User-Token": TOKEN}):   # the server's own token is nobody here
                r = anon.request(method, url, headers=extra, **kw)
                assert r.status_code == 401, (method, url, extra, r.status_code, r.text[:200])
                assert "user token" in r.json()["error"]
        # The attack: a viewer of BKA shares NCA's case to BKA without a user token, then reads it.
        assert anon.post(f"/cases/{red}/shares", json={"agency": "BKA", "tlp_max": "red"}).status_code == 401
    assert server["c"]["erin"].get(f"/cases/{red}").status_code == 404
    assert server["c"]["erin"].post(f"/cases/{red}/shares", json={"agency": "BKA", "tlp_max": "red"}).status_code == 404
    assert repo.case(repo.principal("alice"), red).shares == []
    with pytest.raises(Exception, match="no active user"):
        repo.principal("mallory")


def test_the_servers_token_stands_for_the_operator_only_on_a_single_user_database(tmp_path, chain_store):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.repository import CaseRepository

    repo = CaseRepository.open(tmp_path / "cases.sqlite")
    repo.ensure_operator("NCA", "alice")
    app = create_app(chain_store, token=TOKEN)
    app.state.cases = repo
    try:
        with ServerThread(app) as url, httpx.Client(base_url=url + "/api/v1", timeout=60,
                                                    headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            assert c.get("/cases/whoami").status_code == 401
            assert c.get("/cases/whoami", headers={"X-Chaintrail-User-Token": TOKEN + "x"}).status_code == 401
            me = c.get("/cases/whoami", headers={"X-Chaintrail-User-Token": TOKEN})
            assert me.json() == {"username": "alice", "agency": "NCA", "role": "operator"}
    finally:
        repo.close()

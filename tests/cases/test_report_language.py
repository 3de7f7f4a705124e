"""GET /cases/{ref}/report in the reader's language: ``?lang=``, else Accept-Language, else English."""

from __future__ import annotations

import httpx
import pytest

TOKEN = "case-test-token-0123456789"


@pytest.fixture(scope="module")
def client(tmp_path_factory, chain_store, trace9):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.cases.repository import CaseRepository

    repo = CaseRepository.open(tmp_path_factory.mktemp("lang") / "cases.sqlite")
    p, user_token = repo.bootstrap("NCA", "alice")
    ref = repo.create_case(p, "Block 9", "Where did the 50 BTC mined in block 9 go?", "amber")["ref"]
    repo.add_finding(p, ref, trace9)
    app = create_app(chain_store, token=TOKEN)
    app.state.cases = repo
    with ServerThread(app) as url, httpx.Client(
            base_url=url + "/api/v1", timeout=120,
            headers={"Authorization": f"Bearer {TOKEN}", "X-Chaintrail-User-Token": user_token}) as c:
        yield c, ref
    repo.close()


@pytest.mark.parametrize(("headers", "params", "lang"), [
    ({"Accept-Language": "uk-UA,uk;q=0.9"}, {}, "uk"),
    ({"Accept-Language": "uk"}, {"lang": "en"}, "en"),
    ({}, {"lang": "uk"}, "uk"),
    ({}, {}, "en"),
])
def test_report_follows_the_readers_language(client, headers, params, lang):
    c, ref = client
    r = c.get(f"/cases/{ref}/report", params={"format": "html", **params}, headers=headers)
    assert r.status_code == 200, r.text[:300]
    html = r.text
    assert f"<html lang={lang}>" in html
    assert ("Резюме для прокурора" in html) == (lang == "uk")
    assert ("Summary for the prosecutor" in html) == (lang == "en")
    assert ("<b>50,00000000 BTC</b>" in html) == (lang == "uk")


def test_a_case_refusal_comes_in_the_readers_language(client):
    c, _ref = client
    r = c.get("/cases/NO-SUCH-CASE", headers={"Accept-Language": "uk"})
    en = c.get("/cases/NO-SUCH-CASE")
    assert r.status_code == en.status_code == 404
    assert r.json()["error"] != en.json()["error"], (r.json(), en.json())

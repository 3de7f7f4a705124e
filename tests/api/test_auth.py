"""Token authentication: every API route refuses a missing or wrong token; the UI shell holds no data."""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest
from ct_workbench import MAINNET_SUBJECT, TOKEN, TX170

from chaintrail.api import create_app
from chaintrail.api.auth import new_token
from chaintrail.api.routers.cases import USER_HEADER

# A valid value for every path parameter, so that a refusal can only come from the token.
_PATH_VALUES = {"address": MAINNET_SUBJECT, "txid": TX170, "entity_id": "9"}
_QUERY_VALUES = {"q": MAINNET_SUBJECT, "source": MAINNET_SUBJECT, "subject": MAINNET_SUBJECT,
                 "node": f"a:{MAINNET_SUBJECT}", "address": MAINNET_SUBJECT}


def _routes(api) -> list[tuple[str, str, dict, bool]]:
    """(method, url, required query params, whether every value is known to be valid) per operation."""
    return [r[:4] for r in _routes_with_headers(api)]


def _routes_with_headers(api) -> list[tuple[str, str, dict, bool, set[str]]]:
    """As ``_routes``, plus the header parameters each operation declares (a case user token, a training one)."""
    spec = httpx.get(api.url + "/openapi.json").json()
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            url, known = path, True
            headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
            for p in op.get("parameters", []):
                if p["in"] == "path":
                    value = _PATH_VALUES.get(p["name"])
                    known &= value is not None
                    url = url.replace("{" + p["name"] + "}", value or "1")
            params = {p["name"]: _QUERY_VALUES.get(p["name"], "x") for p in op.get("parameters", [])
                      if p["in"] == "query" and p.get("required")}
            known &= all(p["name"] in _QUERY_VALUES for p in op.get("parameters", [])
                         if p["in"] == "query" and p.get("required"))
            out.append((method.upper(), url, params, known, headers))
    return out


def test_every_route_needs_the_token(mainnet_api, tmp_path):
    routes = _routes_with_headers(mainnet_api)
    assert len(routes) >= 12 and all(u.startswith("/api/v1/") for _, u, _, _, _ in routes)
    odd = ({"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer"},
           {"Authorization": f"bearer {TOKEN[:-1]}"})
    user_checked = []
    for n, (method, url, params, known, declared) in enumerate(routes):
        body = {"address": MAINNET_SUBJECT, "label": "x"} if method == "POST" else None
        # Every route: no token and a wrong one; a few routes: the odd spellings too.
        variants = ({}, {"Authorization": "Bearer wrong-token-wrong-token"}) + (odd if n % 10 == 0 else ())
        for headers in variants:
            r = httpx.request(method, mainnet_api.url + url, params=params, json=body, headers=headers)
            assert r.status_code == 401, (method, url, headers, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json()["error"] in ("missing token: send 'Authorization: Bearer <token>'", "wrong token")
        # (The /eth routes answer 404 here: this store holds no Ethereum data; tests/eth/investigation has them.)
        # (/training routes also need a training token, and answer 404 on a server without a class.)
        if method == "GET" and known and USER_HEADER in declared:
            user_checked.append(url)        # the case routes' contract: the bearer token alone is not enough
            r = httpx.get(mainnet_api.url + url, params=params, headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 401, (url, r.status_code)
            assert r.json()["error"] == f"send your case user token in the {USER_HEADER} header"
        elif method == "GET" and known and not url.startswith(("/api/v1/screen", "/api/v1/eth", "/api/v1/training")):
            r = httpx.get(mainnet_api.url + url, params=params, headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200, (url, r.text[:200])
    assert {"/api/v1/cases", "/api/v1/watches", "/api/v1/alerts", "/api/v1/alerts/stream"} <= set(user_checked)
    # ... and with a case user token as well, every one of them answers.
    with _own_case_db(mainnet_api, tmp_path) as user_token:
        for url in user_checked:
            with httpx.stream("GET", mainnet_api.url + url, headers={"Authorization": f"Bearer {TOKEN}",
                                                                     USER_HEADER: user_token}) as r:
                assert r.status_code == 200, (url, r.read()[:200])


@contextmanager
def _own_case_db(api, tmp_path):
    """The served app reads a fresh team case database (one admin, whose user token is yielded) meanwhile."""
    from chaintrail.cases.repository import CaseRepository

    st = api.app.state
    before = getattr(st, "cases", None)
    repo = CaseRepository.open(tmp_path / "cases.sqlite")
    _, user_token = repo.bootstrap("FBI", "admin")
    st.cases = repo
    try:
        yield user_token
    finally:
        if before is None:
            del st.cases
        else:
            st.cases = before
        repo.close()


def test_ui_shell_and_spec_are_public_but_hold_no_data(mainnet_api):
    page = httpx.get(mainnet_api.url + "/")
    assert page.status_code == 200 and "chaintrail workbench" in page.text
    assert MAINNET_SUBJECT not in page.text and TOKEN not in page.text
    assert "content-security-policy" in page.headers and page.headers["x-frame-options"] == "DENY"
    spec = httpx.get(mainnet_api.url + "/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    r = httpx.get(mainnet_api.url + "/api/v1/meta", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.headers["cache-control"] == "no-store"


def test_tokens_are_random_and_short_ones_refused(mainnet_store):
    assert len({new_token() for _ in range(50)}) == 50
    with pytest.raises(ValueError, match="at least 16"):
        create_app(mainnet_store, token="short")
    app = create_app(mainnet_store)
    assert len(app.state.token) >= 32
    app.state.wb.close()

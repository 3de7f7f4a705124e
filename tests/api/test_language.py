"""The API answers in the reader's language: ?lang= wins over Accept-Language, which wins over the default.

Refusals are checked as the reader gets them over a live server (uvicorn in a thread: the request's language
must reach the thread the route runs in), with the language echoed in Content-Language.
"""

from __future__ import annotations

import pytest

from chaintrail.api.language import request_language
from chaintrail.i18n import negotiate

ABSENT = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"       # a valid address no block 0-599 pays
EN = f"address {ABSENT} is not in the store"
UK = f"адреси {ABSENT} немає у сховищі"


def _get(api, path, headers=None, **params):
    return api.http.get("/api/v1" + path, params=params, headers=headers or {})


def test_accept_language_picks_the_best_available_language():
    assert negotiate("uk-UA,uk;q=0.9,en;q=0.8") == "uk"
    assert negotiate("de-DE,de;q=0.9,en;q=0.5,uk;q=0.7") == "uk"     # by weight, not by order
    assert negotiate("en;q=0, uk;q=0.1") == "uk"                    # q=0: not acceptable
    assert negotiate("fr-CH, fr;q=0.9") is None and negotiate("") is None and negotiate(None) is None
    assert request_language({"query_string": b"q=1&lang=en", "headers": [(b"accept-language", b"uk")]}) == "en"
    assert request_language({"query_string": b"", "headers": [(b"accept-language", b"uk-UA")]}) == "uk"


@pytest.mark.parametrize(("headers", "params", "want", "lang"), [
    ({"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.8"}, {}, UK, "uk"),
    ({}, {"lang": "uk"}, UK, "uk"),
    ({"Accept-Language": "uk"}, {"lang": "en"}, EN, "en"),          # ?lang= wins over the header
    ({"Accept-Language": "fr-FR,fr;q=0.9"}, {}, EN, "en"),          # none available: the default
    ({}, {}, EN, "en"),
])
def test_a_refusal_comes_in_the_readers_language(mainnet_api, headers, params, want, lang):
    r = _get(mainnet_api, f"/addresses/{ABSENT}", headers, **params)
    assert r.status_code == 404 and r.json()["error"] == want
    assert r.headers["content-language"] == lang


def test_validation_and_unknown_language(mainnet_api):
    r = _get(mainnet_api, "/graph/expand", {"Accept-Language": "uk"}, node=f"x:{ABSENT}")
    assert r.status_code == 400 and r.json()["error"] == "вузол має бути a:<адреса>, t:<txid> або e:<ідентифікатор суб'єкта>"
    r = _get(mainnet_api, "/graph/expand", {"Accept-Language": "uk"}, node=f"a:{ABSENT}", limit="many")
    assert r.status_code == 422 and r.json()["error"].startswith("недійсний запит: limit: ")
    r = _get(mainnet_api, f"/addresses/{ABSENT}", lang="xx")
    assert r.status_code == 400 and r.json()["error"] == "lang: unknown language 'xx' (available: en, uk)"
    # the language of one request never leaks into the next one on the same connection
    assert _get(mainnet_api, f"/addresses/{ABSENT}", {"Accept-Language": "uk"}).json()["error"] == UK
    assert _get(mainnet_api, f"/addresses/{ABSENT}").json()["error"] == EN

"""/api/v1/training: trainees see only their own work and never the key; the instructor's routes are refused to
them; exam lock answers 409; the routes are in the OpenAPI document."""

from __future__ import annotations

import json

import pytest
from training_parts import expected_of, key_answers

BEARER = "b" * 24


@pytest.fixture(scope="module")
def client(klass):
    import httpx

    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread

    app = create_app(klass.folder / "sets" / "week1" / "store", token=BEARER, training_dir=klass.folder)
    with ServerThread(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def hdr(token: str | None) -> dict:
    h = {"Authorization": f"Bearer {BEARER}"}
    if token is not None:
        h["X-Chaintrail-Training-Token"] = token
    return h


def test_trainee_sees_the_brief_never_the_key(client, klass):
    alice = hdr(klass.tokens["Alice"])
    rows = client.get("/api/v1/training/exercises", headers=alice).json()
    # what the server adds beside the trainee's own submission and its feedback (other tests of the session may
    # have submitted as Alice: her own answers and feedback name addresses)
    text = json.dumps([{k: v for k, v in r.items() if k not in ("submission", "grade")} for r in rows])
    assert len(rows) == 5
    for row in rows:
        exp = expected_of(klass.folder, row["id"])
        brief = {p["address"] for p in row["brief"]["reported_payments"]}
        hidden = [a for a in exp["perpetrator_addresses"] if a not in brief]
        assert hidden and not any(a in text for a in hidden)
        assert not any(name in text for name in exp["exchanges"])
        assert str(exp["unspent_sat"]) not in text or exp["unspent_sat"] == 0
        assert "expected" not in row and "case_id" not in row


def test_trainee_cannot_read_another_trainees_work_or_the_results(client, klass):
    alice, bob = hdr(klass.tokens["Alice"]), hdr(klass.tokens["Bob"])
    r = client.post("/api/v1/training/exercises/3/submissions", headers=alice,
                    json=key_answers(expected_of(klass.folder, 3)))
    assert r.status_code == 201 and r.json()["grade"]["score"] == 100.0
    assert "submission" not in client.get("/api/v1/training/exercises/3", headers=bob).json()
    for path in ("/results", "/results/3/Alice", "/grades.csv", "/roster"):
        assert client.get("/api/v1/training" + path, headers=bob).status_code == 403, path
    assert client.post("/api/v1/training/roster", headers=bob, json={"name": "Mallory"}).status_code == 403
    assert client.get("/api/v1/training/me", headers=hdr("n" * 32)).status_code == 401
    assert client.get("/api/v1/training/me", headers=hdr(None)).status_code == 401
    inst = hdr(klass.instructor)
    assert client.get("/api/v1/training/results/3/Alice", headers=inst).json()["grade"]["score"] == 100.0
    assert client.post("/api/v1/training/exercises/3/submissions", headers=inst, json={}).status_code == 403
    assert "Alice,week1,3,coinjoin," in client.get("/api/v1/training/grades.csv", headers=inst).text


def test_exam_lock_is_enforced_by_the_server(client, klass):
    inst, bob = hdr(klass.instructor), hdr(klass.tokens["Bob"])
    made = client.post("/api/v1/training/sets", headers=inst,
                       json={"name": "quiz", "kinds": ["coinjoin"], "seed": 3, "build_store": False})
    assert made.status_code == 201
    ex = made.json()["exercise_ids"][0]
    assert client.post("/api/v1/training/sets/quiz/exam", headers=inst, json={"minutes": 5}).status_code == 200
    during = client.post(f"/api/v1/training/exercises/{ex}/submissions", headers=bob, json={"mixers": ["Wasabi"]})
    assert during.status_code == 201 and "grade" not in during.json()
    assert client.post("/api/v1/training/sets/quiz/exam/close", headers=inst).status_code == 200
    late = client.post(f"/api/v1/training/exercises/{ex}/submissions", headers=bob, json={"mixers": ["Wasabi"]})
    assert late.status_code == 409 and "locked" in late.json()["error"]
    assert "grade" in client.get(f"/api/v1/training/exercises/{ex}", headers=bob).json()


def test_bad_answers_and_openapi(client, klass):
    alice = hdr(klass.tokens["Alice"])
    r = client.post("/api/v1/training/exercises/1/submissions", headers=alice, json={"unspent_btc": "1e999"})
    assert r.status_code == 422 and "unspent_btc" in r.json()["error"]
    assert client.get("/api/v1/training/exercises/999", headers=alice).status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/training/exercises/{exercise_id}/submissions" in paths
    assert paths["/api/v1/training/results"]["get"]["security"] == [{"HTTPBearer": []}]
    lesson = client.get("/api/v1/training/lessons/mixers", headers=alice).json()
    assert lesson["markdown"].startswith("# Mixers") and {"custodial_mixer", "coinjoin"} <= {
        e["kind"] for e in lesson["exercises"]}


def _wait(client, headers, job: dict) -> dict:
    import time

    deadline = time.monotonic() + 600
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/api/v1/training/jobs/{job['id']}", headers=headers).json()
    return job


def test_a_set_is_built_in_a_background_job_the_instructor_polls(client, klass):
    from pathlib import Path

    inst, alice = hdr(klass.instructor), hdr(klass.tokens["Alice"])
    body = {"name": "built", "kinds": ["coinjoin", "peel_chain"], "seed": 5}
    assert client.post("/api/v1/training/sets", headers=alice, json=body).status_code == 403
    assert client.post("/api/v1/training/sets", headers=inst, json=body | {"name": "week1"}).status_code == 400
    made = client.post("/api/v1/training/sets", headers=inst, json=body)
    assert made.status_code == 202, made.text
    job = made.json()
    assert job["set"] == "built" and job["state"] in ("queued", "running")
    assert made.headers["location"] == f"/api/v1/training/jobs/{job['id']}"
    again = client.post("/api/v1/training/sets", headers=inst, json=body | {"name": "other"})
    assert again.status_code == 409 and "one build at a time" in again.json()["error"]
    assert client.get(f"/api/v1/training/jobs/{job['id']}", headers=alice).status_code == 403
    assert client.get("/api/v1/training/jobs/nope", headers=inst).status_code == 404
    job = _wait(client, inst, job)
    assert job["state"] == "done", job
    assert job["progress"][0] == "generating the Bitcoin chain"
    assert "ingesting, clustering and tagging the Bitcoin chain" in job["progress"]
    ids = job["result"]["exercise_ids"]
    assert len(ids) == 2 and job["result"]["exercises"] == 2
    info = next(s for s in client.get("/api/v1/training/sets", headers=inst).json() if s["name"] == "built")
    store = Path(info["store"])
    assert store == klass.folder / "sets" / "built" / "store" and any(store.iterdir())
    rows = client.get("/api/v1/training/exercises", headers=alice, params={"set": "built"}).json()
    assert [r["id"] for r in rows] == ids and [r["kind"] for r in rows] == ["coinjoin", "peel_chain"]
    assert "store" not in client.get("/api/v1/training/sets", headers=alice).json()[-1]
    # the job speaks the language of the request that started it
    uk = client.post("/api/v1/training/sets", headers=inst, params={"lang": "uk"},
                     json={"name": "built-uk", "kinds": ["coinjoin"], "seed": 5})
    job = _wait(client, inst, uk.json())
    assert job["state"] == "done" and job["progress"][0] == "генерування ланцюжка Bitcoin"
    assert job["progress"][-1] == "набір built-uk готовий"

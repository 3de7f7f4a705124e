"""Grading against the answer key: full marks for the key, partial credit within tolerance, false accusations
cost more than omissions, feedback names the technique, exam lock, tokens hashed at rest."""

from __future__ import annotations

import time

import pytest
from training_parts import KINDS, btc, expected_of, key_answers

from chaintrail.errors import DecodeError
from chaintrail.i18n import use_language
from chaintrail.training import Classroom, ExamLocked, Trainee
from chaintrail.training.kinds import TECHNIQUES


@pytest.fixture
def room(klass):
    with Classroom(klass.folder) as r:
        yield r


def alice(room, klass) -> Trainee:
    return room.trainee_by_token(klass.tokens["Alice"])


def test_every_exercise_kind_has_a_case_with_something_to_find(room, klass):
    assert [room.exercise(i)["kind"] for i in room.exercise_ids("week1")] == KINDS
    for i in room.exercise_ids("week1"):
        exp = expected_of(klass.folder, i)
        assert exp["exchanges"] and all(v > 0 for v in exp["exchanges"].values())
        assert len(exp["perpetrator_addresses"]) >= 5
    assert expected_of(klass.folder, 2)["mixers"] == ["ChipMixer-like mixer"]          # custodial_mixer
    assert {"Wasabi", "Whirlpool", "JoinMarket"} <= set(expected_of(klass.folder, 3)["mixers"])   # coinjoin


def test_the_key_gets_full_marks_on_every_exercise(room, klass):
    for i in room.exercise_ids("week1"):
        g = room.submit(i, alice(room, klass), key_answers(expected_of(klass.folder, i)))["grade"]
        assert g["score"] == 100.0, (i, [(q["id"], q["score"]) for q in g["questions"]])


def test_exchange_amount_credit_follows_the_tolerance(room, klass):
    exp = expected_of(klass.folder, 1)
    name, amount = max(exp["exchanges"].items(), key=lambda kv: kv[1])
    share = 35.0 / len(exp["exchanges"])
    tol = 0.05                                                         # easy

    def exchanges_score(answer_sat: int) -> float:
        ans = key_answers(exp)
        ans["exchanges"] = [x if x["exchange"] != name else {"exchange": name, "amount_btc": btc(answer_sat)}
                            for x in ans["exchanges"]]
        g = room.submit(1, alice(room, klass), ans)["grade"]
        return next(q for q in g["questions"] if q["id"] == "exchanges")["score"]

    assert exchanges_score(int(amount * (1 + tol * 0.9))) == 35.0                       # inside the tolerance
    assert exchanges_score(int(amount * (1 + tol * 2))) == pytest.approx(35.0 - 0.3 * share, abs=0.01)
    assert exchanges_score(int(amount * 2)) == pytest.approx(35.0 - 0.6 * share, abs=0.01)  # named, amount wrong
    ans = key_answers(exp)
    ans["exchanges"] = [x for x in ans["exchanges"] if x["exchange"] != name]
    g = room.submit(1, alice(room, klass), ans)["grade"]
    q = next(q for q in g["questions"] if q["id"] == "exchanges")
    assert q["score"] == pytest.approx(35.0 - share, abs=0.01)
    missed = [f for f in q["feedback"] if f["code"] == "exchange_missed"]
    assert len(missed) == 1 and name in missed[0]["text"] and btc(amount) in missed[0]["text"].replace(",", "")
    named = {t["technique"] for t in missed[0]["techniques"]}
    assert named == {TECHNIQUES[k][0] for k in exp["exchange_paths"][name]} and "direct deposit" in named
    assert named & {"peel chain", "demix evidence"}               # the ransom reached it by a peel or the mixer


def test_a_false_accusation_costs_twice_an_omission(room, klass):
    exp = expected_of(klass.folder, 1)
    perp = exp["perpetrator_addresses"]
    n = len(perp)
    innocent = expected_of(klass.folder, 5)["perpetrator_addresses"][0]      # the scam's, not the ransomware's
    assert innocent not in perp

    def perp_score(addresses: list[str]) -> tuple[float, list[dict]]:
        ans = key_answers(exp)
        ans["perpetrator_addresses"] = addresses
        g = room.submit(1, alice(room, klass), ans)["grade"]
        q = next(q for q in g["questions"] if q["id"] == "perpetrator")
        return q["score"], q["feedback"]

    omitted, _ = perp_score(perp[1:])
    accused, fb = perp_score(perp + [innocent])
    assert omitted == pytest.approx(25.0 * (n - 1) / n, abs=0.01)
    assert accused == pytest.approx(25.0 * (n - 2) / n, abs=0.01)
    assert 25.0 - accused == pytest.approx(2 * (25.0 - omitted), abs=0.02)
    assert [f["code"] for f in fb] == ["false_accusation"] and innocent in fb[0]["text"]
    deposit = exp["neutral_addresses"][0]                      # the exchange's deposit address: no credit, no cost
    neutral, fb = perp_score(perp + [deposit])
    assert neutral == 25.0 and fb[0]["code"] == "deposit_not_perpetrator"
    nowhere, _ = perp_score(perp[:-1] + ["bcrt1qnotanaddressonthischain"])
    assert nowhere == pytest.approx(25.0 * (n - 2) / n, abs=0.01)


def test_missed_mixer_and_unspent_feedback_names_the_technique(room, klass):
    exp = expected_of(klass.folder, 2)
    ans = key_answers(exp) | {"mixers": ["none"], "unspent_btc": btc(exp["unspent_sat"] + 10**8)}
    g = room.submit(2, alice(room, klass), ans)["grade"]
    q = {q["id"]: q for q in g["questions"]}
    assert q["mixers"]["score"] == 0 and q["unspent"]["score"] == 0
    assert q["mixers"]["feedback"][0]["techniques"][0]["technique"] == "demix evidence"
    assert g["score"] == 70.0


def test_answers_are_read_strictly(room, klass):
    with pytest.raises(DecodeError, match="more than 8 decimals"):
        room.submit(1, alice(room, klass), {"unspent_btc": "0.123456789"})
    with pytest.raises(DecodeError, match="named twice"):
        room.submit(1, alice(room, klass), {"exchanges": [{"exchange": "A", "amount_btc": 1},
                                                          {"exchange": "a", "amount_btc": 2}]})
    with pytest.raises(DecodeError, match="unknown field 'key'"):
        room.submit(1, alice(room, klass), {"key": 1})


def test_tokens_are_kept_hashed(klass):
    raw = (klass.folder / "training.sqlite").read_bytes()
    for token in [klass.instructor, *klass.tokens.values()]:
        assert token.encode() not in raw
    with Classroom(klass.folder) as room:
        assert room.is_instructor(klass.instructor) and not room.is_instructor(klass.tokens["Alice"])
        assert room.trainee_by_token(klass.tokens["Bob"]).name == "Bob"
        assert room.trainee_by_token("x" * 32) is None


def test_exam_hides_hints_and_grades_and_locks_submissions_at_the_end(tmp_path):
    room, _ = Classroom.init(tmp_path / "c")
    with room:
        room.create_set("exam", ["peel_chain"], seed=3, level="easy", build=False)
        carol = room.trainee_by_token(room.add_trainee("Carol"))
        ex = room.exercise_ids("exam")[0]
        assert room.exercise(ex)["hints"] and room.exercise(ex)["brief"]["techniques"]
        t0 = time.time()
        room.exam_start("exam", minutes=10, now=t0)
        during = room.exercise(ex, carol, now=t0 + 1)
        assert not during["hints"] and "techniques" not in during["brief"]
        got = room.submit(ex, carol, {"mixers": ["none"]}, now=t0 + 60)
        assert "grade" not in got and got["submission"]["submitted"] == t0 + 60
        with pytest.raises(ExamLocked):
            room.submit(ex, carol, {"mixers": ["none"]}, now=t0 + 600)           # past the end by the clock
        assert "grade" in room.exercise(ex, carol, now=t0 + 600)
        room2, _ = Classroom.init(tmp_path / "d")
    with room2:
        room2.create_set("exam", ["peel_chain"], seed=3, level="easy", build=False)
        dan = room2.trainee_by_token(room2.add_trainee("Dan"))
        room2.exam_start("exam", minutes=10, now=t0)
        room2.exam_close("exam", now=t0 + 5)
        with pytest.raises(ExamLocked, match="locked"):
            room2.submit(room2.exercise_ids("exam")[0], dan, {}, now=t0 + 6)
        with use_language("uk"), pytest.raises(ExamLocked, match="^іспит набору 'exam' завершено: подання заблоковано$"):
            room2.submit(room2.exercise_ids("exam")[0], dan, {}, now=t0 + 7)
        assert room2.results("exam")[0]["exercises"][0]["score"] is None


def test_results_stats_and_csv(room, klass):
    exp = expected_of(klass.folder, 4)
    bob = room.trainee_by_token(klass.tokens["Bob"])
    room.submit(4, bob, key_answers(exp))
    room.submit(5, bob, {"mixers": ["none"]})
    rows = {r["trainee"]: r for r in room.results("week1")}
    assert rows["Bob"]["exercises"][3]["score"] == 100.0
    stats = room.question_stats("week1")
    assert stats["techniques_missed"]["mule"] >= 1                      # Bob missed the scam's mule path
    csv_text = room.grades_csv("week1")
    assert csv_text.splitlines()[0] == ("trainee,set,exercise,kind,submitted_utc,score,exchanges,perpetrator,mixers,"
                                        "unspent,reasoning,bridges")
    assert any(line.startswith("Bob,week1,4,straight_to_exchange,") and ",100.0," in line
               for line in csv_text.splitlines())

"""The training panel in a real headless Chromium: a trainee answers one exercise right and one wrong, reads the
feedback, and the instructor's view shows both grades and the feedback that names what was missed."""

from __future__ import annotations

import pytest
from training_parts import expected_of, key_answers
from headless import browser  # noqa: F401

BEARER = "w" * 24


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from chaintrail.api import create_app
    from chaintrail.api.server import ServerThread
    from chaintrail.training import Classroom

    folder = tmp_path_factory.mktemp("browser-training") / "class"
    room, instructor = Classroom.init(folder)
    room.create_set("lab", ["peel_chain", "coinjoin"], seed=3, level="easy", build=True)
    trainee = room.add_trainee("Trainee One")
    room.close()
    app = create_app(folder / "sets" / "lab" / "store", token=BEARER, training_dir=folder)
    with ServerThread(app) as url:
        yield url, folder, instructor, trainee


def open_panel(browser, url: str, token: str):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.set_default_timeout(20_000)
    pg.goto(f"{url}/#token={BEARER}&training={token}")
    pg.wait_for_selector('body[data-ready="1"]')
    pg.click('#tabs button[data-tab="training"]')
    pg.wait_for_selector("#training-who")
    return ctx, pg


def answer(pg, exercise: int, ans: dict) -> str:
    pg.click(f'#training-list button[data-exercise="{exercise}"]')
    pg.wait_for_selector(f'#training-exercise h3:has-text("{ "A peel chain" if exercise == 1 else "CoinJoin" }")')
    pg.fill("#ans-exchanges", "\n".join(f"{x['exchange']}, {x['amount_btc']}" for x in ans["exchanges"]))
    pg.fill("#ans-addresses", "\n".join(ans["perpetrator_addresses"]))
    for m in ans["mixers"]:
        pg.check(f'input[name="ans-mixer"][value="{m}"]')
    pg.fill("#ans-unspent", ans.get("unspent_btc", ""))
    pg.fill("#ans-reasoning", ans["reasoning"])
    pg.click("#training-submit")
    pg.wait_for_selector("#training-score")
    return pg.inner_text("#training-grade")


def test_trainee_right_and_wrong_then_instructor_sees_grades_and_feedback(browser, served):
    url, folder, instructor, trainee = served
    ctx, pg = open_panel(browser, url, trainee)
    assert "Trainee One" in pg.inner_text("#training-who")
    right = answer(pg, 1, key_answers(expected_of(folder, 1)))
    assert "Score 100 / 100" in right
    exp2 = expected_of(folder, 2)
    wrong_exchange = sorted(exp2["exchanges"])[0]
    wrong = {"exchanges": [{"exchange": wrong_exchange, "amount_btc": "0.5"}],
             "perpetrator_addresses": exp2["perpetrator_addresses"][:2], "mixers": ["none"], "reasoning": "followed it"}
    text = answer(pg, 2, wrong)
    assert "Score 100 / 100" not in text
    assert "Missed:" in text and "CoinJoin analysis" in text                # the mixers it missed, technique named
    assert f"{wrong_exchange}: you said 0.50000000 BTC" in text
    assert pg.errors == []
    ctx.close()

    ctx, pg = open_panel(browser, url, instructor)
    pg.wait_for_selector("#training-results-table")
    row = pg.locator('#training-results-table tr[data-trainee="Trainee One"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "Trainee One" and cells[1] == "100" and float(cells[2]) < 30
    row.locator('a[data-exercise="2"]').click()
    pg.wait_for_selector("#training-detail #training-score")
    detail = pg.inner_text("#training-detail")
    assert "Missed:" in detail and "CoinJoin analysis" in detail and f"{wrong_exchange}: you said" in detail
    assert "coinjoin" in pg.inner_text("#training-missed")
    assert pg.errors == []
    ctx.close()


def test_instructor_creates_a_set_in_the_form_and_it_is_built_with_its_store(browser, served):
    url, folder, instructor, _trainee = served
    ctx, pg = open_panel(browser, url, instructor)
    pg.wait_for_selector("#training-results-table")
    pg.click('summary:has-text("Roster and sets")')
    pg.fill("#tr-set-name", "formset")
    pg.fill("#tr-set-seed", "4")
    pg.fill("#tr-set-kinds", "coinjoin")
    pg.click("#tr-set-create")
    pg.wait_for_selector('#tr-set-status p:has-text("Building set formset")')     # shown for a second at least
    pg.wait_for_selector("#tr-set-made", timeout=300_000)
    assert pg.inner_text("#tr-set-made").startswith("Set formset is ready; exercises: #")
    pg.wait_for_selector('#training-results [data-set="formset"]')
    assert any((folder / "sets" / "formset" / "store").iterdir())
    assert pg.errors == []
    ctx.close()


def test_choosing_the_shown_exercise_again_keeps_what_was_typed(browser, served):
    # The trainee panel loads its first exercise by itself; a click on that exercise's button arriving while
    # (or after) it loads used to render the form again, emptying answers typed meanwhile.
    url, _folder, _instructor, trainee = served
    ctx, pg = open_panel(browser, url, trainee)
    pg.wait_for_selector("#training-exercise h3")
    pg.click('#training-list button[data-exercise="2"]')
    pg.wait_for_selector('#training-exercise h3:has-text("CoinJoin")')
    pg.fill("#ans-reasoning", "typed on exercise 2")
    pg.click('#training-list button[data-exercise="2"]')
    pg.wait_for_timeout(500)          # a second render of the form would have come back by now
    assert pg.input_value("#ans-reasoning") == "typed on exercise 2"
    assert pg.errors == []
    ctx.close()

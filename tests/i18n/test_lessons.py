"""Every shipped language has every lesson, translated, with the English lesson's commands and exercise links.

A language missing a lesson reads the English one with a note in the reader's language (the fallback test).
"""

from __future__ import annotations

import re
import shutil

import pytest

from chaintrail.i18n import available_languages
from chaintrail.training import lessons as L

SHIPPED = [x for x in available_languages() if x != "en"]
CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\]\(([^)]+)\)")
ITEM = re.compile(r"^- ", re.M)


def _text(lang: str, lesson_id: str) -> str:
    return (L.LESSON_DIR / lang / f"{lesson_id}.md").read_text(encoding="utf-8")


def test_the_programme_has_eight_english_lessons():
    assert len(L.ORDER) == 8 and all((L.LESSON_DIR / "en" / f"{i}.md").exists() for i in L.ORDER)


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_lesson_is_translated(lang):
    missing = [i for i in L.ORDER if not (L.LESSON_DIR / lang / f"{i}.md").exists()]
    assert not missing, f"lessons/{lang}/ lacks {missing}"
    for i in L.ORDER:
        got = L.lesson(i, lang)
        assert got["lang"] == lang and not got["fallback"], i
        assert got["title"] != L.lesson(i, "en")["title"] or i == "defi", f"{lang}/{i}.md keeps the English title"


@pytest.mark.parametrize("lang", SHIPPED)
@pytest.mark.parametrize("lesson_id", L.ORDER)
def test_a_translation_keeps_the_lessons_commands_links_and_exercises(lang, lesson_id):
    en, tr = _text("en", lesson_id), _text(lang, lesson_id)
    assert set(LINK.findall(tr)) == set(LINK.findall(en)), "links differ"
    en_code = {c for c in CODE.findall(en) if c.startswith(("chaintrail", "--"))}
    assert en_code <= set(CODE.findall(tr)), f"commands missing: {en_code - set(CODE.findall(tr))}"
    assert len(ITEM.findall(tr)) == len(ITEM.findall(en)), "a different number of list items"
    kinds = [e["kind"] for e in L.lesson(lesson_id, "en")["exercises"]]
    assert kinds and [e["kind"] for e in L.lesson(lesson_id, lang)["exercises"]] == kinds
    # no English sentence left behind: no line of the English text appears in the translation
    en_lines = {ln.strip() for ln in en.splitlines() if len(ln.split()) >= 6}
    assert not en_lines & {ln.strip() for ln in tr.splitlines()}


def test_a_missing_translation_falls_back_to_english_with_a_note(monkeypatch, tmp_path):
    shutil.copytree(L.LESSON_DIR / "en", tmp_path / "en")
    monkeypatch.setattr(L, "LESSON_DIR", tmp_path)
    got = L.lesson("mixers", "uk")
    assert got["lang"] == "en" and got["fallback"] and got["title"] == "Mixers"
    first, blank, note = got["markdown"].splitlines()[:3]
    assert first == "# Mixers" and blank == "" and note.startswith("> ") and "англійською" in note
    assert got["exercises"][0]["title"] == "Custodial-міксер (з утриманням коштів)"
    assert not L.lesson("mixers", "en")["fallback"] and "> " not in L.lesson("mixers", "en")["markdown"]

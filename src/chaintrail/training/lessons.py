"""The programme's short lessons (Markdown shipped in the package), each linked to the exercises that practise it.

A lesson is ``lessons/<lang>/<id>.md``; a language without its own copy of a lesson reads the English one,
with a note saying so, so a translation is one folder away.
"""

from __future__ import annotations

from pathlib import Path

from chaintrail.errors import UsageError
from chaintrail.i18n import _, current_language, resolve_language, use_language
from chaintrail.training.kinds import KINDS

LESSON_DIR = Path(__file__).resolve().parent / "lessons"
ORDER = ("blockchain-basics", "utxo-vs-accounts", "clustering", "taint-models", "mixers", "defi",
         "exchange-records", "aml-red-flags")


def _path(lesson_id: str, lang: str | None) -> tuple[Path, str]:
    """The lesson's file in ``lang`` (else the current language), else English; and the language it is in."""
    for code in (lang or current_language(), "en"):
        p = LESSON_DIR / code / f"{lesson_id}.md"
        if p.exists():
            return p, code
    raise UsageError(_("no lesson {lesson!r}; choose from {ids}").format(lesson=lesson_id, ids=", ".join(ORDER)))


def practised_by(lesson_id: str) -> list[dict]:
    """The exercise kinds that practise a lesson."""
    return [{"kind": k.name, "title": _(k.title)} for k in KINDS.values() if lesson_id in k.lessons]


def lesson(lesson_id: str, lang: str | None = None) -> dict:
    """``{"id", "title", "lang", "fallback", "markdown", "exercises"}``.

    ``lang`` is the language of the text; where the reader's language has no copy of the lesson, ``fallback`` is
    true and the English text opens with a note, in the reader's language, saying so.
    """
    if lesson_id not in ORDER:
        raise UsageError(_("no lesson {lesson!r}; choose from {ids}").format(lesson=lesson_id, ids=", ".join(ORDER)))
    wanted = resolve_language(lang) if lang else current_language()
    path, code = _path(lesson_id, wanted)
    text = path.read_text(encoding="utf-8")
    title = text.splitlines()[0].lstrip("# ").strip()
    fallback = code != wanted
    with use_language(wanted):
        exercises = practised_by(lesson_id)
        if fallback:
            head, _nl, rest = text.partition("\n")
            note = _("This lesson is not yet translated into your language; it is shown in English.")
            text = f"{head}\n\n> {note}\n{rest}"
    return {"id": lesson_id, "title": title, "lang": code, "fallback": fallback, "markdown": text,
            "exercises": exercises}


def lessons(lang: str | None = None) -> list[dict]:
    """Every lesson's id, title and the exercises that practise it, in the programme's order."""
    return [{k: v for k, v in lesson(i, lang).items() if k != "markdown"} for i in ORDER]

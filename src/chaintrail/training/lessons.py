"""The programme's short lessons (Markdown shipped in the package), each linked to the exercises that practise it.

A lesson is ``lessons/<lang>/<id>.md``; a language without its own copy of a
lesson reads the English one, so a translation is one folder away.
"""

from __future__ import annotations

from pathlib import Path

from chaintrail.errors import UsageError
from chaintrail.i18n import _, current_language
from chaintrail.training.kinds import KINDS

LESSON_DIR = Path(__file__).resolve().parent / "lessons"
ORDER = ("blockchain-basics", "utxo-vs-accounts", "clustering", "taint-models", "mixers", "defi",
         "exchange-records", "aml-red-flags")


def _path(lesson_id: str, lang: str | None) -> Path:
    for code in (lang or current_language(), "en"):
        p = LESSON_DIR / code / f"{lesson_id}.md"
        if p.exists():
            return p
    raise UsageError(f"no lesson {lesson_id!r}; choose from {', '.join(ORDER)}")


def practised_by(lesson_id: str) -> list[dict]:
    """The exercise kinds that practise a lesson."""
    return [{"kind": k.name, "title": _(k.title)} for k in KINDS.values() if lesson_id in k.lessons]


def lesson(lesson_id: str, lang: str | None = None) -> dict:
    """``{"id", "title", "markdown", "exercises"}``."""
    if lesson_id not in ORDER:
        raise UsageError(f"no lesson {lesson_id!r}; choose from {', '.join(ORDER)}")
    text = _path(lesson_id, lang).read_text(encoding="utf-8")
    title = text.splitlines()[0].lstrip("# ").strip()
    return {"id": lesson_id, "title": title, "markdown": text, "exercises": practised_by(lesson_id)}


def lessons(lang: str | None = None) -> list[dict]:
    """Every lesson's id, title and the exercises that practise it, in the programme's order."""
    return [{k: v for k, v in lesson(i, lang).items() if k != "markdown"} for i in ORDER]

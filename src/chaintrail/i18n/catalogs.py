"""The gettext catalogs and the language of the current context.

Catalogs live beside this file as ``locale/<lang>/LC_MESSAGES/chaintrail.po`` (the sources, in git) and
``chaintrail.mo`` (compiled by ``scripts/setup.sh`` through ``python -m chaintrail.i18n compile``). Where a
``.mo`` is missing or older than its ``.po`` (a fresh clone), the ``.po`` is compiled in memory on first use,
so a checkout works without the build step. English is the source language: its msgids are the text.
"""

from __future__ import annotations

import contextlib
import functools
import gettext as _gettext
import io
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from chaintrail.errors import UsageError

DOMAIN = "chaintrail"
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_LOCALE_PATH = str(LOCALE_DIR)
_STAMP = [-1.0, None]      # (when locale/ was last looked at, its mtime then)

# The language of this context (a CLI run, an API request); None: $CHAINTRAIL_LANG, else English.
_language: ContextVar[str | None] = ContextVar("chaintrail_language", default=None)


def available_languages() -> tuple[str, ...]:
    """English plus every language with a catalog under ``locale/``, sorted (a language folder added while a
    server runs is seen within a second: locale/ is looked at once a second, not on every request)."""
    now = time.monotonic()
    if now - _STAMP[0] >= 1.0:
        try:
            stamp = os.stat(_LOCALE_PATH).st_mtime_ns     # a new language folder changes it
        except OSError:
            stamp = None
        _STAMP[:] = [now, stamp]
    return _languages_on_disk(_STAMP[1])


@functools.lru_cache(maxsize=4)
def _languages_on_disk(stamp: int | None) -> tuple[str, ...]:
    # Cached: every API request resolves its language (a glob of locale/ cost ~0.1 ms four times a request).
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return (DEFAULT_LANGUAGE, *sorted(found - {DEFAULT_LANGUAGE}))


def resolve_language(lang: str | None = None) -> str:
    """``lang``, else ``$CHAINTRAIL_LANG``, else English; ``uk_UA.UTF-8`` means ``uk``. Unknown: a usage error."""
    raw = lang if lang else os.environ.get("CHAINTRAIL_LANG") or DEFAULT_LANGUAGE
    code = raw.split(".")[0].replace("-", "_").split("_")[0].lower()
    if code not in available_languages():
        where = "--lang" if lang else "CHAINTRAIL_LANG"
        raise UsageError(f"{where}: unknown language {raw!r} (available: {', '.join(available_languages())})")
    return code


def current_language() -> str:
    """The language strings are translated into now."""
    return _language.get() or resolve_language(None)


def set_language(lang: str | None) -> str:
    """Set this context's language (the CLI's ``--lang``); returns the resolved code."""
    code = resolve_language(lang)
    _language.set(code)
    return code


@contextlib.contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Translate into ``lang`` inside the block (a report for one reader, an API request); None: keep the current."""
    token = _language.set(resolve_language(lang) if lang else current_language())
    try:
        yield _language.get() or DEFAULT_LANGUAGE
    finally:
        _language.reset(token)


def negotiate(accept_language: str | None) -> str | None:
    """The available language an HTTP ``Accept-Language`` header prefers most (``uk-UA,uk;q=0.9,en;q=0.8``), or None."""
    ranked = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        code = tag.strip().replace("_", "-").split("-")[0].lower()
        if q > 0 and code in available_languages():
            ranked.append((-q, i, code))
    return min(ranked)[2] if ranked else None


def _mo_bytes(po: Path) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)      # fuzzy entries are left out, as msgfmt does
    return buf.getvalue()


@functools.lru_cache(maxsize=16)
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English: the identity)."""
    if lang == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        data = mo.read_bytes()
    elif po.exists():
        data = _mo_bytes(po)
    else:
        return _gettext.NullTranslations()
    return _gettext.GNUTranslations(io.BytesIO(data))


def gettext(message: str) -> str:
    """``message`` in the current language (itself where the catalog has no translation)."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the current language (Ukrainian has three)."""
    return translations(current_language()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a constant for extraction; translate it with ``_()`` where it is shown."""
    return message

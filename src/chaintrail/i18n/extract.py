"""Keep the catalogs in step with the sources: extract msgids, update each ``.po``, compile ``.mo`` files.

``python -m chaintrail.i18n extract`` writes ``locale/chaintrail.pot`` from every ``_()``, ``ngettext()`` and
``N_()`` call under ``src/chaintrail`` and merges it into each ``locale/<lang>/LC_MESSAGES/chaintrail.po``
(new strings come in untranslated, vanished ones are kept as obsolete); ``compile`` writes the ``.mo`` files.
"""

from __future__ import annotations

from pathlib import Path

from chaintrail.i18n.catalogs import DEFAULT_LANGUAGE, DOMAIN, LOCALE_DIR, available_languages

PACKAGE_DIR = LOCALE_DIR.parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract_catalog():
    """A Babel catalog of every marked string in the package's Python sources, with where each is used."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="chaintrail", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True):
        catalog.add(message, None, [(f"chaintrail/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(lang: str):
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def write(catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=116, sort_output=False, include_previous=False)


def update(langs: list[str] | None = None) -> dict[str, int]:
    """Write the template and merge it into each language's ``.po``; returns untranslated counts per language."""
    from babel.messages.catalog import Catalog

    template = extract_catalog()
    write(template, LOCALE_DIR / f"{DOMAIN}.pot")
    missing = {}
    for lang in langs or [x for x in available_languages() if x != DEFAULT_LANGUAGE]:
        cat = read(lang) if po_path(lang).exists() else Catalog(locale=lang, domain=DOMAIN, project="chaintrail")
        cat.update(template, no_fuzzy_matching=True)
        write(cat, po_path(lang))
        missing[lang] = sum(1 for m in cat if m.id and not _translated(m))
    return missing


def _translated(m) -> bool:
    if m.fuzzy:
        return False
    return all(m.string) if isinstance(m.string, (list, tuple)) else bool(m.string)


def untranslated(lang: str) -> list[str]:
    """The msgids used in the sources that ``lang``'s catalog lacks, leaves empty or marks fuzzy."""
    cat = read(lang)
    out = []
    for m in extract_catalog():
        if not m.id:
            continue
        have = cat.get(m.id, context=m.context)
        if have is None or not _translated(have):
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def compile_all() -> list[Path]:
    """Compile every ``.po`` into its ``.mo`` (what ``scripts/setup.sh`` runs)."""
    from babel.messages.mofile import write_mo

    written = []
    for lang in available_languages():
        if lang == DEFAULT_LANGUAGE or not po_path(lang).exists():
            continue
        mo = po_path(lang).with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, read(lang))
        written.append(mo)
    return written

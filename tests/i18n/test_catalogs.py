"""Every shipped catalog is complete: a string the sources use that a catalog lacks fails here.

Python: every msgid Babel extracts from src/chaintrail has a non-empty, non-fuzzy Ukrainian translation with
the same {fields}. Web: every key the JS and index.html use (t("…"), data-i18n*) is in en.json and uk.json,
both catalogs hold the same keys, and each translation keeps the English text's {fields}.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chaintrail.i18n import available_languages
from chaintrail.i18n.extract import extract_catalog, read, untranslated

WEB = Path(__file__).resolve().parents[2] / "src" / "chaintrail" / "web"
SHIPPED = [x for x in available_languages() if x != "en"]
FIELD = re.compile(r"\{(\w+)\}")
# t("key"), _t("key"), tr("key", …) and t(`key`) without ${…}; static keys in index.html
JS_KEY = re.compile(r"""(?<![\w.$])_?tr?\(\s*(["'`])([\w.]+)\1""")
HTML_KEY = re.compile(r"""data-i18n(?:-title|-placeholder|-label)?="([\w.]+)\"""")


def _fields(text) -> set[str]:
    texts = text.values() if isinstance(text, dict) else (text if isinstance(text, (list, tuple)) else [text])
    return {f for t in texts for f in FIELD.findall(t)}


def test_python_catalogs_ship_uk():
    assert "uk" in SHIPPED


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_python_msgid_is_translated(lang):
    missing = untranslated(lang)
    assert not missing, f"{len(missing)} msgids lack a {lang} translation (python -m chaintrail.i18n extract, " \
                        f"then translate): {missing[:10]}"


@pytest.mark.parametrize("lang", SHIPPED)
def test_python_translations_keep_their_fields(lang):
    cat = read(lang)
    bad = []
    for m in extract_catalog():
        if not m.id:
            continue
        have = cat.get(m.id)
        if have is not None and have.string and _fields(m.id) != _fields(have.string):
            bad.append(m.id)
    assert not bad, bad[:5]


def _web_keys() -> set[str]:
    keys = set()
    for f in (WEB / "assets" / "js").glob("*.js"):
        keys |= {m.group(2) for m in JS_KEY.finditer(f.read_text())}
    keys |= set(HTML_KEY.findall((WEB / "index.html").read_text()))
    return keys


def test_the_scanner_finds_the_keys_the_ui_uses():
    keys = _web_keys()
    assert {"toolbar.expand", "trace.run", "status.trace_done", "tx.title", "totals.traced", "training.submit"} <= keys


@pytest.mark.parametrize("lang", ["en", *SHIPPED])
def test_every_web_key_is_in_the_catalog(lang):
    cat = json.loads((WEB / "assets" / "i18n" / f"{lang}.json").read_text())
    missing = sorted(k for k in _web_keys() if not cat.get(k))
    assert not missing, f"{lang}.json lacks {missing[:10]}"


@pytest.mark.parametrize("lang", SHIPPED)
def test_web_catalog_matches_english(lang):
    en = json.loads((WEB / "assets" / "i18n" / "en.json").read_text())
    other = json.loads((WEB / "assets" / "i18n" / f"{lang}.json").read_text())
    assert sorted(set(en) - set(other)) == [] and sorted(set(other) - set(en)) == []
    for k, v in en.items():
        t = other[k]
        assert t and (not isinstance(t, dict) or all(t.values())), k
        assert _fields(v) == _fields(t), k
        if isinstance(v, dict):       # plural forms: Ukrainian needs one, few and many
            assert {"one", "few", "many", "other"} <= set(t), k

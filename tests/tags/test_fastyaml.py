"""The fast TagPack reader gives exactly what libyaml gives, or hands the text to libyaml.

Property: whenever the fast path accepts a document, the result equals
``yaml.safe_load`` and the item lines equal the ones libyaml's nodes carry.
Checked on hand-written edge cases, on generated TagPack-shaped documents
(both PyYAML's own dump style and hand-formatted plain scalars), and on the
real packs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrail.tags import fastyaml

PACKS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tags" / "graphsense-tagpacks"


def same_as_libyaml(text: str) -> bool:
    """True if the fast path took the text; asserts it agrees with libyaml either way."""
    try:
        fast, lines = fastyaml._fast(text)
    except fastyaml.Unsupported:
        return False
    expected = yaml.load(text, Loader=yaml.CSafeLoader)
    assert fast == expected
    assert [type(x) for x in _walk(fast)] == [type(x) for x in _walk(expected)]   # True is not 1, dates stay dates
    slow, slow_lines = fastyaml._slow(text)
    assert lines == slow_lines
    return True


def _walk(obj):
    yield obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)


EDGE_CASES = [
    "title: x\ntags:\n- address: 1abc\n  label: A\n",
    "title: x\ntags:\n  - address: 1abc\n    label: A\n  - address: 3def\n",
    "a: yes\nb: No\nc: ~\nd: null\ne: 2021-11-15\nf: 12\ng: 0x1F\nh: 1_000\ni: 3.5\nj: .inf\nk: 1:20\n",
    "a: '0xFA8E3920daF271daB92Be9B87d9998DDd94FEF08'\nb: \"quoted\"\nc: 'it''s'\nd: \"tab\\there\"\n",
    "label: 'Bancor: Converter #1'\nsource: https://x.org/#frag\nnote: a # comment\n",
    "tags:\n- address: a\n  concepts:\n  - exchange\n  - mixing_service\n- address: b\n",
    "a: []\nb: {}\nc: [x, 'y', 3]\nd: {k: v}\n",
    "%YAML 1.1\n---\nactors:\n- id: '01'\n  jurisdictions: []\n  context:\n    refs:\n    - a\n    - b\n",
    "# comment\n\ntitle: x   \ntags:\n\n- address: 1a   \n  label: trailing spaces   \n",
    "tags:\n- address: a\n  label:\n- address: b\n",
    "key: value: more\n",                  # invalid: libyaml must say so
    "key: |\n  block\n  scalar\n",          # block scalars: left to libyaml
    "key: &anchor x\nother: *anchor\n",
    "desc: a multi\n  line plain\n",
    "tags:\n- address: a\n\n- address: b\n",
    "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
    "a: -1\nb: -x\nc: ?x\nd: :x\n",
    "tags:\n-   address: a\n    label: b\n",
    "a: b\n---\nc: d\n",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_match_libyaml(text):
    try:
        expected = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        with pytest.raises(fastyaml.YamlError):
            fastyaml.load(text)
        return
    same_as_libyaml(text)
    assert fastyaml.load(text)[0] == expected


def test_the_common_shapes_take_the_fast_path():
    assert same_as_libyaml(EDGE_CASES[0]) and same_as_libyaml(EDGE_CASES[2]) and same_as_libyaml(EDGE_CASES[5])
    data, lines = fastyaml.load("title: t\ntags:\n- address: a\n  label: x\n# c\n- address: b\n")
    assert lines == {"tags": [3, 6]}
    assert data["tags"][1] == {"address": "b"}


def test_errors_name_the_line():
    with pytest.raises(fastyaml.YamlError) as exc:
        fastyaml.load("title: t\ntags:\n- address: a\n  label: [unclosed\n- address: b\n")
    assert exc.value.line in (4, 5)
    with pytest.raises(fastyaml.YamlError) as exc:
        fastyaml.load("a: 1\n b: 2\nc: : 3\n")
    assert exc.value.line is not None


_plain_bits = st.sampled_from(["1", "3", "bc1q", "0x", "yes", "no", "on", "null", "~", "true", "2021-01-02", "12",
                               "1.5", "-", "?", ":", "#", " #", ": ", "'", '"', "a", "B", "_", ".", "/", "http://x",
                               "[", "]", "{", "}", ",", "&", "*", "!", "|", ">", "%", "@", " ", "é", "\\", "0o7"])
plain_values = st.lists(_plain_bits, min_size=1, max_size=6).map("".join)
scalars = st.one_of(st.text(min_size=0, max_size=12), st.integers(-10**6, 10**6), st.booleans(), st.none(),
                    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 1, 1)),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
keys = st.sampled_from(["address", "label", "source", "currency", "category", "abuse", "actor", "lastmod",
                        "is_cluster_definer", "confidence", "context"])
tag = st.dictionaries(keys, st.one_of(scalars, st.lists(st.text(max_size=6), max_size=3)), min_size=1, max_size=5)
pack = st.fixed_dictionaries({"title": st.text(max_size=10), "tags": st.lists(tag, max_size=6)},
                             optional={"label": scalars, "lastmod": scalars, "is_cluster_definer": st.booleans()})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pack)
def test_dumped_packs_match(doc):
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    same_as_libyaml(text)
    assert fastyaml.load(text)[0] == yaml.safe_load(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(keys, plain_values), min_size=1, max_size=5), st.booleans())
def test_hand_written_plain_scalars_match(pairs, as_tags):
    body = "".join(f"{'- ' if i == 0 and as_tags else '  ' if as_tags else ''}{k}: {v}\n"
                   for i, (k, v) in enumerate(pairs))
    text = ("title: t\ntags:\n" + body) if as_tags else body
    try:
        yaml.load(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError):  # PyYAML raises ValueError for e.g. "0x_"
        with pytest.raises(fastyaml.YamlError):
            fastyaml.load(text)
        return
    same_as_libyaml(text)


@pytest.mark.parametrize("name", ["demo.yaml", "hydra.yaml", "walletexplorer.yaml", "mixing_fc2021.yaml",
                                  "etherscan-wordcloud-market.yaml", "bitzillions_ltc.yaml", "lazarus.yaml",
                                  "usdt_blacklist.yaml"])
def test_real_packs_match(name):
    text = (PACKS / "packs" / name).read_text(encoding="utf-8")
    took_fast = same_as_libyaml(text)
    assert took_fast == (name != "usdt_blacklist.yaml")   # its multi-line quoted contexts go to libyaml
    assert fastyaml.load(text)[0] == yaml.load(text, Loader=yaml.CSafeLoader)

"""A fast reader for the plain block-YAML that TagPacks are written in, with libyaml as the fallback.

libyaml needs about 45 s for the 31 MB of public TagPacks; this line scanner
needs a few. It accepts only a strict subset of YAML: block mappings and
sequences by indentation, one-line plain, single- or double-quoted scalars,
and one-line flow collections. Scalars are resolved with PyYAML's own
YAML 1.1 resolver, so an accepted document loads to exactly what
``yaml.safe_load`` gives. On anything outside the subset (multi-line scalars,
anchors, tags, tabs, odd indentation...) the whole text is handed to libyaml,
which either loads it or raises the error with its line.

Both paths also return the 1-based line of every item of each top-level
sequence, which is how a tag keeps the line it came from.
"""

from __future__ import annotations

import gc
import re
from functools import lru_cache

import yaml

try:  # libyaml is in every PyYAML wheel; the pure-Python loader is the same, only slower
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader  # type: ignore[misc]

_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"

# Characters outside YAML's printable set, and those YAML treats as line breaks or white space beyond ' '.
_ODD_CHAR = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_DIGITS = set("0123456789")
_NOT_NUMERIC = re.compile(r"[^0-9a-fA-F_:.+\-xXoObBtTzZ ]")
# A plain mapping key; anything else (quoted keys, '#' or ':' inside) goes to libyaml.
_KEY = re.compile(r"[^\s'\"#\-?:,\[\]{}&*!|>%@`](?:[^:#]*[^\s:#])?")
_SQ = re.compile(r"'(?:[^']|'')*'")
_DQ = re.compile(r'"(?:[^"\\]|\\.)*"')
_PLAIN_BAD_START = set(",[]{}#&*!|>'\"%@`")
# First characters that need more than "it is a string": indicators and YAML 1.1 implicit types.
_SPECIAL_START = _PLAIN_BAD_START | set("-?:") | set(_IMPLICIT)


class Unsupported(Exception):
    """The text leaves the subset; libyaml must read it."""


class YamlError(Exception):
    """The text is not valid YAML; ``line`` is 1-based (None if unknown)."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def load(text: str) -> tuple[object, dict[str, list[int]]]:
    """Load one YAML document; also return the item lines of its top-level sequences."""
    # Hundreds of thousands of small dicts: the cyclic GC would rescan them over and over.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _fast(text)
    except Unsupported:
        return _slow(text)
    finally:
        if was_enabled:
            gc.enable()


def _slow(text: str) -> tuple[object, dict[str, list[int]]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        # The line where the broken construct starts, and where libyaml noticed (if later).
        start, seen = exc.context_mark, exc.problem_mark
        what = " ".join(x for x in (exc.context, exc.problem) if x) or str(exc)
        if start and seen and seen.line != start.line:
            what += f" (noticed at line {seen.line + 1})"
        mark = start or seen
        last = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)  # an error at EOF: the last line
        raise YamlError(what, min(mark.line + 1, last) if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0], None) from None
    except (ValueError, OverflowError) as exc:
        # A scalar PyYAML resolves to a type it then cannot build (e.g. "0x_"): bad data, not a crash.
        raise YamlError(f"a value cannot be read: {exc}", None) from None
    finally:
        loader.dispose()
    lines: dict[str, list[int]] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(v, yaml.SequenceNode) and not v.flow_style and isinstance(k.value, str):
                lines[k.value] = [item.start_mark.line + 1 for item in v.value]
    return data, lines


@lru_cache(maxsize=4096)
def _fragment(text: str):
    """A one-line scalar or flow collection read by libyaml (cached: these repeat)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError):  # PyYAML resolves "0x_" as an int, then cannot build it
        raise Unsupported from None


def _plain(s: str):
    """Resolve a plain scalar the way PyYAML does (YAML 1.1 implicit types)."""
    if s[0] in _DIGITS and _NOT_NUMERIC.search(s):
        return s  # a character no YAML 1.1 int, float or timestamp can hold
    for tag, rx in _IMPLICIT.get(s[0], ()):
        if rx.match(s):
            return _fragment(s)
    return s


def _value(v: str):
    """One scalar or flow collection written after ``key:`` or ``- ``."""
    c = v[0]
    if " #" not in v and ": " not in v and v[-1] != ":":
        if c not in _SPECIAL_START:
            return v
        if c in _DIGITS and _NOT_NUMERIC.search(v):
            return v
    if c == "'":
        if not _SQ.fullmatch(v):
            raise Unsupported
        return v[1:-1].replace("''", "'")
    if c == '"':
        if not _DQ.fullmatch(v):
            raise Unsupported
        return _fragment(v) if "\\" in v else v[1:-1]
    if c in "[{":
        if v == "[]":
            return []
        if v == "{}":
            return {}
        try:  # not cached: the result is mutable
            return yaml.load(v, Loader=_Loader)
        except yaml.YAMLError:
            raise Unsupported from None
    if c in _PLAIN_BAD_START:
        raise Unsupported
    cut = v.find(" #")
    if cut >= 0:
        v = v[:cut].rstrip()
    if ": " in v or v.endswith(":") or (c in "-?:" and (len(v) == 1 or v[1] == " ")):
        raise Unsupported
    return _plain(v)


def _key(k: str) -> str:
    if k == "<<" or _plain(k) is not k:
        raise Unsupported  # merge keys and non-string keys: leave to libyaml
    return k


def _fast(text: str) -> tuple[object, dict[str, list[int]]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    if _ODD_CHAR.search(text):
        raise Unsupported  # tabs, CR, NEL/LS/PS line breaks, control characters: libyaml's rules
    root: dict = {}
    # Frames: [indent, container, is_sequence, item lines or None].
    stack: list[list] = [[0, root, False, None]]
    top_lines: dict[str, list[int]] = {}
    pending = None                      # (mapping, key, indent) waiting for a nested block
    started = False
    keys: dict[str, str] = {}
    value = _value
    lines = text.split("\n")
    skip_to = None                      # lines a flat block already consumed end here
    for no, line in enumerate(lines, 1):
        if skip_to is not None:
            if no <= skip_to:
                continue
            skip_to = None
        s = line.lstrip(" ")
        if not s or s[0] == "#":
            continue
        if not started:
            if line == "%YAML 1.1":
                continue
            started = True
            if line.rstrip(" ") == "---":
                continue
        if line[0] in "-.%" and line.startswith(("---", "...", "%")):
            raise Unsupported
        ind = len(line) - len(s)
        dash = None
        if s[0] == "-" and (len(s) == 1 or s[1] == " "):
            rest = s[1:].lstrip(" ")
            dash = s[: len(s) - len(rest)]
            s = rest
        key, sep, val = s.partition(": ")
        if sep:
            key = key.rstrip(" ")
            val = val.strip(" ")
        elif s.endswith(":"):
            key, val = s[:-1].rstrip(" "), ""
        else:
            key = None
        sc = None
        if key is not None and key not in keys and not _KEY.fullmatch(key):
            key = None
        if key is None:
            sc = s.rstrip(" ")
        if key is not None:
            k = keys.get(key)
            if k is None:
                k = keys[key] = _key(key)
            key = k
        elif sc.startswith("#"):
            raise Unsupported
        if pending is not None:
            d, k, kind = pending
            pending = None
            if dash is not None and ind >= kind:
                if ind == 0 and len(stack) == 1 and skip_to is None:
                    flat = _flat_block(lines, no - 1, keys)
                    if flat is not None:
                        d[k], top_lines[k], skip_to = flat
                        continue
                lst: list = []
                d[k] = lst
                item_lines: list[int] = []
                if len(stack) == 1:
                    top_lines[k] = item_lines
                stack.append([ind, lst, True, item_lines])
            elif dash is None and key is not None and ind > kind:
                sub: dict = {}
                d[k] = sub
                stack.append([ind, sub, False, None])
            elif ind > kind:
                raise Unsupported
            else:
                d[k] = None
        frame = stack[-1]
        if frame[0] > ind:
            while stack[-1][0] > ind:
                stack.pop()
            frame = stack[-1]
        if dash is not None:
            if not (frame[2] and frame[0] == ind):
                raise Unsupported
            frame[3].append(no)
            if key is not None:
                item: dict = {}
                frame[1].append(item)
                col = ind + len(dash)
                stack.append([col, item, False, None])
                if not val or val[0] == "#":
                    pending = (item, key, col)
                else:
                    item[key] = value(val)
            else:
                if not sc:
                    raise Unsupported
                frame[1].append(value(sc))
            continue
        if frame[2] and frame[0] == ind:
            stack.pop()
            frame = stack[-1]
        if key is None or frame[2] or frame[0] != ind:
            raise Unsupported
        if not val or val[0] == "#":
            pending = (frame[1], key, ind)
        else:
            frame[1][key] = value(val)
    if pending is not None:
        pending[0][pending[1]] = None
    if not started:
        return None, {}
    return root, top_lines


def _flat_block(lines: list[str], first: int, keys: dict[str, str]):
    """A top-level sequence of flat one-line mappings (the body of nearly every TagPack), read fast.

    ``first`` is the index of its first ``- `` line. Returns (items, item lines,
    last line number consumed) or None when any item is not flat, in which case
    the line-by-line reader takes the block instead.
    """
    end = first
    n = len(lines)
    while end < n and lines[end][:1] in ("-", " "):
        end += 1
    after = end
    while after < n and (not lines[after].strip(" ") or lines[after].lstrip(" ")[:1] == "#"):
        after += 1
    if after < n and lines[after][:1] in ("-", " "):
        return None  # blank or comment lines inside the block: leave it to the line reader
    block = "\n".join(lines[first:end])
    items: list[dict] = []
    item_lines: list[int] = []
    no = first + 1
    value = _value
    special = _SPECIAL_START
    digits = _DIGITS
    not_numeric = _NOT_NUMERIC.search
    for chunk in block[2:].split("\n- "):
        item_lines.append(no)
        nl = chunk.count("\n")
        no += nl + 1
        pieces = chunk.split("\n  ")
        if len(pieces) != nl + 1:
            return None  # a line in the item that is not "  key: value"
        d: dict = {}
        for piece in pieces:
            k, sep, v = piece.partition(": ")
            if not sep:
                return None
            kk = keys.get(k)
            if kk is None:
                if not _KEY.fullmatch(k):
                    return None
                try:
                    kk = keys[k] = _key(k)
                except Unsupported:
                    return None
            if v[-1:] == " " or v[:1] == " ":
                v = v.strip(" ")
            if not v or v[0] == "#":
                return None
            c = v[0]
            if (c not in special or (c in digits and not_numeric(v))) and " #" not in v and ": " not in v \
                    and v[-1] != ":":
                d[kk] = v  # the common case: a plain string
                continue
            try:
                d[kk] = value(v)
            except Unsupported:
                return None
        items.append(d)
    return items, item_lines, end

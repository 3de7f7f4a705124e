"""``python -m chaintrail.i18n extract|compile|check``: maintain the translation catalogs."""

from __future__ import annotations

import sys

from chaintrail.i18n.extract import compile_all, untranslated, update


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else ""
    if cmd == "extract":
        for lang, n in update(argv[1:] or None).items():
            sys.stdout.write(f"{lang}: {n} untranslated\n")
        return 0
    if cmd == "compile":
        for mo in compile_all():
            sys.stdout.write(f"{mo}\n")
        return 0
    if cmd == "check":
        bad = {lang: untranslated(lang) for lang in argv[1:] or ["uk"]}
        for lang, ids in bad.items():
            for i in ids:
                sys.stdout.write(f"{lang}: {i!r}\n")
        return 1 if any(bad.values()) else 0
    sys.stderr.write("usage: python -m chaintrail.i18n extract [LANG...] | compile | check [LANG...]\n")
    return 5


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

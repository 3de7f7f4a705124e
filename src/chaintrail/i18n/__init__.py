"""Translations and locale formats: gettext catalogs (Babel) for Python, the language of this call, numbers per locale.

Mark a user-facing string with ``_()`` (or ``ngettext`` for counts, ``N_`` for a constant translated where it
is shown) and format values into it with ``str.format`` after translating, never with an f-string inside ``_()``::

    from chaintrail.i18n import _, ngettext
    _("{n} endpoints reached").format(n=fmt_number(n))

The language is the one set for this context (``use_language``/``set_language``: the CLI's ``--lang``, a
request's ``lang``), else ``$CHAINTRAIL_LANG``, else English. docs/translating.md says how to add a language.
"""

from chaintrail.i18n.catalogs import (
    DEFAULT_LANGUAGE,
    N_,
    _,
    available_languages,
    current_language,
    gettext,
    negotiate,
    ngettext,
    resolve_language,
    set_language,
    translations,
    use_language,
)
from chaintrail.i18n.formats import fmt_btc, fmt_date, fmt_datetime, fmt_decimal, fmt_number, fmt_percent, fmt_units

__all__ = [
    "DEFAULT_LANGUAGE",
    "N_",
    "_",
    "available_languages",
    "current_language",
    "fmt_btc",
    "fmt_date",
    "fmt_datetime",
    "fmt_decimal",
    "fmt_number",
    "fmt_percent",
    "fmt_units",
    "gettext",
    "negotiate",
    "ngettext",
    "resolve_language",
    "set_language",
    "translations",
    "use_language",
]

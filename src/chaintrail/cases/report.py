"""Build a case report (HTML or PDF) for one reader: read, verified, redacted, rendered, and logged.

The PDF is made with WeasyPrint from the same HTML, so both carry the same words.
"""

from __future__ import annotations

import logging

from chaintrail.cases.audit import now
from chaintrail.cases.errors import AccessDenied
from chaintrail.cases.identity import Principal
from chaintrail.cases.report_html import ReportContext, render_html
from chaintrail.cases.repository import CaseRepository
from chaintrail.cases.verify import verify
from chaintrail.errors import UsageError
from chaintrail.i18n import use_language

FORMATS = ("html", "pdf")


def build_report(repo: CaseRepository, p: Principal, ref: str, fmt: str = "pdf",
                 recipient_level: str | None = None, lang: str | None = None) -> bytes:
    """The report's bytes; items above ``recipient_level`` (default: what ``p`` may read) are withheld.

    ``lang``: the language of its words and number/date formats (default: the current language, see chaintrail.i18n).
    """
    if lang is not None:
        with use_language(lang):
            return build_report(repo, p, ref, fmt, recipient_level)
    if fmt not in FORMATS:
        raise UsageError(f"report format must be html or pdf, not {fmt!r}")
    view = repo.case(p, ref, action="case.report")
    if recipient_level is not None:
        view = view.redacted(recipient_level)
    try:
        log = repo.log(p, ref)
    except AccessDenied:  # a partner agency reads the case but not the owner's log
        log = []
    ctx = ReportContext(prepared_by=p.username, agency=p.agency, generated_at=now(), verify=verify(repo.db, ref),
                        log=log, recipient_level=view.level)
    html = render_html(view, ctx)
    if fmt == "html":
        return html.encode()
    return html_to_pdf(html)


def html_to_pdf(html: str) -> bytes:
    """Render with WeasyPrint; its CSS chatter (unsupported properties) stays out of the user's way."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=html).write_pdf()

